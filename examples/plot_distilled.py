"""Plot distilled sets: real vs synthetic series, spectra with harmonics, losses, prototypes.

Distils a generated seasonal series with HDT (a few iterations) and the digits images
with the Random baseline, then writes four PNGs:

- ``series.png``: one channel of the real series and of the synthetic one;
- ``spectrum.png``: their amplitude spectra, with the real series' top harmonics marked;
- ``loss_curve.png``: HDT's total loss and its gradient / harmonic parts per iteration;
- ``prototypes.png``: the distilled digits, one row per class (and
  ``series_prototypes.png`` for labelled series).

Run ``python examples/plot_distilled.py --out plots/`` (default: ``./skdd_plots``);
``--full`` distils longer.
"""
import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from skdd import HarmonicDistiller  # noqa: E402
from skdd.classification import RandomPerClassDistiller  # noqa: E402
from skdd.datasets import load_digits_images, make_seasonal_series  # noqa: E402
from skdd.plotting import (plot_loss_curve, plot_prototypes, plot_series,  # noqa: E402
                           plot_spectrum)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="skdd_plots", help="folder for the PNGs")
    parser.add_argument("--full", action="store_true", help="distil longer (about a minute)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    # a forecasting distiller: HDT on a generated 3-channel series
    series = make_seasonal_series(2000, 3, random_state=0, as_frame=True)
    hdt = HarmonicDistiller(length=192, seq_len=48, pred_len=24, n_harmonics=12,
                            max_iter=150 if args.full else 25, n_experts=2, expert_epochs=2,
                            n_subsequences=8, device="cpu", random_state=0)
    synthetic = hdt.fit_resample(series)
    paths = []
    ax = plot_series(series, synthetic, channel="x0")
    paths.append(out / "series.png")
    ax.figure.savefig(paths[-1], dpi=110)
    ax = plot_spectrum(series, synthetic, channel="x0", n_harmonics=hdt.n_harmonics)
    paths.append(out / "spectrum.png")
    ax.figure.savefig(paths[-1], dpi=110)
    ax = plot_loss_curve(hdt)
    paths.append(out / "loss_curve.png")
    ax.figure.savefig(paths[-1], dpi=110)

    # a classification distiller: 5 random digits per class
    X, _, y, _ = load_digits_images()
    X_syn, y_syn = RandomPerClassDistiller(ipc=5, random_state=0).fit_resample(X, y)
    ax = plot_prototypes(X_syn, y_syn)
    paths.append(out / "prototypes.png")
    ax.figure.savefig(paths[-1], dpi=110)

    # labelled series: two classes of noisy sines (periods 16 and 6)
    rng = np.random.default_rng(0)
    t = np.arange(64)
    labels = np.repeat(["slow", "fast"], 20)
    period = np.where(labels == "slow", 16, 6)[:, None]
    waves = np.sin(2 * np.pi * t / period)[:, None, :] + 0.2 * rng.standard_normal((40, 1, 64))
    W_syn, w_syn = RandomPerClassDistiller(ipc=3, random_state=0).fit_resample(waves, labels)
    ax = plot_prototypes(W_syn, w_syn)
    paths.append(out / "series_prototypes.png")
    ax.figure.savefig(paths[-1], dpi=110)
    plt.close("all")
    for p in paths:
        print(f"wrote {p}")
    return paths


if __name__ == "__main__":
    main()
