"""Synthetic multivariate time series with several seasonalities, trend and noise."""
from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

__all__ = ["make_seasonal_series"]

# Number of harmonics per period (fundamental included) and the start timestamp
# of the frame returned with ``as_frame=True`` (the first ETT timestamp).
_N_HARMONICS = 2
_START = "2016-07-01"


def _check_rng(random_state):
    if random_state is None or (
        isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool)
    ):
        if random_state is not None and random_state < 0:
            raise ValueError(f"random_state must be a non-negative integer, got {random_state}.")
        return np.random.default_rng(random_state)
    if isinstance(random_state, np.random.Generator):
        return random_state
    raise ValueError(
        "random_state must be None, a non-negative integer or a numpy.random.Generator, "
        f"got {random_state!r}."
    )


def _check_int(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def _check_real(value, name, minimum=None):
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value)
    if not ok or (minimum is not None and value < minimum):
        bound = "" if minimum is None else f" >= {minimum}"
        raise ValueError(f"{name} must be a finite number{bound}, got {value!r}.")
    return float(value)


def _check_periods(periods):
    try:
        arr = np.atleast_1d(np.asarray(periods, dtype=np.float64))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"periods must be a sequence of positive numbers, got {periods!r}.") from exc
    if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(
            f"periods must be a non-empty sequence of positive finite numbers, got {periods!r}."
        )
    return arr


def make_seasonal_series(
    n_timesteps=2000,
    n_channels=4,
    *,
    periods=(24, 168),
    trend=0.5,
    noise=0.1,
    random_state=None,
    as_frame=False,
):
    """Generate a multivariate series with several seasonalities, trend and noise.

    Each channel is the sum of

    * for each period, a sinusoid with a random amplitude and phase plus a
      weaker second harmonic (period / 2), so that spectra have structure;
    * a component shared by all channels with random per-channel loadings
      (a common seasonal pattern plus a slow smooth wander), which correlates
      the channels;
    * a per-channel, slightly curved trend whose total change over the series
      is of order ``trend``;
    * i.i.d. Gaussian noise of standard deviation ``noise``.

    Parameters
    ----------
    n_timesteps : int, default=2000
        Length of the series (>= 2).
    n_channels : int, default=4
        Number of channels (>= 1).
    periods : sequence of float, default=(24, 168)
        Seasonal periods in time steps (daily and weekly for hourly data).
        Harmonics whose period would be shorter than two steps are dropped.
    trend : float, default=0.5
        Scale of the trend over the whole series; 0 disables it.
    noise : float, default=0.1
        Standard deviation of the additive Gaussian noise (>= 0).
    random_state : int, numpy.random.Generator or None, default=None
        Seed or generator; the same integer gives identical output.
    as_frame : bool, default=False
        If True, return a DataFrame with an hourly DatetimeIndex named
        ``"date"`` starting at 2016-07-01 and columns ``x0, x1, ...``.

    Returns
    -------
    X : ndarray of shape (n_timesteps, n_channels) or pandas.DataFrame
        float64 series.

    Examples
    --------
    >>> from skdd.datasets import make_seasonal_series
    >>> X = make_seasonal_series(500, 3, random_state=0)
    >>> X.shape, X.dtype
    ((500, 3), dtype('float64'))
    >>> df = make_seasonal_series(48, 2, random_state=0, as_frame=True)
    >>> list(df.columns), str(df.index[1])
    (['x0', 'x1'], '2016-07-01 01:00:00')
    """
    n_timesteps = _check_int(n_timesteps, "n_timesteps", 2)
    n_channels = _check_int(n_channels, "n_channels", 1)
    periods = _check_periods(periods)
    trend = _check_real(trend, "trend")
    noise = _check_real(noise, "noise", minimum=0.0)
    rng = _check_rng(random_state)

    n_periods = periods.size
    t = np.arange(n_timesteps, dtype=np.float64)
    harmonics = np.arange(1, _N_HARMONICS + 1, dtype=np.float64)
    # frequencies (cycles per step), shape (P, H); harmonics faster than Nyquist are muted
    freqs = harmonics[None, :] / periods[:, None]
    audible = (freqs <= 0.5).astype(np.float64)

    # per-channel seasonal part: amplitudes (C, P, H) decay with the harmonic order
    base_amp = rng.uniform(0.5, 1.5, size=(n_channels, n_periods, 1))
    harm_weight = np.concatenate(
        [np.ones((n_channels, n_periods, 1)),
         rng.uniform(0.2, 0.5, size=(n_channels, n_periods, _N_HARMONICS - 1))],
        axis=2,
    )
    amp = base_amp * harm_weight * audible[None]
    phase = rng.uniform(0.0, 2.0 * np.pi, size=(n_channels, n_periods, _N_HARMONICS))

    # sin(w t + phi) = sin(w t) cos(phi) + cos(w t) sin(phi): one (T, K) @ (K, C) product
    angle = 2.0 * np.pi * t[:, None] * freqs.reshape(1, -1)  # (T, P*H)
    sin_t, cos_t = np.sin(angle), np.cos(angle)
    flat_amp = amp.reshape(n_channels, -1)
    flat_phase = phase.reshape(n_channels, -1)
    seasonal = sin_t @ (flat_amp * np.cos(flat_phase)).T + cos_t @ (flat_amp * np.sin(flat_phase)).T

    # shared latent: a common seasonal pattern plus a smooth, bounded random wander
    latent_phase = rng.uniform(0.0, 2.0 * np.pi, size=(n_periods, _N_HARMONICS))
    latent_amp = (audible / harmonics[None, :]).reshape(-1)
    latent = sin_t @ (latent_amp * np.cos(latent_phase.reshape(-1))) + cos_t @ (
        latent_amp * np.sin(latent_phase.reshape(-1))
    )
    walk = np.cumsum(rng.standard_normal(n_timesteps))
    walk -= np.linspace(walk[0], walk[-1], n_timesteps)  # tie the ends: no extra trend
    walk_scale = np.max(np.abs(walk))
    if walk_scale > 0:
        walk /= walk_scale
    latent = latent / max(np.sqrt(np.mean(latent**2)), 1e-12) + 0.5 * walk
    loadings = rng.uniform(0.5, 1.0, size=n_channels) * rng.choice([-1.0, 1.0], size=n_channels)

    # slightly curved trend over u in [0, 1]
    u = t / (n_timesteps - 1)
    slope = rng.uniform(0.5, 1.5, size=n_channels) * rng.choice([-1.0, 1.0], size=n_channels)
    curve = rng.uniform(-0.3, 0.3, size=n_channels)
    trend_part = trend * (u[:, None] * slope[None, :] + (u**2)[:, None] * curve[None, :])

    eps = rng.standard_normal((n_timesteps, n_channels))
    X = seasonal + latent[:, None] * loadings[None, :] + trend_part + noise * eps
    X = np.ascontiguousarray(X, dtype=np.float64)

    if as_frame:
        index = pd.date_range(
            _START, periods=n_timesteps, freq=pd.Timedelta(hours=1), name="date"
        ).as_unit("ns")
        frame = pd.DataFrame(X, index=index, columns=[f"x{i}" for i in range(n_channels)])
        frame.attrs["name"] = "seasonal"
        return frame
    return X
