"""FCN, the fully convolutional time-series classifier of Wang et al. (2017).

"Time Series Classification from Scratch with Deep Neural Networks: A Strong Baseline"
(IJCNN 2017): three blocks conv → batch norm → ReLU with 128, 256 and 128 filters and
kernels 8, 5 and 3 (stride 1, "same" padding), global average pooling over time, then a
linear layer. skdd uses it as the classifier behind the inception score and conditional
FID (:mod:`skdd.metrics`), as NM-VQTSG does.
"""
from __future__ import annotations

import numbers

from torch import nn

from ..utils import check_positive_int

__all__ = ["FCN"]


class FCN(nn.Module):
    """Fully convolutional network for series ``(batch, C, T)``.

    Parameters
    ----------
    in_channels : int
        Input channels C.
    n_classes : int
        Number of classes (output logits).
    input_size : int or tuple of one int
        Series length T. Global average pooling makes the network length-agnostic; the
        length is only checked at the input.
    filters : tuple of int, default=(128, 256, 128)
    kernel_sizes : tuple of int, default=(8, 5, 3)
    dims : {1}, default=1
        Present so that :func:`skdd.nn.make_classification_backbone` can build it; FCN
        only takes series.

    Attributes
    ----------
    n_features : int
        Length of :meth:`embed`'s output (the last block's filters).

    Examples
    --------
    >>> import torch
    >>> from skdd.nn import FCN
    >>> net = FCN(2, 3, 50)
    >>> net(torch.zeros(4, 2, 50)).shape
    torch.Size([4, 3])
    >>> net.embed(torch.zeros(4, 2, 50)).shape
    torch.Size([4, 128])
    """

    def __init__(self, in_channels, n_classes, input_size, filters=(128, 256, 128),
                 kernel_sizes=(8, 5, 3), dims=1):
        super().__init__()
        if dims != 1 or isinstance(dims, bool):
            raise ValueError(f"FCN takes series (dims=1), got dims={dims!r}.")
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.n_classes = check_positive_int(n_classes, "n_classes")
        if isinstance(input_size, numbers.Integral) and not isinstance(input_size, bool):
            input_size = (input_size,)
        if len(tuple(input_size)) != 1:
            raise ValueError(f"input_size must be the series length T (an int or a tuple of one "
                             f"int), got {input_size!r}.")
        self.input_size = (check_positive_int(tuple(input_size)[0], "input_size"),)
        filters = tuple(check_positive_int(f, "filters") for f in filters)
        kernel_sizes = tuple(check_positive_int(k, "kernel_sizes") for k in kernel_sizes)
        if len(filters) != len(kernel_sizes) or not filters:
            raise ValueError(f"filters and kernel_sizes must be non-empty and of equal length, "
                             f"got {filters} and {kernel_sizes}.")
        layers = []
        channels = self.in_channels
        for f, k in zip(filters, kernel_sizes):
            # "same" padding, written out (left (k-1)//2, right k//2) for even kernels
            layers += [nn.ConstantPad1d(((k - 1) // 2, k // 2), 0.0), nn.Conv1d(channels, f, k),
                       nn.BatchNorm1d(f), nn.ReLU()]
            channels = f
        self.features = nn.Sequential(*layers)
        self.n_features = channels
        self.classifier = nn.Linear(channels, self.n_classes)

    def embed(self, x):
        """Globally average-pooled features of the last block, shape ``(batch, n_features)``."""
        if x.ndim != 3 or tuple(x.shape[1:]) != (self.in_channels, *self.input_size):
            raise ValueError(f"FCN expects input of shape (batch, {self.in_channels}, "
                             f"{self.input_size[0]}), got {tuple(x.shape)}.")
        return self.features(x).mean(-1)

    def forward(self, x):
        """Class logits, shape ``(batch, n_classes)``."""
        return self.classifier(self.embed(x))
