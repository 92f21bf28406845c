"""Parametrizations: torch modules that own the learnable tensor and render the synthetic data.

A parametrization is orthogonal to the matching objective (FreD's observation): any
objective sees only ``module()`` — the rendered synthetic data — and gradients flow back to
whatever the module stores.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .utils import check_option, check_positive_int

__all__ = ["TimeDomain", "FourierDomain", "DCTDomain", "WithLearnableStep", "dct_matrix", "dct",
           "idct", "fred_n_per_class", "class_balanced_choice"]


class TimeDomain(nn.Module):
    """The synthetic data stored as is (the data domain: time steps or pixels).

    Parameters
    ----------
    init : tensor
        Initial synthetic data, any shape (copied).
    labels : int tensor of shape (n,), optional
        For labelled sets (classification), one label per row of ``init`` (a buffer).

    Examples
    --------
    >>> import torch
    >>> from skdd.parametrization import TimeDomain
    >>> p = TimeDomain(torch.zeros(8, 2))
    >>> p().shape
    torch.Size([8, 2])
    """

    def __init__(self, init, labels=None):
        super().__init__()
        self.values = nn.Parameter(torch.as_tensor(init).detach().clone().float())
        if labels is not None:
            labels = torch.as_tensor(labels, device=self.values.device).detach().clone()
            if labels.ndim != 1 or labels.is_floating_point() or \
                    labels.shape[0] != self.values.shape[0]:
                raise ValueError(f"labels must be {self.values.shape[0]} integer labels (one per "
                                 f"row of init), got shape {tuple(labels.shape)} ({labels.dtype}).")
            self.register_buffer("labels", labels.long())
        else:
            self.labels = None

    @classmethod
    def from_data(cls, X, y, n_per_class, *, n_classes=None):
        """``n_per_class`` random real samples of every class (see
        :func:`class_balanced_choice`), with their labels; the chosen rows are in
        ``init_indices_``."""
        X = torch.as_tensor(X).detach()
        y = torch.as_tensor(y, device=X.device).long()
        chosen = class_balanced_choice(y, n_per_class, n_classes)
        module = cls(X[chosen], y[chosen])
        module.init_indices_ = chosen
        return module

    def forward(self):
        return self.values

    @property
    def n_stored(self):
        """Number of stored floats."""
        return self.values.numel()


class FourierDomain(nn.Module):
    """A real series stored as its real FFT coefficients (HDT's parametrization).

    The learnable tensor holds the real and imaginary parts of ``rfft(series, dim=0)``;
    rendering is ``irfft`` with the original length, so every update of a coefficient moves
    the whole series. The round trip of :meth:`from_series` followed by ``forward`` is exact
    up to float rounding. Imaginary parts that must vanish for a real series (the DC term and,
    for even lengths, the Nyquist term) are ignored by ``irfft``.

    With a ``scale`` (one positive number per frequency and channel), the learnable tensor
    holds the coefficients divided by it: an optimiser that takes steps of about the same
    size on every learnable entry (Adam) then moves each frequency in proportion to its
    scale, e.g. to the real data's amplitude spectrum, instead of moving every frequency,
    noise-floor ones included, by the same amount.

    Parameters
    ----------
    length : int
        Series length M.
    coefficients : tensor of shape (M // 2 + 1, C, 2)
        Real and imaginary parts.
    scale : tensor of shape (M // 2 + 1, C), optional
        Positive per-frequency scale of the learnable tensor (default: all ones).

    Examples
    --------
    >>> import torch
    >>> from skdd.parametrization import FourierDomain
    >>> x = torch.randn(96, 3)
    >>> p = FourierDomain.from_series(x)
    >>> torch.allclose(p(), x, atol=1e-5)
    True
    >>> q = FourierDomain.from_series(x, scale=torch.rand(49, 3) + 0.5)
    >>> torch.allclose(q(), x, atol=1e-5)
    True
    """

    def __init__(self, length, coefficients, scale=None):
        super().__init__()
        self.length = int(length)
        coefficients = torch.as_tensor(coefficients).detach().clone().float()
        if coefficients.ndim != 3 or coefficients.shape[0] != self.length // 2 + 1 \
                or coefficients.shape[-1] != 2:
            raise ValueError(f"coefficients must have shape ({self.length // 2 + 1}, C, 2), "
                             f"got {tuple(coefficients.shape)}.")
        if scale is None:
            scale = torch.ones(coefficients.shape[:2], device=coefficients.device)
        scale = torch.as_tensor(scale).detach().clone().float().to(coefficients.device)
        if scale.shape != coefficients.shape[:2]:
            raise ValueError(f"scale must have shape {tuple(coefficients.shape[:2])} (one value "
                             f"per frequency and channel), got {tuple(scale.shape)}.")
        if not bool(torch.isfinite(scale).all()) or bool((scale <= 0).any()):
            raise ValueError("scale must be finite and positive.")
        self.register_buffer("scale", scale[..., None])
        self.coefficients = nn.Parameter(coefficients / self.scale)

    @classmethod
    def from_series(cls, series, scale=None):
        """Parametrize a ``(M, C)`` series by its rfft coefficients."""
        series = torch.as_tensor(series).detach().float()
        if series.ndim != 2:
            raise ValueError(f"series must be 2-D (M, C), got shape {tuple(series.shape)}.")
        spectrum = torch.fft.rfft(series, dim=0)
        return cls(series.shape[0], torch.view_as_real(spectrum), scale=scale)

    def spectrum(self):
        """The complex spectrum, shape (M // 2 + 1, C)."""
        return torch.view_as_complex((self.coefficients * self.scale).contiguous())

    def forward(self):
        return torch.fft.irfft(self.spectrum(), n=self.length, dim=0)

    @property
    def n_stored(self):
        """Number of stored floats."""
        return self.coefficients.numel()


# ----------------------------------------------------------------------------------
# Orthonormal DCT-II and FreD's frequency-domain parametrization
def dct_matrix(n, *, dtype=torch.float32, device=None):
    """The orthonormal DCT-II matrix ``D`` of size ``n``: ``coefficients = D @ x``.

    ``D[k, i] = a_k cos(pi (2 i + 1) k / (2 n))`` with ``a_0 = sqrt(1 / n)`` and
    ``a_k = sqrt(2 / n)`` otherwise, so ``D @ D.T = I`` and the inverse (DCT-III) is
    ``D.T``. Built in float64, then cast to ``dtype``.

    Examples
    --------
    >>> import torch
    >>> from skdd.parametrization import dct_matrix
    >>> D = dct_matrix(5, dtype=torch.float64)
    >>> torch.allclose(D @ D.T, torch.eye(5, dtype=torch.float64))
    True
    """
    n = check_positive_int(n, "n")
    k = torch.arange(n, dtype=torch.float64)[:, None]
    i = torch.arange(n, dtype=torch.float64)[None, :]
    matrix = torch.cos(torch.pi * (2 * i + 1) * k / (2 * n)) * (2.0 / n) ** 0.5
    matrix[0] /= 2.0 ** 0.5
    return matrix.to(dtype=dtype, device=device)


def _check_dims(dims):
    if dims not in (1, 2) or isinstance(dims, bool):
        raise ValueError(f"dims must be 1 (last axis) or 2 (last two axes), got {dims!r}.")


def dct(x, dims=1):
    """Orthonormal DCT-II of ``x`` along its last axis (``dims=1``) or last two (``dims=2``).

    Implemented as matrix products, so it is differentiable and runs on any device.

    Examples
    --------
    >>> import torch
    >>> from skdd.parametrization import dct, idct
    >>> x = torch.randn(4, 3, 5, 7, dtype=torch.float64)
    >>> torch.allclose(idct(dct(x, dims=2), dims=2), x)
    True
    """
    _check_dims(dims)
    last = dct_matrix(x.shape[-1], dtype=x.dtype, device=x.device)
    out = x @ last.T
    if dims == 2:
        out = dct_matrix(x.shape[-2], dtype=x.dtype, device=x.device) @ out
    return out


def idct(c, dims=1):
    """Inverse of :func:`dct` (orthonormal DCT-III) along the last one or two axes."""
    _check_dims(dims)
    last = dct_matrix(c.shape[-1], dtype=c.dtype, device=c.device)
    out = c @ last
    if dims == 2:
        out = dct_matrix(c.shape[-2], dtype=c.dtype, device=c.device).T @ out
    return out


def fred_n_per_class(ipc, sample_shape, n_coefficients):
    """FreD's budget rule: instances per class that fit the storage of ``ipc`` samples.

    A sample of shape ``(C, *spatial)`` holds ``C * D`` floats with ``D`` the values per
    channel (``T`` or ``H * W``); a :class:`DCTDomain` instance stores ``C * k`` floats
    (``k = n_coefficients`` per channel). So ``n_per_class = floor(ipc * D / k)``, and
    ``n_per_class * C * k <= ipc * C * D``.

    Parameters
    ----------
    ipc : int
        Budget in real-size samples per class.
    sample_shape : tuple of int
        ``(C, T)`` or ``(C, H, W)``.
    n_coefficients : int
        Kept DCT coefficients per channel, ``1 <= k <= D``.

    Examples
    --------
    >>> from skdd.parametrization import fred_n_per_class
    >>> fred_n_per_class(10, (1, 28, 28), 64)
    122
    """
    ipc = check_positive_int(ipc, "ipc")
    shape = tuple(sample_shape)
    if len(shape) not in (2, 3):
        raise ValueError(f"sample_shape must be (C, T) or (C, H, W), got {sample_shape!r}.")
    shape = tuple(check_positive_int(s, "sample_shape") for s in shape)
    n_values = math.prod(shape[1:])
    k = check_positive_int(n_coefficients, "n_coefficients")
    if k > n_values:
        raise ValueError(f"n_coefficients={k} exceeds the {n_values} DCT coefficients per "
                         f"channel of a sample of shape {shape}.")
    return (ipc * n_values) // k


def class_balanced_choice(y, n_per_class, n_classes=None):
    """Indices of ``n_per_class`` random samples of every class, ordered by class.

    Within a class, samples are drawn without replacement while the class has enough of
    them, then the same random order is cycled. Draws from torch's global RNG (wrap in
    :func:`skdd.utils.seeded` for reproducibility).

    Parameters
    ----------
    y : int tensor of shape (n,)
        Labels 0..n_classes-1; every class needs at least one sample.
    n_per_class : int
    n_classes : int, optional
        Defaults to ``max(y) + 1``.

    Returns
    -------
    indices : long tensor of shape (n_classes * n_per_class,)

    Examples
    --------
    >>> import torch
    >>> from skdd.parametrization import class_balanced_choice
    >>> y = torch.tensor([0, 1, 0, 1, 1])
    >>> idx = class_balanced_choice(y, 2)
    >>> y[idx].tolist()
    [0, 0, 1, 1]
    """
    y = torch.as_tensor(y).long()
    n_classes = int(y.max()) + 1 if n_classes is None else int(n_classes)
    counts = torch.bincount(y, minlength=n_classes)
    if (counts == 0).any():
        missing = torch.nonzero(counts == 0).flatten().tolist()
        raise ValueError(f"classes {missing} have no sample in y.")
    n_per_class = check_positive_int(n_per_class, "n_per_class")
    # a random order within each class: sort by (class, random key)
    keys = torch.rand(y.shape[0], device=y.device, dtype=torch.float64)
    order = torch.argsort(y.double() * 2.0 + keys)
    offsets = torch.cumsum(counts, 0) - counts
    labels = torch.arange(n_classes, device=y.device).repeat_interleave(n_per_class)
    slot = torch.arange(n_per_class, device=y.device).repeat(n_classes)
    return order[offsets[labels] + slot % counts[labels]]


class DCTDomain(nn.Module):
    """Synthetic samples stored as masked DCT coefficients (FreD's parametrization).

    Each synthetic instance of class ``c`` stores only the ``k`` DCT coefficients per
    channel that class ``c``'s mask keeps; :meth:`forward` scatters them into a zero
    spectrum and renders the samples with the inverse orthonormal DCT, along the last axis
    for series ``(n, C, T)`` or the last two for images ``(n, C, H, W)`` (any H×W). With an
    orthonormal transform the coefficients live on the data's scale, so learning rates
    stay those of the data domain (FreD's code uses an unnormalised DCT, hence its 1e3 to
    1e9 learning rates).

    Mask conventions: one mask per (class, channel), shared by all of that class's
    instances, keeping exactly ``k`` coefficients per channel; ``k`` therefore counts
    *per channel*, an instance stores ``C * k`` floats and :attr:`n_stored` is
    ``n_instances * C * k``. The mask is built from real data by
    :meth:`explained_variance_ratio` and :meth:`select_coefficients` (top-``k`` explained
    variance ratio; ties go to the lower flat index, i.e. lower frequency first).

    Parameters
    ----------
    coefficients : tensor of shape (n_instances, C, k)
        The kept coefficients of every instance (copied; the learnable tensor).
    indices : int tensor of shape (n_classes, C, k)
        For each class and channel, the flat positions (in ``T`` or row-major ``H * W``)
        of the kept coefficients; distinct within a (class, channel).
    labels : int tensor of shape (n_instances,)
        The class of each instance, in ``0..n_classes-1``.
    sample_shape : tuple of int
        ``(C, T)`` or ``(C, H, W)``: the rendered shape of one sample.

    Attributes
    ----------
    labels : tensor of shape (n_instances,)
        Buffer; the synthetic labels.
    indices : tensor of shape (n_classes, C, k)
        Buffer.

    Examples
    --------
    >>> import torch
    >>> from skdd.parametrization import DCTDomain
    >>> X, y = torch.rand(40, 1, 8, 8), torch.arange(40) % 4
    >>> with torch.random.fork_rng():
    ...     _ = torch.manual_seed(0)
    ...     p = DCTDomain.from_data(X, y, n_per_class=3, n_coefficients=16)
    >>> p().shape, p.labels.tolist()[:4], p.n_stored
    (torch.Size([12, 1, 8, 8]), [0, 0, 0, 1], 192)
    """

    def __init__(self, coefficients, indices, labels, sample_shape):
        super().__init__()
        shape = tuple(int(s) for s in sample_shape)
        if len(shape) not in (2, 3) or min(shape) < 1:
            raise ValueError(f"sample_shape must be (C, T) or (C, H, W) with positive sizes, "
                             f"got {sample_shape!r}.")
        self.sample_shape = shape
        self.dims = len(shape) - 1
        n_values = math.prod(shape[1:])
        coefficients = torch.as_tensor(coefficients).detach().clone().float()
        indices = torch.as_tensor(indices).detach().clone()
        labels = torch.as_tensor(labels).detach().clone()
        if indices.ndim != 3 or indices.shape[1] != shape[0] or indices.is_floating_point():
            raise ValueError(f"indices must be an int tensor of shape (n_classes, {shape[0]}, k), "
                             f"got {tuple(indices.shape)} ({indices.dtype}).")
        indices = indices.long()
        k = indices.shape[2]
        if k < 1 or k > n_values or (indices < 0).any() or (indices >= n_values).any():
            raise ValueError(f"indices must hold 1..{n_values} positions in 0..{n_values - 1} "
                             f"per (class, channel), got k={k}.")
        if (indices.sort(-1).values.diff(dim=-1) == 0).any():
            raise ValueError("indices repeat a position within a (class, channel).")
        if labels.ndim != 1 or labels.is_floating_point():
            raise ValueError(f"labels must be a 1-D int tensor, got {tuple(labels.shape)} "
                             f"({labels.dtype}).")
        labels = labels.long()
        if labels.numel() and ((labels < 0).any() or (labels >= indices.shape[0]).any()):
            raise ValueError(f"labels must be in 0..{indices.shape[0] - 1} (one mask per class).")
        if tuple(coefficients.shape) != (labels.shape[0], shape[0], k):
            raise ValueError(f"coefficients must have shape (n_instances, C, k) = "
                             f"({labels.shape[0]}, {shape[0]}, {k}), got "
                             f"{tuple(coefficients.shape)}.")
        self.coefficients = nn.Parameter(coefficients)
        self.register_buffer("indices", indices)
        self.register_buffer("labels", labels)
        for name, n in zip(self._matrix_names(), shape[1:]):
            self.register_buffer(name, dct_matrix(n))

    def _matrix_names(self):
        return ("dct_t",) if self.dims == 1 else ("dct_h", "dct_w")

    # -- building from real data ----------------------------------------------------
    @staticmethod
    def _check_data(X, y, n_classes):
        X = torch.as_tensor(X).detach()
        y = torch.as_tensor(y, device=X.device).detach()
        if X.ndim not in (3, 4):
            raise ValueError(f"X must be series (n, C, T) or images (n, C, H, W), got shape "
                             f"{tuple(X.shape)}.")
        if not torch.isfinite(X).all():
            raise ValueError("X contains NaN or inf values.")
        if y.ndim != 1 or y.shape[0] != X.shape[0] or y.is_floating_point():
            raise ValueError(f"y must be {X.shape[0]} integer labels (one per sample of X), got "
                             f"shape {tuple(y.shape)} ({y.dtype}).")
        y = y.long()
        if y.numel() == 0:
            raise ValueError("X and y hold no samples.")
        if n_classes is None:
            n_classes = int(y.max()) + 1
        n_classes = check_positive_int(n_classes, "n_classes")
        if (y < 0).any() or (y >= n_classes).any():
            raise ValueError(f"y must hold labels 0..n_classes-1 = 0..{n_classes - 1}.")
        counts = torch.bincount(y, minlength=n_classes)
        if (counts == 0).any():
            missing = torch.nonzero(counts == 0).flatten().tolist()
            raise ValueError(f"classes {missing} have no sample in y; every class needs real "
                             "samples to build its mask.")
        return X, y, int(n_classes), counts

    @classmethod
    def explained_variance_ratio(cls, X, y, n_classes=None, *, chunk_size=4096):
        """Per-class explained variance ratio of every DCT coefficient.

        For class ``c`` and channel ``ch``: the variance over class ``c``'s samples of
        each DCT coefficient, divided by the sum of those variances over the channel's
        coefficients (0 everywhere for a channel with no variance). Computed in float64
        in two passes over chunks of samples, all classes at once.

        Parameters
        ----------
        X : tensor or ndarray of shape (n, C, T) or (n, C, H, W)
        y : int tensor or ndarray of shape (n,), labels 0..n_classes-1
        n_classes : int, optional
            Defaults to ``max(y) + 1``; every class needs at least one sample.

        Returns
        -------
        evr : tensor of shape (n_classes, C, T) or (n_classes, C, H, W), float64
        """
        X, y, n_classes, counts = cls._check_data(X, y, n_classes)
        dims = X.ndim - 2
        n, C = X.shape[:2]
        flat = math.prod(X.shape[2:])
        chunks = [(s, min(s + chunk_size, n)) for s in range(0, n, chunk_size)]

        def coeffs(a, b):
            return dct(X[a:b].double(), dims).reshape(b - a, C * flat)

        sums = torch.zeros(n_classes, C * flat, dtype=torch.float64, device=X.device)
        for a, b in chunks:
            sums.index_add_(0, y[a:b], coeffs(a, b))
        mean = sums / counts[:, None].double()
        sq = torch.zeros_like(sums)
        for a, b in chunks:
            sq.index_add_(0, y[a:b], (coeffs(a, b) - mean[y[a:b]]).square())
        var = (sq / counts[:, None].double()).reshape(n_classes, C, flat)
        total = var.sum(-1, keepdim=True)
        evr = torch.where(total > 0, var / total.clamp_min(torch.finfo(torch.float64).tiny),
                          torch.zeros_like(var))
        return evr.reshape(n_classes, C, *X.shape[2:])

    @staticmethod
    def select_coefficients(evr, n_coefficients):
        """Flat indices of the top-``k`` coefficients of each (class, channel).

        Parameters
        ----------
        evr : tensor of shape (n_classes, C, *spatial)
        n_coefficients : int
            ``k`` per channel.

        Returns
        -------
        indices : long tensor of shape (n_classes, C, k)
            Ordered by decreasing ratio; ties keep the lower flat index first.
        """
        K, C = evr.shape[:2]
        scores = evr.reshape(K, C, -1)
        k = check_positive_int(n_coefficients, "n_coefficients")
        if k > scores.shape[-1]:
            raise ValueError(f"n_coefficients={k} exceeds the {scores.shape[-1]} DCT coefficients "
                             "per channel.")
        order = torch.sort(scores, dim=-1, descending=True, stable=True).indices
        return order[..., :k].contiguous()

    @classmethod
    def from_data(cls, X, y, n_per_class, n_coefficients, *, n_classes=None, init="real",
                  mask="class", chunk_size=4096):
        """Build the masks from real data and initialise ``n_per_class`` instances per class.

        Parameters
        ----------
        X : tensor or ndarray of shape (n, C, T) or (n, C, H, W)
            Real training data; the module is created on its device.
        y : int tensor or ndarray of shape (n,)
            Labels 0..n_classes-1.
        n_per_class : int
            Synthetic instances per class (see :func:`fred_n_per_class` for FreD's budget).
        n_coefficients : int
            ``k``: DCT coefficients kept per channel by every class mask.
        n_classes : int, optional
            Defaults to ``max(y) + 1``; every class needs a real sample.
        init : {"real", "noise"}, default="real"
            "real": random real samples of each class, transformed and masked (drawn
            without replacement while the class has enough samples, then cycling through
            the same random order). "noise": Gaussian coefficients with the class's mean
            and standard deviation of each kept coefficient. Both draw from torch's
            global RNG (wrap in :func:`skdd.utils.seeded` for reproducibility).
        mask : {"class", "shared"}, default="class"
            "class": FreD's per-class masks (each class's top explained variance ratio).
            "shared": one mask from the explained variance ratio of all the data, used by
            every class; the instances then cannot be told apart by which coefficients
            they hold, a shortcut a classifier can learn from per-class masks when ``k``
            is a small part of a short series.

        Returns
        -------
        DCTDomain
            Instances ordered by class (``labels`` is ``0,..,0,1,..``); the real samples
            used by ``init="real"`` are in ``init_indices_`` (None for noise).
        """
        n_per_class = check_positive_int(n_per_class, "n_per_class")
        check_option(init, "init", ("real", "noise"))
        check_option(mask, "mask", ("class", "shared"))
        X, y, n_classes, counts = cls._check_data(X, y, n_classes)
        if mask == "shared":  # one mask from the pooled data, the same for every class
            evr = cls.explained_variance_ratio(X, torch.zeros_like(y), 1, chunk_size=chunk_size)
            indices = cls.select_coefficients(evr, n_coefficients).expand(
                n_classes, -1, -1).contiguous()
        else:
            evr = cls.explained_variance_ratio(X, y, n_classes, chunk_size=chunk_size)
            indices = cls.select_coefficients(evr, n_coefficients)
        labels = torch.arange(n_classes, device=X.device).repeat_interleave(n_per_class)
        dims = X.ndim - 2
        C = X.shape[1]
        chosen = None
        if init == "real":
            chosen = class_balanced_choice(y, n_per_class, n_classes)
            full = dct(X[chosen].double(), dims).reshape(len(chosen), C, -1)
            coefficients = torch.gather(full, 2, indices[labels])
        else:
            Z = torch.zeros(n_classes, C, indices.shape[2], dtype=torch.float64, device=X.device)
            mean_k, sq_k = Z.clone(), Z.clone()
            for a in range(0, X.shape[0], chunk_size):
                b = min(a + chunk_size, X.shape[0])
                part = torch.gather(dct(X[a:b].double(), dims).reshape(b - a, C, -1), 2,
                                    indices[y[a:b]])
                mean_k.index_add_(0, y[a:b], part)
                sq_k.index_add_(0, y[a:b], part.square())
            mean_k /= counts[:, None, None].double()
            std_k = (sq_k / counts[:, None, None].double() - mean_k.square()).clamp_min(0).sqrt()
            noise = torch.randn(len(labels), C, indices.shape[2], device=X.device,
                                dtype=torch.float64)
            coefficients = mean_k[labels] + std_k[labels] * noise
        module = cls(coefficients.float(), indices, labels, tuple(X.shape[1:]))
        module.init_indices_ = chosen
        return module

    # -- rendering ------------------------------------------------------------------
    def spectrum(self):
        """The full (zero-filled) DCT coefficients, shape ``(n_instances, *sample_shape)``."""
        n, C, _ = self.coefficients.shape
        flat = math.prod(self.sample_shape[1:])
        full = self.coefficients.new_zeros(n, C, flat).scatter(
            2, self.indices[self.labels], self.coefficients)
        return full.reshape(n, *self.sample_shape)

    def forward(self):
        """Render the synthetic samples, shape ``(n_instances, *sample_shape)``."""
        full = self.spectrum()
        if self.dims == 1:
            return full @ self.dct_t
        return self.dct_h.T @ full @ self.dct_w

    def encode(self, X, labels):
        """Masked coefficients ``(n, C, k)`` of samples ``X`` under the masks of ``labels``.

        Rendering them (e.g. assigning to :attr:`coefficients`) gives the projection of
        ``X`` onto its class's kept frequencies.
        """
        X = torch.as_tensor(X, device=self.indices.device).float()
        labels = torch.as_tensor(labels, device=self.indices.device).long()
        if tuple(X.shape[1:]) != self.sample_shape or labels.shape != X.shape[:1]:
            raise ValueError(f"X must have shape (n, {', '.join(map(str, self.sample_shape))}) "
                             f"with one label per sample, got {tuple(X.shape)} and "
                             f"{tuple(labels.shape)} labels.")
        full = dct(X, self.dims).reshape(X.shape[0], self.sample_shape[0], -1)
        return torch.gather(full, 2, self.indices[labels])

    # -- bookkeeping ----------------------------------------------------------------
    @property
    def mask(self):
        """Boolean mask of shape ``(n_classes, *sample_shape)``: the kept coefficients."""
        K, C, _ = self.indices.shape
        flat = math.prod(self.sample_shape[1:])
        mask = torch.zeros(K, C, flat, dtype=torch.bool, device=self.indices.device)
        mask.scatter_(2, self.indices, True)
        return mask.reshape(K, *self.sample_shape)

    @property
    def n_coefficients(self):
        """``k``: coefficients kept per channel."""
        return self.indices.shape[2]

    @property
    def n_classes(self):
        return self.indices.shape[0]

    @property
    def n_instances(self):
        return self.coefficients.shape[0]

    @property
    def n_stored(self):
        """Number of stored (learnable) floats: ``n_instances * C * k``."""
        return self.coefficients.numel()


class WithLearnableStep(nn.Module):
    """A parametrization plus a learnable inner step size (MTT's synthetic learning rate).

    The step size is stored as its logarithm, so it stays positive; :meth:`param_groups`
    gives it its own optimiser learning rate.

    Parameters
    ----------
    parametrization : torch.nn.Module
        Renders the synthetic data.
    step : float
        Initial step size.
    step_lr : float
        Learning rate of the log step size.

    Examples
    --------
    >>> import torch
    >>> from skdd.parametrization import TimeDomain, WithLearnableStep
    >>> m = WithLearnableStep(TimeDomain(torch.zeros(4, 2)), step=0.1, step_lr=1e-3)
    >>> round(float(m.step().detach()), 3), m().shape
    (0.1, torch.Size([4, 2]))
    """

    def __init__(self, parametrization, step, step_lr):
        super().__init__()
        self.parametrization = parametrization
        ref = next(parametrization.parameters())
        self.log_step = nn.Parameter(torch.tensor(math.log(step), device=ref.device,
                                                  dtype=ref.dtype))
        self.step_lr = float(step_lr)

    def step(self):
        return self.log_step.exp()

    def param_groups(self, lr):
        return [{"params": list(self.parametrization.parameters()), "lr": lr},
                {"params": [self.log_step], "lr": self.step_lr}]

    def forward(self):
        return self.parametrization()
