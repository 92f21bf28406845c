"""Spectral filter matching (UniDD) and feature-moment matching (SRe²L) on convolution inputs.

UniDD ("Understanding Dataset Distillation via Spectral Filtering") reads the common
distillation objectives as spectral filters ``f`` applied to two matrices computed, per
layer, from the features a network sees:

- the **feature-feature correlation** ``Ψ`` (FFC): the channel covariance of the features
  at every position, ``(n·h·w, d)`` rows mean-centred, here normalised to unit trace so
  its eigenvalues ``λ`` lie in ``[0, 1]`` and sum to 1 (filter parameters then mean the
  same at every layer and on every scale);
- the **feature-label correlation** ``Φ`` (FLC): spatially averaged features against
  one-hot labels, ``(d, K)``; column ``c`` is the mean feature of class ``c`` divided by
  ``K`` (``X^T Y / n`` for balanced classes, and not skewed by imbalance otherwise).

A filter maps ``Ψ = U diag(λ) U^T`` to ``f(Ψ) = U diag(f(λ)) U^T``. The **filter loss** is
``‖f(Ψ) − f(Ψ_s)‖`` and the **signal loss** ``‖f(Ψ)Φ − f(Ψ_s)Φ_s‖`` (Frobenius norms;
``_s`` for the synthetic set), summed over layers. The filter families of UniDD's Table 1
(:data:`SPECTRAL_FILTERS`):

======== ======================= =======================================================
name     response ``f(λ)``       objective it stands for
======== ======================= =======================================================
dm       ``1``                   distribution matching (class means: signal loss only)
dc       ``{1, λ}``              gradient matching (both terms are matched)
mtt      ``(1 − αλ)^p``          trajectory matching (``p`` steps of size ``α``)
frepo    ``β (λ + β)^-1``        FRePo's kernel ridge regression, fixed ``β``
cfm      ``β (λ + β)^-1``        the same, with ``β`` following a curriculum
lowpass  ``λ (λ + β)^-1``        the low-pass complement of ``frepo``
======== ======================= =======================================================

Large eigenvalues carry the coarse, shared structure of the features ("low
frequencies"), small ones the fine detail: ``λ`` and ``lowpass`` emphasise the former,
``(1 − αλ)^p`` and ``(λ + β)^-1`` the latter, the more so the smaller ``β``. The
``(λ + β)^-1`` family is scaled by ``β`` (response 1 at ``λ = 0``) so the loss keeps its
scale when ``β`` shrinks along the curriculum; the shape of the filter is unchanged.
Because ``lowpass`` is ``1 − frepo``, its filter loss equals ``frepo``'s at the same ``β``
and only the signal loss differs; ``dc``'s ``λ`` term is the low-pass whose filter loss
differs. The matrices are never built through a differentiable eigendecomposition: rational
filters use a linear solve and polynomial ones matrix products; :meth:`SpectralFilter.response`
gives the eigenvalue response for inspection and tests.

The statistics come from forward hooks on the input of every convolution
(:class:`ConvInputs`); over a real set they are accumulated in float64 sums over
streaming batches (:func:`conv_input_statistics`), so memory is bounded by one batch and
the result equals the full-batch value. SRe²L's batch-norm style matching compares the
per-channel mean and variance of the same inputs (:func:`moment_matching_loss`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from ..utils import check_interval, check_option, check_positive_float, check_positive_int

__all__ = [
    "ConvInputs",
    "LayerStatistics",
    "feature_moments",
    "conv_input_statistics",
    "running_mean",
    "SPECTRAL_FILTERS",
    "SpectralFilter",
    "curriculum_betas",
    "SpectralMatching",
    "moment_matching_loss",
]

_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)

#: Filter names of :class:`SpectralFilter` (UniDD's Table 1 plus a low-pass filter).
SPECTRAL_FILTERS = ("dm", "dc", "mtt", "frepo", "cfm", "lowpass")


class ConvInputs:
    """Record the input of every convolution of a model during a forward pass.

    A context manager: inside the block, forward pre-hooks store each convolution's
    input (with its graph, so losses on it backpropagate) in :attr:`inputs`, one entry
    per convolution in module order; the hooks are removed on exit.

    Parameters
    ----------
    model : torch.nn.Module
        Must contain at least one ``Conv1d``/``Conv2d``/``Conv3d``.

    Examples
    --------
    >>> import torch
    >>> from skdd.nn import ConvNet
    >>> from skdd.objectives._spectral import ConvInputs
    >>> net = ConvNet(1, 3, 8, width=4, depth=2)
    >>> with ConvInputs(net) as rec:
    ...     _ = net(torch.zeros(5, 1, 8, 8))
    >>> [tuple(x.shape) for x in rec.inputs]
    [(5, 1, 8, 8), (5, 4, 4, 4)]
    """

    def __init__(self, model):
        self.layers = [m for m in model.modules() if isinstance(m, _CONVS)]
        if not self.layers:
            raise ValueError(f"{type(model).__name__} has no convolution whose input could be "
                             "recorded; spectral and moment matching need a convolutional net.")
        self.inputs = [None] * len(self.layers)
        self._handles = []

    def _record(self, index, module, args):
        self.inputs[index] = args[0]

    def __enter__(self):
        self.inputs = [None] * len(self.layers)
        self._handles = [m.register_forward_pre_hook(partial(self._record, i))
                         for i, m in enumerate(self.layers)]
        return self

    def __exit__(self, *exc):
        for handle in self._handles:
            handle.remove()
        self._handles = []
        return False


def feature_moments(features, labels, n_classes, groups=1):
    """Sufficient statistics of features ``(n, d, *spatial)``, in float64.

    The rows are split into ``groups`` consecutive groups of equal size (one per
    synthetic batch; 1 for a real set), and every statistic gets a leading group axis:

    - ``count`` ``(G,)``: rows (samples × positions) of the group;
    - ``sum`` ``(G, d)`` and ``outer`` ``(G, d, d)``: sums of the rows and their outer
      products (every position of every sample is a row);
    - ``class_sum`` ``(G, K, d)`` and ``class_count`` ``(G, K)``: sums of the spatially
      averaged features per class and the samples per class.

    Sums of moments over batches are the moments of the union, which makes
    streaming exact (:func:`conv_input_statistics`). Differentiable in ``features``.
    """
    n, d = features.shape[:2]
    if n % groups:
        raise ValueError(f"{n} samples cannot be split into {groups} equal groups.")
    x = features.reshape(groups, n // groups, d, -1).double()
    rows = x.transpose(2, 3).reshape(groups, -1, d)
    onehot = F.one_hot(labels.reshape(groups, -1), n_classes).double()
    return {
        "count": torch.full((groups,), float(rows.shape[1]), dtype=torch.float64,
                            device=rows.device),
        "sum": rows.sum(1),
        "outer": rows.transpose(1, 2) @ rows,
        "class_sum": onehot.transpose(1, 2) @ x.mean(-1),
        "class_count": onehot.sum(1),
    }


@dataclass
class LayerStatistics:
    """Per-layer statistics of features, each with a leading group axis ``G``.

    Attributes
    ----------
    mean : tensor (G, d)
        Per-channel mean over samples and positions.
    cov : tensor (G, d, d)
        Channel covariance over samples and positions (divided by the row count).
    class_means : tensor (G, K, d)
        Mean spatially averaged feature of each class (zero for an absent class).
    """

    mean: torch.Tensor
    cov: torch.Tensor
    class_means: torch.Tensor

    @classmethod
    def from_moments(cls, moments):
        """Finalise the sums of :func:`feature_moments`."""
        count = moments["count"][:, None]
        mean = moments["sum"] / count
        cov = moments["outer"] / count[..., None] - mean[:, :, None] * mean[:, None, :]
        cov = 0.5 * (cov + cov.transpose(1, 2))
        class_means = moments["class_sum"] / moments["class_count"].clamp_min(1)[..., None]
        return cls(mean, cov, class_means)

    @property
    def var(self):
        """Per-channel variance, ``(G, d)``."""
        return torch.diagonal(self.cov, dim1=-2, dim2=-1)

    @property
    def psi(self):
        """The feature-feature correlation: ``cov`` normalised to unit trace, ``(G, d, d)``."""
        trace = torch.diagonal(self.cov, dim1=-2, dim2=-1).sum(-1)
        return self.cov / trace.clamp_min(1e-12)[:, None, None]

    @property
    def phi(self):
        """The feature-label correlation: ``class_means^T / K``, ``(G, d, K)``."""
        return self.class_means.transpose(1, 2) / self.class_means.shape[1]


def _add_moments(total, moments):
    if total is None:
        return moments
    return {k: total[k] + moments[k] for k in total}


@torch.no_grad()
def conv_input_statistics(model, X, y, n_classes, batch_size=256):
    """:class:`LayerStatistics` of every convolution's input over a whole labelled set.

    ``model`` runs in eval mode on batches of ``batch_size`` samples; the float64 sums
    of :func:`feature_moments` are accumulated, so memory is bounded by one batch (plus
    ``d × d`` per layer) and the result equals the full-batch statistics up to float64
    rounding.

    Parameters
    ----------
    model : torch.nn.Module
    X : tensor (n, C, *spatial), on the model's device
    y : long tensor (n,), labels 0..n_classes-1
    n_classes : int
    batch_size : int, default=256

    Returns
    -------
    list of LayerStatistics, one per convolution, with group axis of size 1.

    Examples
    --------
    >>> import torch
    >>> from skdd.nn import ConvNet
    >>> from skdd.objectives._spectral import conv_input_statistics
    >>> net = ConvNet(1, 2, 8, width=4, depth=2)
    >>> X, y = torch.randn(10, 1, 8, 8), torch.arange(10) % 2
    >>> stats = conv_input_statistics(net, X, y, 2, batch_size=3)
    >>> [tuple(s.psi.shape) for s in stats], tuple(stats[1].phi.shape)
    ([(1, 1, 1), (1, 4, 4)], (1, 4, 2))
    """
    batch_size = check_positive_int(batch_size, "batch_size")
    was_training = model.training
    model.eval()
    totals = None
    try:
        with ConvInputs(model) as recorder:
            for start in range(0, X.shape[0], batch_size):
                yb = y[start:start + batch_size]
                model(X[start:start + batch_size])
                batch = [feature_moments(f, yb, n_classes) for f in recorder.inputs]
                totals = batch if totals is None else [_add_moments(t, m)
                                                       for t, m in zip(totals, batch)]
    finally:
        model.train(was_training)
    return [LayerStatistics.from_moments(m) for m in totals]


def running_mean(x):
    """Running average over the leading axis, each entry differentiable in its own row.

    Entry ``b`` is ``(x[0] + … + x[b]) / (b + 1)``, i.e. the previous average updated with
    weight ``1 / (b + 1)``, with the earlier rows detached: batch ``b`` is optimised
    against the statistics of the batches before it without moving them.

    Examples
    --------
    >>> import torch
    >>> from skdd.objectives._spectral import running_mean
    >>> running_mean(torch.tensor([1.0, 3.0, 8.0])).tolist()
    [1.0, 2.0, 4.0]
    """
    previous = x.detach()
    shape = (-1,) + (1,) * (x.ndim - 1)
    steps = torch.arange(1, x.shape[0] + 1, dtype=x.dtype, device=x.device).reshape(shape)
    return (previous.cumsum(0) - previous + x) / steps


def curriculum_betas(beta, n_batches):
    """CFM's curriculum ``β_b = β (1 + cos(π b / B)) / 2`` for batches ``b = 0..B-1``.

    It starts at ``β`` (a mild high-pass: low and high frequencies alike) and decreases
    towards 0 (a sharp high-pass) without reaching it.

    Examples
    --------
    >>> from skdd.objectives._spectral import curriculum_betas
    >>> [round(b, 4) for b in curriculum_betas(0.1, 4).tolist()]
    [0.1, 0.0854, 0.05, 0.0146]
    """
    beta = check_positive_float(beta, "beta")
    n_batches = check_positive_int(n_batches, "n_batches")
    b = torch.arange(n_batches, dtype=torch.float64)
    return beta * (1 + torch.cos(math.pi * b / n_batches)) / 2


def _as_beta(beta, like):
    """``beta`` (float or (G,) tensor) shaped to broadcast against (G, d, d) matrices."""
    return torch.as_tensor(beta, dtype=like.dtype, device=like.device).reshape(-1, 1, 1)


class SpectralFilter:
    """A UniDD spectral filter: a function of the eigenvalues of ``Ψ``.

    Parameters
    ----------
    kind : {"dm", "dc", "mtt", "frepo", "cfm", "lowpass"}
        See :data:`SPECTRAL_FILTERS` and the module docstring; ``"dc"`` has two terms,
        the others one.
    beta : float, default=0.1
        ``β`` of ``frepo``, ``cfm`` and ``lowpass`` (``> 0``).
    alpha : float, default=1.0
        ``α`` of ``mtt``, in ``(0, 1]`` (eigenvalues are at most 1).
    power : int, default=10
        ``p`` of ``mtt``.

    Examples
    --------
    >>> import torch
    >>> from skdd.objectives._spectral import SpectralFilter
    >>> lam = torch.tensor([0.0, 0.1, 0.9], dtype=torch.float64)
    >>> SpectralFilter("frepo", beta=0.1).response(lam)[0].tolist()
    [1.0, 0.5, 0.1]
    >>> psi = torch.diag(lam)[None]          # (G=1, d=3, d=3), eigenvalues lam
    >>> torch.diagonal(SpectralFilter("lowpass", beta=0.1)(psi)[0][0]).tolist()
    [0.0, 0.5, 0.9]
    """

    def __init__(self, kind="frepo", beta=0.1, alpha=1.0, power=10):
        self.kind = check_option(kind, "filter", SPECTRAL_FILTERS)
        self.beta = check_positive_float(beta, "beta")
        # (0, 1]: the eigenvalues of the trace-normalised Ψ reach 1, and 1 - alpha·λ
        # must stay >= 0.
        self.alpha = check_interval(alpha, "alpha", 0, 1, closed="right")
        self.power = check_positive_int(power, "power")

    def __repr__(self):
        return (f"SpectralFilter(kind={self.kind!r}, beta={self.beta}, alpha={self.alpha}, "
                f"power={self.power})")

    @property
    def uses_beta(self):
        return self.kind in ("frepo", "cfm", "lowpass")

    def response(self, lam, beta=None):
        """The filter's response to eigenvalues ``lam``: shape ``(n_terms, *lam.shape)``."""
        lam = torch.as_tensor(lam)
        beta = self.beta if beta is None else beta
        if self.kind == "dm":
            terms = [torch.ones_like(lam)]
        elif self.kind == "dc":
            terms = [torch.ones_like(lam), lam]
        elif self.kind == "mtt":
            terms = [(1 - self.alpha * lam) ** self.power]
        elif self.kind == "lowpass":
            terms = [lam / (lam + beta)]
        else:
            terms = [beta / (lam + beta)]
        return torch.stack(terms)

    def __call__(self, psi, beta=None):
        """``f(Ψ)`` for symmetric ``psi`` ``(G, d, d)``: a list with one matrix per term.

        ``beta`` (float or a ``(G,)`` tensor, one per group) overrides :attr:`beta`.
        """
        eye = torch.eye(psi.shape[-1], dtype=psi.dtype, device=psi.device).expand_as(psi)
        if self.kind == "dm":
            return [eye]
        if self.kind == "dc":
            return [eye, psi]
        if self.kind == "mtt":
            return [torch.linalg.matrix_power(eye - self.alpha * psi, self.power)]
        beta = _as_beta(self.beta if beta is None else beta, psi)
        shifted = psi + beta * eye
        if self.kind == "lowpass":
            return [torch.linalg.solve(shifted, psi)]
        return [torch.linalg.solve(shifted, beta * eye)]


class SpectralMatching:
    """UniDD's filter and signal losses against fixed real statistics.

    The real side, ``f(Ψ)`` and ``f(Ψ)Φ`` for every layer, filter term and ``β``, is
    computed once; :meth:`loss` compares synthetic statistics with it.

    Parameters
    ----------
    real_stats : list of LayerStatistics
        One per layer, group axis of size 1 (:func:`conv_input_statistics`).
    spectral_filter : SpectralFilter
    betas : float or tensor (G,), optional
        ``β`` per synthetic group (e.g. :func:`curriculum_betas`); default the filter's.

    Examples
    --------
    >>> import torch
    >>> from skdd.nn import ConvNet
    >>> from skdd.objectives._spectral import (SpectralFilter, SpectralMatching,
    ...                                        conv_input_statistics)
    >>> net = ConvNet(1, 2, 8, width=4, depth=2)
    >>> X, y = torch.randn(12, 1, 8, 8), torch.arange(12) % 2
    >>> stats = conv_input_statistics(net, X, y, 2)
    >>> matching = SpectralMatching(stats, SpectralFilter("frepo"))
    >>> filt, signal = matching.loss(stats)
    >>> float(filt.abs().max()) < 1e-8 and float(signal.abs().max()) < 1e-8
    True
    """

    def __init__(self, real_stats, spectral_filter, betas=None):
        self.filter = spectral_filter
        self.betas = betas
        self.targets = []
        for stats in real_stats:
            mats = spectral_filter(stats.psi, betas)
            self.targets.append([(m, m @ stats.phi) for m in mats])

    def loss(self, synthetic_stats):
        """``(filter_loss, signal_loss)``, each of shape ``(G,)``, summed over layers and
        terms. ``synthetic_stats`` are :class:`LayerStatistics` with ``G`` groups (or one
        group broadcast against every ``β``)."""
        filter_loss = signal_loss = 0.0
        for stats, targets in zip(synthetic_stats, self.targets):
            mats = self.filter(stats.psi, self.betas)
            phi = stats.phi
            for m, (m_real, signal_real) in zip(mats, targets):
                filter_loss = filter_loss + torch.linalg.matrix_norm(m - m_real)
                signal_loss = signal_loss + torch.linalg.matrix_norm(m @ phi - signal_real)
        return filter_loss, signal_loss


def moment_matching_loss(real_stats, synthetic_stats):
    """SRe²L's statistics loss: ``Σ_l ‖μ_s − μ‖₂ + ‖σ²_s − σ²‖₂`` per group, ``(G,)``.

    Batch-norm style matching of each layer's per-channel mean and variance (SRe²L reads
    them from the batch-norm layers' running statistics; here they are the exact
    statistics of every convolution's input over the real set).

    Examples
    --------
    >>> import torch
    >>> from skdd.nn import ConvNet
    >>> from skdd.objectives._spectral import conv_input_statistics, moment_matching_loss
    >>> net = ConvNet(1, 2, 8, width=4, depth=2)
    >>> X, y = torch.randn(12, 1, 8, 8), torch.arange(12) % 2
    >>> stats = conv_input_statistics(net, X, y, 2)
    >>> float(moment_matching_loss(stats, stats)[0])
    0.0
    """
    total = 0.0
    for real, syn in zip(real_stats, synthetic_stats):
        total = total + torch.linalg.vector_norm(syn.mean - real.mean, dim=-1) \
            + torch.linalg.vector_norm(syn.var - real.var, dim=-1)
    return total
