"""MiniRocket features in torch: fixed random kernels, GPU-capable, deterministic for a seed.

MiniRocket (Dempster, Schmidt and Webb, KDD 2021) convolves a series with 84 fixed
kernels of length 9 (weights -1, with 2 at three of the nine positions: all C(9, 3)
choices) at exponentially spaced dilations, and takes the proportion of positive values
(PPV) of each output against biases drawn as quantiles of the convolution of a random
training series. Multivariate series sum the convolutions of a random subset of channels
per (dilation, kernel). This module follows that definition (the order of features, the
dilation schedule, the golden-ratio quantiles, the alternating padding) with one
convolution per dilation over all kernels and a sorted search for the PPVs, so features
of many series come out in a few batched torch calls, on CPU or CUDA.

sktime's ``MiniRocketMultivariate`` implements the same definition but is not used here:
it needs numba (not a dependency of skdd, and absent from the reference environment),
runs on CPU only, and its random draws (channel subsets, the series behind each bias)
come from numba's RNG inside jitted code, so for the same ``random_state`` its features
are not guaranteed to equal these. FIDs from the two are therefore not interchangeable;
skdd reports FIDs from :class:`MiniRocketFeatures` only.
"""
from __future__ import annotations

import itertools

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from ..utils import check_positive_int, resolve_device, torch_threads

__all__ = ["MiniRocketFeatures"]

_KERNEL_LENGTH = 9
_N_KERNELS = 84
#: positions of the weight 2 in each of the 84 kernels (all 3-subsets of 0..8, in order)
_KERNEL_INDICES = np.array(list(itertools.combinations(range(_KERNEL_LENGTH), 3)))


def _kernels():
    w = -np.ones((_N_KERNELS, _KERNEL_LENGTH), dtype=np.float32)
    np.put_along_axis(w, _KERNEL_INDICES, 2.0, axis=1)
    return w


def _fit_dilations(length, num_features, max_dilations_per_kernel):
    """Dilations and features per dilation (MiniRocket's schedule)."""
    per_kernel = max(num_features, _N_KERNELS) // _N_KERNELS
    true_max = min(per_kernel, max_dilations_per_kernel)
    multiplier = per_kernel / true_max
    max_exponent = np.log2((length - 1) / (_KERNEL_LENGTH - 1))
    dilations, counts = np.unique(
        np.logspace(0, max_exponent, true_max, base=2).astype(np.int32), return_counts=True)
    counts = (counts * multiplier).astype(np.int32)
    remainder = per_kernel - counts.sum()
    i = 0
    while remainder > 0:
        counts[i] += 1
        remainder -= 1
        i = (i + 1) % len(counts)
    return dilations, counts


def _quantiles(n):
    """The low-discrepancy quantile sequence ``(k * golden ratio) mod 1``, k = 1..n."""
    return ((np.arange(1, n + 1) * ((np.sqrt(5) + 1) / 2)) % 1).astype(np.float32)


def _quantile_sorted(sorted_rows, q):
    """Linear-interpolation quantiles (NumPy's default) of sorted rows, one set per row.

    sorted_rows: (R, L); q: (R, F) in [0, 1] -> (R, F)
    """
    pos = q * (sorted_rows.shape[-1] - 1)
    lo = pos.floor().long()
    hi = pos.ceil().long()
    frac = pos - lo
    a = sorted_rows.gather(-1, lo)
    b = sorted_rows.gather(-1, hi)
    return a + (b - a) * frac


class MiniRocketFeatures(TransformerMixin, BaseEstimator):
    """MiniRocket features of series, in torch (CPU or CUDA).

    ``fit`` draws the channel subsets and fits the biases on the given series (seeded by
    ``random_state``); ``transform`` returns the PPV features, L2-normalised per series
    by default (the feature space of NM-VQTSG's FID). Equal ``random_state`` and data
    give identical features.

    Parameters
    ----------
    num_features : int, default=10_000
        Requested features; MiniRocket rounds down to a multiple of 84 (9996 here).
    max_dilations_per_kernel : int, default=32
    normalize : bool, default=True
        Scale each series' feature vector to unit L2 norm.
    random_state : int, default=0
        Seed of the channel subsets and of the series chosen for each bias.
    device : str, default="cpu"
        Where the convolutions run ("auto" picks CUDA when available).
    batch_size : int, default=256
        Series per batch in ``transform``.
    n_threads : int, optional
        Torch CPU threads (see :func:`skdd.utils.torch_threads`; default one).

    Attributes
    ----------
    dilations_ : ndarray of int
    n_features_out_ : int
    biases_ : ndarray of float32, shape (n_features_out_,)
    series_length_ : int
        Length T of the fitted series; shorter series (T < 9) are zero-padded to 9.
    n_features_in_ : int
        Channels C for 3-D input, T for 2-D input (read as one channel).

    Examples
    --------
    >>> import numpy as np
    >>> from skdd.metrics import MiniRocketFeatures
    >>> X = np.random.default_rng(0).standard_normal((20, 2, 50))
    >>> Z = MiniRocketFeatures(num_features=840).fit(X).transform(X)
    >>> Z.shape, bool(np.allclose((Z ** 2).sum(1), 1))
    ((20, 840), True)
    """

    def __init__(self, num_features=10_000, max_dilations_per_kernel=32, normalize=True,
                 random_state=0, device="cpu", batch_size=256, n_threads=None):
        self.num_features = num_features
        self.max_dilations_per_kernel = max_dilations_per_kernel
        self.normalize = normalize
        self.random_state = random_state
        self.device = device
        self.batch_size = batch_size
        self.n_threads = n_threads

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags

    def _to_3d(self, X, reset):
        X = validate_data(self, X, reset=reset, allow_nd=True, dtype=[np.float64, np.float32],
                          ensure_all_finite=True)
        if X.ndim == 2:
            X = X[:, None, :]
        if X.ndim != 3:
            raise ValueError(f"X must be 2-D (n_series, n_timesteps) or 3-D (n_series, "
                             f"n_channels, n_timesteps), got shape {X.shape}.")
        if X.shape[-1] < _KERNEL_LENGTH:
            X = np.concatenate(
                [X, np.zeros((*X.shape[:2], _KERNEL_LENGTH - X.shape[-1]), X.dtype)], -1)
        return np.ascontiguousarray(X, dtype=np.float32)

    def fit(self, X, y=None):
        """Draw the channel subsets and fit the biases on ``X`` (n, C, T) or (n, T)."""
        num_features = check_positive_int(self.num_features, "num_features")
        max_dil = check_positive_int(self.max_dilations_per_kernel, "max_dilations_per_kernel")
        seed = self.random_state
        if seed is None or isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise ValueError(f"random_state must be an int (MiniRocket features are fixed by "
                             f"their seed), got {seed!r}.")
        X = self._to_3d(X, reset=True)
        n, C, T = X.shape
        self.series_length_ = T
        rs = np.random.RandomState(int(seed) % 2**32)
        dilations, per_dilation = _fit_dilations(T, num_features, max_dil)
        n_comb = _N_KERNELS * len(dilations)
        n_chan = (2 ** rs.uniform(0, np.log2(min(C, 9) + 1), n_comb)).astype(np.int32)
        masks = np.zeros((n_comb, C), dtype=np.float32)
        for i, k in enumerate(n_chan):  # one draw per (dilation, kernel): 84 x dilations
            masks[i, rs.choice(C, k, replace=False)] = 1.0
        self.dilations_ = dilations
        self.features_per_dilation_ = per_dilation
        self.channel_masks_ = masks.reshape(len(dilations), _N_KERNELS, C)
        quantiles = torch.from_numpy(_quantiles(_N_KERNELS * int(per_dilation.sum())))
        examples = rs.randint(n, size=n_comb).reshape(len(dilations), _N_KERNELS)
        device = resolve_device(self.device)
        with torch_threads(self.n_threads, device):
            self.biases_ = self._fit_biases(X, examples, quantiles, device)
        self.n_features_out_ = int(self.biases_.shape[0])
        return self

    def _fit_biases(self, X, examples, quantiles, device):
        _, C, T = X.shape
        Xt = torch.from_numpy(X).to(device)
        biases, start = [], 0
        for i, d in enumerate(self.dilations_):
            w = self._weights(i, device)  # (84, C, 9)
            f = int(self.features_per_dilation_[i])
            ex = Xt[torch.from_numpy(examples[i]).to(device)]  # (84, C, T)
            out = F.conv1d(ex.reshape(1, _N_KERNELS * C, T), w, dilation=int(d),
                           padding=4 * int(d), groups=_N_KERNELS)[0]  # (84, T)
            q = quantiles[start:start + _N_KERNELS * f].view(_N_KERNELS, f).to(device)
            biases.append(_quantile_sorted(out.sort(-1).values, q).reshape(-1))
            start += _N_KERNELS * f
        return torch.cat(biases).cpu().numpy()

    def _weights(self, i, device):
        w = torch.from_numpy(_kernels()).to(device)
        mask = torch.from_numpy(self.channel_masks_[i]).to(device)
        return w[:, None, :] * mask[:, :, None]

    @torch.no_grad()
    def transform(self, X):
        """MiniRocket features of ``X``, shape (n_series, n_features_out_), float64."""
        check_is_fitted(self, "biases_")
        X = self._to_3d(X, reset=False)
        if X.shape[-1] != max(self.series_length_, _KERNEL_LENGTH):
            raise ValueError(f"X has series of length {X.shape[-1]}, but MiniRocketFeatures was "
                             f"fitted on length {self.series_length_}.")
        batch_size = check_positive_int(self.batch_size, "batch_size")
        device = resolve_device(self.device)
        with torch_threads(self.n_threads, device):
            biases = torch.from_numpy(self.biases_).to(device)
            weights = [self._weights(i, device) for i in range(len(self.dilations_))]
            out = [self._transform_batch(torch.from_numpy(X[s:s + batch_size]).to(device),
                                         weights, biases)
                   for s in range(0, X.shape[0], batch_size)]
            Z = torch.cat(out).double()
            if self.normalize:
                Z = F.normalize(Z, p=2, dim=1)
            return Z.cpu().numpy()

    def _transform_batch(self, x, weights, biases):
        b, _, T = x.shape
        feats, start = [], 0
        kernels = torch.arange(_N_KERNELS, device=x.device)
        for i, d in enumerate(self.dilations_):
            d, f = int(d), int(self.features_per_dilation_[i])
            pad = 4 * d
            conv = F.conv1d(x, weights[i], dilation=d, padding=pad)  # (b, 84, T)
            bias = biases[start:start + _N_KERNELS * f].view(_N_KERNELS, f)
            start += _N_KERNELS * f
            ppv = torch.empty(b, _N_KERNELS, f, device=x.device)
            # MiniRocket alternates full ("same") outputs and outputs without padding
            valid = (kernels + i % 2) % 2 == 1
            for sel, seq in ((~valid, conv[:, ~valid]), (valid, conv[:, valid, pad:T - pad])):
                seq = seq.sort(-1).values.contiguous()
                vals = bias[sel].unsqueeze(0).expand(b, -1, -1).contiguous()
                below = torch.searchsorted(seq, vals, right=True)  # values <= bias
                ppv[:, sel] = 1.0 - below.float() / seq.shape[-1]
            feats.append(ppv.reshape(b, -1))
        return torch.cat(feats, 1)
