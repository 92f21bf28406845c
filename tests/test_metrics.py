"""Spectral and correlation gaps."""
import numpy as np
import pytest

from skdd.metrics import autocorrelation, autocorrelation_gap, power_spectrum, power_spectrum_gap


def test_autocorrelation_matches_direct_formula():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 2)).cumsum(0)
    r = autocorrelation(x, 10)
    xc = x - x.mean(0)
    direct = np.stack([(xc[:200 - k] * xc[k:]).sum(0) for k in range(11)]) / (xc ** 2).sum(0)
    np.testing.assert_allclose(r, direct, atol=1e-10)
    assert np.allclose(r[0], 1)


def test_gaps_vanish_on_identical_series_and_are_bounded():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((300, 3))
    assert np.allclose(autocorrelation_gap(x, x, 20), 0)
    assert np.allclose(power_spectrum_gap(x, x), 0)
    t = np.arange(300)[:, None]
    y = np.sin(2 * np.pi * t / 24) * np.ones((1, 3))
    gap = power_spectrum_gap(x, y)
    assert gap.shape == (3,) and np.all((gap > 0.5) & (gap <= 1))
    np.testing.assert_allclose(power_spectrum(x, 16).sum(0), 1)


def test_bad_lags_and_channels():
    x = np.zeros((50, 2))
    with pytest.raises(ValueError, match="max_lag"):
        autocorrelation(x, 50)
    with pytest.raises(ValueError, match="channels"):
        autocorrelation_gap(np.ones((50, 2)).cumsum(0), np.ones((50, 3)).cumsum(0), 5)
    with pytest.raises(ValueError, match="NaN"):
        autocorrelation(np.full((10, 1), np.nan), 2)
