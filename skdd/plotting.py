"""Plots of distilled sets: series, spectra, loss curves and prototype grids.

Every function draws into ``ax`` (a matplotlib Axes) or, when ``ax=None``, into a new
figure, and returns the Axes. matplotlib is imported on first use only
(``pip install "skdd[plot]"``); ``import skdd`` never imports it.
"""
from __future__ import annotations

import numpy as np
import torch

from .objectives import top_k_harmonics
from .utils import check_positive_int, check_series

__all__ = ["plot_series", "plot_spectrum", "plot_loss_curve", "plot_prototypes"]


def _axes(ax, figsize):
    if ax is not None:
        if not hasattr(ax, "plot"):
            raise ValueError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}.")
        return ax
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - exercised only without matplotlib
        raise ImportError("skdd.plotting needs matplotlib; install it with "
                          "pip install 'skdd[plot]'.") from exc
    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _channels(real, synthetic, channel):
    """``(real values, synthetic values, label)`` of one channel of both series.

    A column name is looked up in the real series; the synthetic series uses the same
    column (by name for a DataFrame, else by position).
    """
    real_values, label, position = _channel(real, channel, "real")
    by_name = hasattr(synthetic, "columns") and not isinstance(channel, (int, np.integer))
    syn_values, _, _ = _channel(synthetic, channel if by_name else position, "synthetic")
    return real_values, syn_values, label


def _channel(series, channel, name):
    """``(values (T,), label, position)`` of one channel, by position or column name."""
    columns = list(series.columns) if hasattr(series, "columns") else None
    values = check_series(series, name=name, dtype=np.float64)
    if columns is not None and not isinstance(channel, (int, np.integer)):
        if channel not in columns:
            raise ValueError(f"channel={channel!r} is not a column of {name}; columns are "
                             f"{columns}.")
        channel = columns.index(channel)
    if not isinstance(channel, (int, np.integer)) or not -values.shape[1] <= channel < values.shape[1]:
        raise ValueError(f"channel={channel!r} is out of range for {name} with "
                         f"{values.shape[1]} channels.")
    position = int(channel) % values.shape[1]
    label = str(columns[position]) if columns is not None else f"channel {position}"
    return values[:, position], label, position


def plot_series(real, synthetic, *, channel=0, real_start=0, real_length=None, ax=None):
    """A real series and a synthetic one, one channel, on a common time-step axis.

    Parameters
    ----------
    real : array-like of shape (T, C) or DataFrame
    synthetic : array-like of shape (M, C) or DataFrame
        E.g. ``distiller.X_syn_``.
    channel : int or str, default=0
        Channel index, or column name for DataFrames.
    real_start : int, default=0
        First real time step shown (e.g. ``RandomSegmentDistiller.start_``).
    real_length : int, optional
        Real time steps shown (default M, the synthetic length).
    ax : matplotlib Axes, optional

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skdd import RandomSegmentDistiller
    >>> from skdd.datasets import make_seasonal_series
    >>> from skdd.plotting import plot_series
    >>> series = make_seasonal_series(500, 2, random_state=0)
    >>> d = RandomSegmentDistiller(length=96, seq_len=24, pred_len=24, random_state=0).fit(series)
    >>> ax = plot_series(series, d.X_syn_, real_start=d.start_)
    >>> len(ax.get_lines())
    2
    """
    real_values, syn_values, label = _channels(real, synthetic, channel)
    start = check_positive_int(real_start, "real_start", minimum=0)
    length = len(syn_values) if real_length is None else check_positive_int(real_length,
                                                                           "real_length")
    segment = real_values[start:start + length]
    if len(segment) == 0:
        raise ValueError(f"real_start={start} is past the end of real ({len(real_values)} steps).")
    ax = _axes(ax, (8, 3))
    ax.plot(np.arange(len(segment)), segment, color="0.55", lw=1.2,
            label=f"real (steps {start}–{start + len(segment) - 1})")
    ax.plot(np.arange(len(syn_values)), syn_values, color="C3", lw=1.4,
            label=f"synthetic (M = {len(syn_values)})")
    ax.set_xlabel("time step")
    ax.set_ylabel(label)
    ax.set_title(f"Real and synthetic series: {label}")
    ax.legend(loc="upper right", fontsize="small")
    return ax


def _mean_amplitude(values, length):
    """Mean rfft amplitude (norm "forward") of all length-``length`` windows of ``values``."""
    x = torch.as_tensor(np.ascontiguousarray(values), dtype=torch.float64)
    windows = x.unfold(0, length, max(1, length // 4))  # (n, length), quarter overlap
    return torch.fft.rfft(windows, dim=-1, norm="forward").abs().mean(0).numpy()


def plot_spectrum(real, synthetic, *, channel=0, n_harmonics=None, ax=None):
    """Amplitude spectra of a real and a synthetic series, with the top harmonics marked.

    The synthetic series (length M) is compared with the mean amplitude spectrum of the
    real series' length-M windows, on the same rfft frequency grid (normalised by M, so
    amplitudes are in data units, as in :class:`skdd.HarmonicDistiller`). The
    ``n_harmonics`` frequencies of largest real amplitude, selected with
    :func:`skdd.objectives.top_k_harmonics` as HDT selects its harmonics, are marked.

    Parameters
    ----------
    real : array-like of shape (T, C) or DataFrame, T >= M
    synthetic : array-like of shape (M, C) or DataFrame
    channel : int or str, default=0
    n_harmonics : int, optional
        Harmonics marked (none when None).
    ax : matplotlib Axes, optional

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skdd.datasets import make_seasonal_series
    >>> from skdd.plotting import plot_spectrum
    >>> series = make_seasonal_series(500, 1, random_state=0)
    >>> ax = plot_spectrum(series, series[:96], n_harmonics=4)
    >>> ax.get_xlabel()
    'frequency (cycles per step)'
    """
    real_values, syn_values, label = _channels(real, synthetic, channel)
    M = len(syn_values)
    if len(real_values) < M:
        raise ValueError(f"real has {len(real_values)} steps, fewer than the synthetic "
                         f"length M = {M}.")
    freqs = np.fft.rfftfreq(M)
    real_amp = _mean_amplitude(real_values, M)
    syn_amp = np.abs(np.fft.rfft(syn_values, norm="forward"))
    ax = _axes(ax, (8, 3))
    ax.semilogy(freqs, real_amp, color="0.45", lw=1.2, label="real (mean over windows)")
    ax.semilogy(freqs, syn_amp, color="C3", lw=1.2, alpha=0.85, label="synthetic")
    if n_harmonics is not None:
        k = check_positive_int(n_harmonics, "n_harmonics")
        mask = top_k_harmonics(torch.as_tensor(real_amp)[:, None].to(torch.complex128), k)
        idx = np.flatnonzero(mask[:, 0].numpy())
        ax.scatter(freqs[idx], real_amp[idx], marker="o", s=30, facecolors="none",
                   edgecolors="k", zorder=3, label=f"top {k} harmonics (real)")
    ax.set_xlabel("frequency (cycles per step)")
    ax.set_ylabel("amplitude")
    ax.set_title(f"Amplitude spectra: {label}")
    ax.legend(loc="upper right", fontsize="small")
    return ax


def plot_loss_curve(estimator, *, ax=None, logy=True):
    """The loss per iteration of a fitted distiller (``loss_curve_``) and its parts.

    Every fitted attribute ending in ``loss_curve_`` is drawn (e.g. HDT's
    ``grad_loss_curve_`` and ``harmonic_loss_curve_`` beside the total).

    Parameters
    ----------
    estimator : fitted distiller, or array-like of losses
    ax : matplotlib Axes, optional
    logy : bool, default=True
        Logarithmic loss axis (non-positive losses switch it off).

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skdd.plotting import plot_loss_curve
    >>> ax = plot_loss_curve([1.0, 0.5, 0.3, 0.25])
    >>> ax.get_ylabel()
    'loss'
    """
    if hasattr(estimator, "get_params"):
        curves = {name[:-1].replace("_", " "): np.asarray(value, dtype=float)
                  for name, value in sorted(vars(estimator).items())
                  if name.endswith("loss_curve_")}
        if "loss curve" not in curves:
            raise ValueError(f"{type(estimator).__name__} has no loss_curve_: fit it first.")
        title = f"{type(estimator).__name__}: loss per iteration"
    else:
        curves = {"loss curve": np.asarray(estimator, dtype=float).ravel()}
        title = "Loss per iteration"
    total = curves.pop("loss curve")
    if total.size == 0:
        raise ValueError("the loss curve is empty (a distiller without optimisation, e.g. "
                         "Random, records no losses).")
    ax = _axes(ax, (6, 3))
    ax.plot(np.arange(1, total.size + 1), total, color="k", lw=1.4, label="total")
    for i, (name, curve) in enumerate(curves.items()):
        if curve.size:
            ax.plot(np.arange(1, curve.size + 1), curve, lw=1.0, color=f"C{i}",
                    label=name.replace(" loss curve", ""))
    finite = np.concatenate([total, *curves.values()])
    if logy and np.all(finite[np.isfinite(finite)] > 0):
        ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss")
    ax.set_title(title)
    if curves:
        ax.legend(fontsize="small")
    return ax


def _rescale(images):
    """Each image to [0, 1] by its own min and max (constant images become 0.5)."""
    axes = tuple(range(1, images.ndim))
    low = images.min(axis=axes, keepdims=True)
    high = images.max(axis=axes, keepdims=True)
    span = np.where(high > low, high - low, 1.0)
    return np.where(high > low, (images - low) / span, 0.5)


def plot_prototypes(X, y=None, *, n_per_class=None, channel=0, ax=None):
    """A grid of synthetic samples, one row per class: images or series.

    Images ``(n, C, H, W)`` are tiled into one mosaic (each rescaled to its own range;
    RGB when C = 3, else the first channel in grey). Series ``(n, C, T)`` (or 2-D rows
    ``(n, T)``) are drawn as lines, one class per band, labelled by class.

    Parameters
    ----------
    X : array-like of shape (n, C, H, W), (n, C, T) or (n, T)
        E.g. ``distiller.X_syn_``.
    y : array-like of shape (n,), optional
        Class labels (e.g. ``distiller.y_syn_``); all samples form one row when None.
    n_per_class : int, optional
        Most samples shown per class (default all).
    channel : int, default=0
        Channel of series drawn (images use all three channels when C = 3).
    ax : matplotlib Axes, optional

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skdd.datasets import load_digits_images
    >>> from skdd.plotting import plot_prototypes
    >>> X, _, y, _ = load_digits_images()
    >>> ax = plot_prototypes(X[:40], y[:40], n_per_class=3)
    >>> [t.get_text() for t in ax.get_yticklabels()][:3]
    ['0', '1', '2']
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 2:
        X = X[:, None, :]
    if X.ndim not in (3, 4) or X.shape[0] == 0:
        raise ValueError(f"X must be images (n, C, H, W), series (n, C, T) or rows (n, T), got "
                         f"shape {X.shape}.")
    labels = np.zeros(len(X), dtype=int) if y is None else np.asarray(y)
    if labels.shape != (len(X),):
        raise ValueError(f"y must have shape ({len(X)},) to match X, got {labels.shape}.")
    limit = None if n_per_class is None else check_positive_int(n_per_class, "n_per_class")
    classes = np.unique(labels)
    rows = [np.flatnonzero(labels == c)[:limit] for c in classes]
    if X.ndim == 4:
        ax = _image_mosaic(X, rows, ax)
    else:
        ax = _series_bands(X, rows, channel, ax)
    ax.set_yticks(ax.get_yticks(), [str(c) for c in classes] if y is not None else [""])
    ax.set_ylabel("class" if y is not None else "")
    ax.set_title(f"{sum(map(len, rows))} synthetic samples"
                 + (f", {len(classes)} classes" if y is not None else ""))
    return ax


def _image_mosaic(X, rows, ax):
    n, C, H, W = X.shape
    rgb = C == 3
    images = _rescale(X if rgb else X[:, :1])
    n_cols = max(map(len, rows))
    pad = 1
    shape = (len(rows) * (H + pad) + pad, n_cols * (W + pad) + pad) + ((3,) if rgb else ())
    mosaic = np.ones(shape)
    for r, idx in enumerate(rows):
        for c, i in enumerate(idx):
            tile = images[i].transpose(1, 2, 0) if rgb else images[i, 0]
            top, left = pad + r * (H + pad), pad + c * (W + pad)
            mosaic[top:top + H, left:left + W] = tile
    ax = _axes(ax, (max(3.0, 0.5 * n_cols + 1), max(2.0, 0.5 * len(rows) + 1)))
    ax.imshow(mosaic, cmap=None if rgb else "gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([pad + r * (H + pad) + (H - 1) / 2 for r in range(len(rows))])
    return ax


def _series_bands(X, rows, channel, ax):
    if not -X.shape[1] <= channel < X.shape[1]:
        raise ValueError(f"channel={channel!r} is out of range for {X.shape[1]} channels.")
    values = X[:, channel, :]
    spread = float(np.ptp(values)) or 1.0
    ax = _axes(ax, (7, max(2.5, 0.8 * len(rows) + 1)))
    t = np.arange(values.shape[1])
    for r, idx in enumerate(rows):  # class r is centred at -1.2 * spread * r
        centred = values[idx] - values[idx].mean() - 1.2 * spread * r
        ax.plot(t, centred.T, color=f"C{r % 10}", lw=1.0, alpha=0.8)
    ax.set_yticks([-1.2 * spread * r for r in range(len(rows))])
    ax.set_xlabel("time step")
    return ax
