"""skdd.plotting: each plot draws what it claims, into a given Axes or a new figure.

(The PNGs written by examples/plot_distilled.py were also checked by eye.)
"""
import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from skdd import RandomSegmentDistiller  # noqa: E402
from skdd.datasets import load_digits_images, make_seasonal_series  # noqa: E402
from skdd.plotting import (plot_loss_curve, plot_prototypes, plot_series,  # noqa: E402
                           plot_spectrum)


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


@pytest.fixture
def fitted():
    frame = make_seasonal_series(600, 2, random_state=0, as_frame=True)
    d = RandomSegmentDistiller(length=96, seq_len=24, pred_len=24, random_state=0).fit(frame)
    return frame, d


def test_plot_series_draws_both_series(fitted, tmp_path):
    frame, d = fitted
    ax = plot_series(frame, d.X_syn_, channel="x1", real_start=d.start_)
    real_line, syn_line = ax.get_lines()
    # Random's synthetic series is the real segment at start_: the two lines coincide
    np.testing.assert_allclose(real_line.get_ydata(), frame["x1"].to_numpy()[d.start_:d.start_ + 96])
    np.testing.assert_allclose(syn_line.get_ydata(), d.X_syn_[:, 1], rtol=1e-6)
    assert ax.get_ylabel() == "x1"
    ax.figure.savefig(tmp_path / "series.png")
    assert (tmp_path / "series.png").stat().st_size > 1000
    # into a given Axes
    fig, axes = plt.subplots(1, 2)
    assert plot_series(frame.to_numpy(), d.X_syn_, channel=0, ax=axes[1],
                       real_length=200) is axes[1]
    assert len(axes[1].get_lines()[0].get_ydata()) == 200


def test_plot_spectrum_marks_the_top_harmonics():
    t = np.arange(960)
    real = (np.sin(2 * np.pi * t / 24) + 0.5 * np.sin(2 * np.pi * t / 8))[:, None]
    ax = plot_spectrum(real, real[:96], n_harmonics=2)
    real_line, syn_line = ax.get_lines()
    freqs = real_line.get_xdata()
    np.testing.assert_allclose(freqs, np.fft.rfftfreq(96))
    marked = ax.collections[0].get_offsets()[:, 0]
    np.testing.assert_allclose(sorted(marked), [1 / 24, 1 / 8])
    # amplitudes in data units: a unit sine has amplitude 1/2 at its frequency
    assert syn_line.get_ydata()[4] == pytest.approx(0.5, rel=1e-6)
    assert ax.get_yscale() == "log"
    assert len(plot_spectrum(real, real[:96]).collections) == 0  # no harmonics asked


def test_plot_loss_curve_with_parts():
    from skdd import HarmonicDistiller

    series = make_seasonal_series(400, 2, random_state=0)
    hdt = HarmonicDistiller(length=96, seq_len=24, pred_len=12, n_harmonics=8, max_iter=4,
                            n_experts=1, expert_epochs=1, expert_span=1, n_subsequences=2,
                            device="cpu",
                            random_state=0).fit(series)
    ax = plot_loss_curve(hdt)
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["total", "grad", "harmonic"]
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), hdt.loss_curve_)
    assert ax.get_xlabel() == "iteration"
    ax = plot_loss_curve([1.0, -0.5, 0.2])  # a non-positive loss: linear axis
    assert ax.get_yscale() == "linear"


def test_plot_prototypes_images_and_series():
    X, _, y, _ = load_digits_images()
    ax = plot_prototypes(X[:60], y[:60], n_per_class=2)
    image = ax.get_images()[0].get_array()
    assert image.shape == (10 * 9 + 1, 2 * 9 + 1)  # 10 rows of 8 px + 1 px gaps
    assert [t.get_text() for t in ax.get_yticklabels()] == [str(c) for c in range(10)]
    rgb = plot_prototypes(np.random.default_rng(0).random((4, 3, 5, 5)))
    assert rgb.get_images()[0].get_array().shape == (7, 25, 3)
    series = np.random.default_rng(0).standard_normal((6, 2, 30))
    ax = plot_prototypes(series, np.array(["b", "a", "b", "a", "b", "a"]), channel=1)
    assert len(ax.get_lines()) == 6
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]


def test_errors():
    series = np.zeros((50, 2))
    with pytest.raises(ValueError, match="channel=5"):
        plot_series(series, series, channel=5)
    with pytest.raises(ValueError, match="channel='z'"):
        plot_series(make_seasonal_series(50, 1, as_frame=True, random_state=0), series,
                    channel="z")
    with pytest.raises(ValueError, match="fewer than the synthetic"):
        plot_spectrum(series[:10], series)
    with pytest.raises(ValueError, match="empty"):
        plot_loss_curve(RandomSegmentDistiller(length=10, seq_len=5, pred_len=5).fit(series))
    with pytest.raises(ValueError, match="no loss_curve_"):
        plot_loss_curve(RandomSegmentDistiller())
    with pytest.raises(ValueError, match="ax must be"):
        plot_series(series, series, ax="left")
    with pytest.raises(ValueError, match="y must have shape"):
        plot_prototypes(np.zeros((3, 1, 4, 4)), [0, 1])
