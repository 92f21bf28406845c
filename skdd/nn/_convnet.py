"""ConvNet, the standard backbone of the dataset-distillation literature (DC, DM, MTT, FreD).

Images are ``(batch, C, H, W)``; series are ``(batch, C, T)`` with ``dims=1``. The module
fixes no device and is a plain :class:`torch.nn.Module`, so trajectory matching can call it
functionally (``torch.func.functional_call``).
"""
from __future__ import annotations

import math
import numbers

from torch import nn

from ..utils import check_option, check_positive_int
from ._fcn import FCN

__all__ = ["ConvNet", "CLASSIFICATION_BACKBONES", "make_classification_backbone", "convnet_depth"]

_NORMS = ("instance", "batch", "none")


def _spatial_size(input_size, dims):
    if isinstance(input_size, numbers.Integral) and not isinstance(input_size, bool):
        size = (int(input_size),) * dims
    else:
        try:
            size = tuple(input_size)
        except TypeError:
            raise ValueError(f"input_size must be an int or a tuple of {dims} ints, got "
                             f"{input_size!r}.") from None
    if len(size) != dims:
        raise ValueError(f"input_size must have {dims} entries for dims={dims}, got {input_size!r}.")
    return tuple(check_positive_int(s, "input_size") for s in size)


def convnet_depth(input_size, max_depth=3):
    """The ConvNet depth for inputs of ``input_size``: the deepest, up to ``max_depth``,
    whose last block still normalises at least ``4 ** len(input_size)`` positions (a
    4-step stretch of a series, a 4x4 patch of an image).

    The distillers use it when ``net_depth=None``. Depth 3 on an 8x8 image leaves its last
    block a 2x2 map per channel; measured on digits, gradient matching through that
    network does not decrease its loss and DC's images blow up (19.6 % validation accuracy
    at ipc 1 against 84.4 % at depth 2, Random 70.5 %). MNIST (28x28) and every UCR
    series of 24 steps or more keep depth 3.

    Parameters
    ----------
    input_size : tuple of int
        ``(H, W)`` of images or ``(T,)`` of series.
    max_depth : int, default=3
        The literature's ConvNet-3.

    Examples
    --------
    >>> from skdd.nn import convnet_depth
    >>> convnet_depth((8, 8)), convnet_depth((28, 28)), convnet_depth((24,)), convnet_depth((6,))
    (2, 3, 3, 1)
    """
    size = [check_positive_int(s, "input_size") for s in input_size]
    max_depth = check_positive_int(max_depth, "max_depth")
    depth = 1
    for d in range(2, max_depth + 1):
        size = [s // 2 if s >= 2 else s for s in size]  # the previous block's pooling
        if math.prod(size) < 4 ** len(size):
            break
        depth = d
    return depth


class ConvNet(nn.Module):
    """ConvNet-``depth``: blocks of conv 3 → norm → ReLU → average pool 2, then a linear layer.

    The architecture of the dataset-distillation literature (width 128, depth 3, instance
    norm, ReLU, average pooling). ``dims=2`` uses 3x3 convolutions and 2x2 pooling on
    images ``(n, C, H, W)``; ``dims=1`` uses kernel-3 Conv1d and pooling 2 on series
    ``(n, C, T)``.

    Pooling halves each spatial dimension (flooring), but a dimension that has already
    reached 1 is no longer pooled: an 8x8 image at depth 4 with ``norm="batch"`` goes
    8→4→2→1→1, and a 3x20 image pools only the width once the height is 1. Any H×W and
    any series length work, with one exception: instance norm over a single position
    outputs a constant, so ``norm="instance"`` refuses a depth whose last block would see
    a 1x1 map (8x8 at depth 4). Small inputs also lose much at depth 3: an 8x8 image's
    last block normalises a 2x2 map per channel and pools it to one value, which learns
    very slowly; ``depth=2`` (8→4→2, 512 features at width 128) suits 8x8 digits.

    Parameters
    ----------
    in_channels : int
        Input channels C.
    n_classes : int
        Number of classes (output logits).
    input_size : int or tuple of int
        (H, W) for ``dims=2`` (an int means a square image), (T,) or T for ``dims=1``.
    width : int, default=128
        Channels of every convolution.
    depth : int, default=3
        Number of conv blocks.
    norm : {"instance", "batch", "none"}, default="instance"
        "instance" is ``GroupNorm(width, width, affine=True)``, the per-sample, per-channel
        normalisation with a learnable affine used by the DC/DM/MTT code (it does not
        depend on the batch, which matters for distillation with tiny per-class batches);
        "batch" is BatchNorm; "none" skips normalisation.
    dims : {1, 2}, default=2
    first_padding : int, default=1
        Zero padding of the first convolution. The DC/DM reference code pads single-channel
        images by 3 there (28x28 MNIST becomes 32x32 → 16 → 8 → 4, 2048 features); the
        default 1 gives 28 → 14 → 7 → 3 (1152 features).

    Attributes
    ----------
    feature_shape : tuple of int
        ``(width, *spatial)`` of the last block's output.
    n_features : int
        Length of :meth:`embed`'s output.

    Examples
    --------
    >>> import torch
    >>> from skdd.nn import ConvNet
    >>> net = ConvNet(1, 10, 28)
    >>> net(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 10])
    >>> net.embed(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 1152])
    >>> ConvNet(3, 4, 150, dims=1)(torch.zeros(5, 3, 150)).shape
    torch.Size([5, 4])
    """

    def __init__(self, in_channels, n_classes, input_size, width=128, depth=3,
                 norm="instance", dims=2, first_padding=1):
        super().__init__()
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.n_classes = check_positive_int(n_classes, "n_classes")
        self.width = check_positive_int(width, "width")
        self.depth = check_positive_int(depth, "depth")
        self.norm = check_option(norm, "norm", _NORMS)
        if dims not in (1, 2) or isinstance(dims, bool):
            raise ValueError(f"dims must be 1 (series) or 2 (images), got {dims!r}.")
        self.dims = int(dims)
        self.first_padding = check_positive_int(first_padding, "first_padding", minimum=0)
        self.input_size = _spatial_size(input_size, self.dims)

        conv = nn.Conv1d if self.dims == 1 else nn.Conv2d
        pool = nn.AvgPool1d if self.dims == 1 else nn.AvgPool2d
        batch_norm = nn.BatchNorm1d if self.dims == 1 else nn.BatchNorm2d
        layers = []
        size = list(self.input_size)
        channels = self.in_channels
        for d in range(self.depth):
            padding = self.first_padding if d == 0 else 1
            layers.append(conv(channels, self.width, kernel_size=3, padding=padding))
            size = [s + 2 * padding - 2 for s in size]
            if min(size) < 1:
                raise ValueError(f"input_size={self.input_size} is too small for the first "
                                 f"convolution with first_padding={self.first_padding}.")
            if self.norm == "instance" and math.prod(size) == 1:
                raise ValueError(
                    f"input_size={self.input_size} is too small for depth={self.depth} with "
                    f"norm='instance': block {d + 1} would normalise a single position, which "
                    "makes its output constant. Use a smaller depth, or norm='batch'/'none'.")
            if self.norm == "instance":
                layers.append(nn.GroupNorm(self.width, self.width, affine=True))
            elif self.norm == "batch":
                layers.append(batch_norm(self.width))
            layers.append(nn.ReLU())
            kernel = tuple(2 if s >= 2 else 1 for s in size)
            if max(kernel) > 1:
                layers.append(pool(kernel if self.dims == 2 else kernel[0]))
                size = [s // k for s, k in zip(size, kernel)]
            channels = self.width
        self.features = nn.Sequential(*layers)
        self.feature_shape = (self.width, *size)
        self.n_features = self.width * math.prod(size)
        self.classifier = nn.Linear(self.n_features, self.n_classes)

    def _check_input(self, x):
        expected = (self.in_channels, *self.input_size)
        if x.ndim != self.dims + 2 or tuple(x.shape[1:]) != expected:
            raise ValueError(f"ConvNet expects input of shape (batch, {', '.join(map(str, expected))}), "
                             f"got {tuple(x.shape)}.")

    def embed(self, x):
        """The flattened features before the classifier, shape ``(batch, n_features)``.

        This is the embedding distribution matching (DM) compares.
        """
        self._check_input(x)
        return self.features(x).flatten(1)

    def forward(self, x):
        """Class logits, shape ``(batch, n_classes)``."""
        return self.classifier(self.embed(x))


#: Classification backbones by name (builders taking in_channels, n_classes, input_size).
CLASSIFICATION_BACKBONES = {"convnet": ConvNet, "fcn": FCN}


def make_classification_backbone(name, in_channels, n_classes, input_size, **kwargs):
    """Build a classification backbone by name for inputs of shape ``(C, *input_size)``.

    ``input_size`` is a tuple: one entry (series, ``dims=1``) or two (images, ``dims=2``);
    extra keyword arguments go to the backbone.

    Examples
    --------
    >>> from skdd.nn import make_classification_backbone
    >>> net = make_classification_backbone("convnet", 1, 10, (8, 8), width=16)
    >>> net.feature_shape
    (16, 1, 1)
    """
    key = str(name).lower()
    if key not in CLASSIFICATION_BACKBONES:
        raise ValueError(f"model={name!r} is not a classification backbone; choose one of "
                         f"{sorted(CLASSIFICATION_BACKBONES)}.")
    size = tuple(input_size)
    kwargs.setdefault("dims", len(size))
    return CLASSIFICATION_BACKBONES[key](in_channels, n_classes, size, **kwargs)
