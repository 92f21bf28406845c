"""The main job on the embedded default: distil a generated seasonal series with every
registered forecasting distiller, train DLinear on each synthetic series, compare with
full-data training, and print a small table."""
from __future__ import annotations

import numpy as np

from ._forecast import run_forecast_benchmark
from ._progress import task_progress
from ._registry import FORECAST_DISTILLERS


def default_splits(seq_len=96):
    """Protocol splits (70/10/20) of the embedded default: 4000 steps, 4 channels."""
    from ..datasets import make_seasonal_series
    from ..forecasting import make_splits

    frame = make_seasonal_series(4000, 4, random_state=0, as_frame=True)
    return make_splits(frame, kind="custom", seq_len=seq_len, name="seasonal")


def run_demo(seeds=(0, 1, 2), length=384, seq_len=96, pred_len=96, eval_models=("dlinear",),
             distillers=None, log=None, progress=None, verbose=0):
    """Run every distiller (and the full-data reference) on the embedded default.

    ``progress=True`` shows one bar over every (distiller, seed) run; ``verbose`` is
    passed to the distillers (see :func:`run_forecast_benchmark`). The generated series has no recipes of its own, so the evaluation models use the
    dataset-independent recipes of protocol v1.

    Returns
    -------
    rows : list of dict
        One row per (distiller, model): mse/mae lists, gap closure and distillation time.
    """
    splits = default_splits(seq_len)
    names = list(distillers or FORECAST_DISTILLERS) + ["full"]
    with task_progress(progress, len(names) * len(seeds), "demo") as bar:
        results = {n: run_forecast_benchmark("seasonal", n, length=length, seq_len=seq_len,
                                             pred_len=pred_len, eval_models=eval_models,
                                             seeds=seeds, splits=splits, log=log,
                                             progress=bar, verbose=verbose,
                                             protocol="v1")
                   for n in names}
    rows = []
    for model in eval_models:
        rnd = np.mean(results["random"]["results"][model]["mse"]) if "random" in results else None
        full = np.mean(results["full"]["results"][model]["mse"])
        for n in names:
            mse = results[n]["results"][model]["mse"]
            gap = None
            if rnd is not None and rnd != full:
                gap = (rnd - np.mean(mse)) / (rnd - full)
            rows.append({"distiller": n, "model": model, "mse": mse,
                         "mae": results[n]["results"][model]["mae"], "gap_closure": gap,
                         "length": results[n]["length"],
                         "distill_seconds": float(np.mean(results[n]["distill_seconds"]))})
    return rows


def format_demo(rows):
    lines = [f"{'distiller':<12}{'model':<10}{'length':>7}{'MSE':>18}{'MAE':>18}{'gap closed':>12}"
             f"{'distill s':>11}"]
    for r in rows:
        mse, mae = np.asarray(r["mse"]), np.asarray(r["mae"])
        gap = "" if r["gap_closure"] is None else f"{100 * r['gap_closure']:.0f}%"
        lines.append(f"{r['distiller']:<12}{r['model']:<10}{r['length']:>7}"
                     f"{mse.mean():>11.3f} ± {mse.std():.3f}{mae.mean():>11.3f} ± {mae.std():.3f}"
                     f"{gap:>12}{r['distill_seconds']:>11.1f}")
    return "\n".join(lines)
