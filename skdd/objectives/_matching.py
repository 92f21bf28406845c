"""Gradient matching (DC) and distribution matching (DM) for classification.

Both compare real and synthetic samples of the same class through a network: DC through
the gradients of the training loss with respect to the network's weights, DM through the
mean embeddings of a randomly initialised network. They take plain tensors (any
parametrization renders the synthetic samples first), so FreD's frequency-domain
instances and the pixel/time-domain baselines share them.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..utils import check_positive_int

__all__ = ["gradient_distance", "GradientMatching", "class_means", "DistributionMatching"]


def gradient_distance(real, synthetic, eps=1e-6):
    """DC's layer-wise distance between two lists of gradient tensors.

    Each weight tensor is viewed as one row per output unit (a convolution's
    ``(out, in, k[, k])`` becomes ``(out, in·k[·k])``), and the distance is the sum over
    rows of ``1 − cos(real_row, synthetic_row)``. One-dimensional tensors (biases,
    normalisation parameters) are ignored, as in DC.

    Examples
    --------
    >>> import torch
    >>> from skdd.objectives import gradient_distance
    >>> g = [torch.randn(4, 3), torch.randn(4)]
    >>> float(gradient_distance(g, g)) < 1e-5, round(float(gradient_distance(g, [-t for t in g])), 3)
    (True, 8.0)
    """
    total = None
    for gr, gs in zip(real, synthetic):
        if gr.ndim <= 1:
            continue
        gr = gr.reshape(gr.shape[0], -1)
        gs = gs.reshape(gs.shape[0], -1)
        cos = (gr * gs).sum(-1) / (gr.norm(dim=-1) * gs.norm(dim=-1) + eps)
        term = (1 - cos).sum()
        total = term if total is None else total + term
    if total is None:
        raise ValueError("gradient_distance needs at least one weight tensor with 2+ dimensions.")
    return total


class GradientMatching:
    """DC's objective: synthetic samples should produce the gradients real ones produce.

    For one class, the loss of ``model`` on a real batch and on the synthetic samples is
    differentiated with respect to the model's weights; the real gradients are constants,
    the synthetic ones keep their graph so :func:`gradient_distance` backpropagates to the
    synthetic samples.

    Parameters
    ----------
    model : torch.nn.Module
        The network (usually re-initialised by the caller every outer iteration).
    loss : callable, default=cross-entropy

    Examples
    --------
    >>> import torch
    >>> from skdd.nn import ConvNet
    >>> from skdd.objectives import GradientMatching
    >>> net = ConvNet(1, 2, 8, width=8, depth=2)
    >>> xr, yr = torch.randn(6, 1, 8, 8), torch.zeros(6, dtype=torch.long)
    >>> xs = torch.randn(1, 1, 8, 8, requires_grad=True)
    >>> GradientMatching(net).loss(xr, yr, xs, yr[:1]).backward()
    >>> xs.grad.shape
    torch.Size([1, 1, 8, 8])
    """

    def __init__(self, model, loss=None):
        self.model = model
        self.loss_fn = loss or F.cross_entropy

    def _weights(self):
        return [p for p in self.model.parameters() if p.requires_grad]

    def real_gradients(self, X, y):
        weights = self._weights()
        value = self.loss_fn(self.model(X), y)
        return [g.detach() for g in torch.autograd.grad(value, weights)]

    def loss(self, X_real, y_real, X_syn, y_syn, real_gradients=None):
        """The distance between real and synthetic gradients (differentiable in ``X_syn``)."""
        g_real = real_gradients if real_gradients is not None else \
            self.real_gradients(X_real, y_real)
        value = self.loss_fn(self.model(X_syn), y_syn)
        g_syn = torch.autograd.grad(value, self._weights(), create_graph=True)
        return gradient_distance(g_real, g_syn)


def class_means(features, labels, n_classes):
    """Per-class means of ``features`` ``(n, d)``; rows of absent classes are zero.

    Returns ``(means (n_classes, d), counts (n_classes,))``.
    """
    counts = torch.bincount(labels, minlength=n_classes)
    sums = features.new_zeros(n_classes, features.shape[1]).index_add(0, labels, features)
    return sums / counts.clamp_min(1)[:, None].to(features.dtype), counts


class DistributionMatching:
    """DM's objective: synthetic samples should have the class-mean embedding of real ones.

    ``loss = Σ_c ‖ mean φ(X_real,c) − mean φ(X_syn,c) ‖²`` over the classes present in
    both batches, with ``φ`` the embedding of a randomly initialised network (the caller
    re-initialises it every iteration). The real embeddings are computed without a graph.

    Parameters
    ----------
    embed : callable
        ``embed(X) -> (n, d)`` features (e.g. :meth:`skdd.nn.ConvNet.embed`).
    chunk_size : int or None, default=256
        The real samples are embedded ``chunk_size`` at a time and their class sums
        accumulated, so the peak memory of the real side is that of one chunk's
        activations whatever the number of real samples; None embeds them all at once.
        The result is the same up to floating-point rounding (for embeddings computed
        sample by sample, as with instance norm or no norm).

    Examples
    --------
    >>> import torch
    >>> from skdd.nn import ConvNet
    >>> from skdd.objectives import DistributionMatching
    >>> net = ConvNet(1, 2, 8, width=8, depth=2)
    >>> xr, yr = torch.randn(10, 1, 8, 8), torch.arange(10) % 2
    >>> dm = DistributionMatching(net.embed)
    >>> float(dm.loss(xr, yr, xr, yr, n_classes=2).detach()) < 1e-8
    True
    """

    def __init__(self, embed, chunk_size=256):
        self.embed = embed
        if chunk_size is not None:
            chunk_size = check_positive_int(chunk_size, "chunk_size")
        self.chunk_size = chunk_size

    @torch.no_grad()
    def real_means(self, X_real, y_real, n_classes):
        """Per-class mean embeddings ``(n_classes, d)`` and counts of the real samples,
        embedded per chunk of ``chunk_size``."""
        n = X_real.shape[0]
        step = n if self.chunk_size is None else self.chunk_size
        sums = None
        for start in range(0, max(n, 1), step):
            features = self.embed(X_real[start:start + step])
            if sums is None:
                sums = features.new_zeros(n_classes, features.shape[1])
            sums.index_add_(0, y_real[start:start + step], features)
        counts = torch.bincount(y_real, minlength=n_classes)
        return sums / counts.clamp_min(1)[:, None].to(sums.dtype), counts

    def loss(self, X_real, y_real, X_syn, y_syn, n_classes):
        real_means, real_counts = self.real_means(X_real, y_real, n_classes)
        syn_means, syn_counts = class_means(self.embed(X_syn), y_syn, n_classes)
        present = (real_counts > 0) & (syn_counts > 0)
        return ((real_means - syn_means) ** 2).sum(1)[present].sum()
