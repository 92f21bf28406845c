"""Autocorrelation and power-spectrum gaps (the quantities of HDT's Theorem 1)."""
from __future__ import annotations

import numpy as np

from ..utils import check_series


def autocorrelation(series, max_lag):
    """Sample autocorrelation ``r(k)``, ``k = 0..max_lag``, of each channel (FFT-based).

    Parameters
    ----------
    series : array-like of shape (T, C)
    max_lag : int
        Largest lag, at most T - 1.

    Returns
    -------
    ndarray of shape (max_lag + 1, C); ``r(0) = 1`` (0 for a constant channel).

    Examples
    --------
    >>> import numpy as np
    >>> from skdd.metrics import autocorrelation
    >>> t = np.arange(240)
    >>> r = autocorrelation(np.sin(2 * np.pi * t / 24)[:, None], 24)
    >>> round(float(r[24, 0]), 2), round(float(r[12, 0]), 2)
    (0.9, -0.95)
    """
    x = check_series(series, name="series", min_length=2, dtype=np.float64)
    T = x.shape[0]
    if not 0 <= max_lag < T:
        raise ValueError(f"max_lag must be between 0 and {T - 1} (series length - 1), got {max_lag}.")
    x = x - x.mean(0)
    n_fft = 1 << int(np.ceil(np.log2(2 * T)))
    spec = np.fft.rfft(x, n=n_fft, axis=0)
    acov = np.fft.irfft(spec * np.conj(spec), n=n_fft, axis=0)[:max_lag + 1]
    denom = acov[:1]
    return np.divide(acov, denom, out=np.zeros_like(acov), where=denom > 0)


def autocorrelation_gap(real, synthetic, max_lag):
    """``max_{0<=k<=K} |r_S(k) − r_X(k)|`` per channel (``r`` is even in k).

    Returns
    -------
    ndarray of shape (C,)
    """
    r_x = autocorrelation(real, max_lag)
    r_s = autocorrelation(synthetic, max_lag)
    if r_x.shape[1] != r_s.shape[1]:
        raise ValueError(f"real has {r_x.shape[1]} channels, synthetic {r_s.shape[1]}.")
    return np.abs(r_s - r_x).max(0)


def power_spectrum(series, n_freq=None):
    """Normalised power spectrum of each channel (sums to 1 over frequencies).

    With ``n_freq``, the spectrum is averaged into ``n_freq`` equal frequency bands, so
    series of different lengths can be compared.
    """
    x = check_series(series, name="series", min_length=2, dtype=np.float64)
    x = x - x.mean(0)
    power = np.abs(np.fft.rfft(x, axis=0)) ** 2
    if n_freq is not None:
        edges = np.linspace(0, power.shape[0], n_freq + 1).astype(int)
        power = np.add.reduceat(power, edges[:-1], axis=0)
    total = power.sum(0, keepdims=True)
    return np.divide(power, total, out=np.zeros_like(power), where=total > 0)


def power_spectrum_gap(real, synthetic, n_freq=32):
    """Total-variation distance between banded normalised power spectra, per channel."""
    p = power_spectrum(real, n_freq)
    q = power_spectrum(synthetic, n_freq)
    return 0.5 * np.abs(p - q).sum(0)
