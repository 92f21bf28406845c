"""The ``forecast`` task: distil the train split, train evaluation models on the
synthetic series with their fixed recipe, and score them on the real test split."""
from __future__ import annotations

import platform
import time

import numpy as np

from ._progress import track, with_verbose
from ._registry import FORECAST_DISTILLERS

EVAL_MODELS = ("dlinear", "itransformer", "xpatch", "patchtst")


def _versions():
    import sklearn
    import torch

    from .. import __version__

    return {"skdd": __version__, "numpy": np.__version__, "torch": torch.__version__,
            "scikit-learn": sklearn.__version__, "python": platform.python_version()}


def check_forecast_distiller(distiller):
    """The registry key of ``distiller`` (or "full"), else ValueError listing the names."""
    name = str(distiller).lower()
    if name != "full" and name not in FORECAST_DISTILLERS:
        raise ValueError(f"distiller={distiller!r} is unknown; choose one of "
                         f"{sorted(FORECAST_DISTILLERS) + ['full']}.")
    return name


def distil_series(splits, distiller, *, length, seq_len, pred_len, seed, params=None,
                  device="cpu", cache_dir=None, verbose=0):
    """Distil ``splits.train`` with the registered ``distiller`` at ``seed``.

    Returns ``(series, seconds, resumed)``: the synthetic series as float32, the wall time
    and whether the fit continued from a checkpoint in ``cache_dir``. The run is named by
    the dataset, distiller, length, windows and seed (not by the evaluation split, which a
    distillation never sees), so validation and test runs share one distillation.
    "full" returns the whole train split. ``verbose`` is passed to the distiller.
    """
    from ._cache import keep_work_in

    name = check_forecast_distiller(distiller)
    start = time.perf_counter()
    if name == "full":
        return splits.train, 0.0, False
    params = dict(params or {})
    est = FORECAST_DISTILLERS[name](length=length, seq_len=seq_len, pred_len=pred_len,
                                    random_state=seed, device=str(device), **params)
    resumed = keep_work_in(est, cache_dir, ["forecast", splits.name, name, f"M{length}",
                                            f"{seq_len}-{pred_len}", f"seed{seed}"], params)
    series = np.asarray(with_verbose(est, verbose).fit_resample(splits.train), dtype=np.float32)
    return series, time.perf_counter() - start, resumed


def data_kind(distiller):
    """The recipe kind of a row: "full", "random" (the gap's reference) or "synthetic"."""
    name = str(distiller).lower()
    return name if name in ("full", "random") else "synthetic"


def run_forecast_benchmark(dataset, distiller, *, length=384, seq_len=96, pred_len=96,
                           eval_models=EVAL_MODELS, seeds=(0, 1, 2), params=None,
                           data_home=None, device="cpu", eval_split="test", recipe=None,
                           splits=None, n_threads=None, log=print, cache_dir=None,
                           progress=None, verbose=0, protocol="v2"):
    """Run the forecasting protocol for one distiller and return the JSON-ready result.

    Parameters
    ----------
    dataset : str
        ETTh1, ETTh2, ETTm1, ETTm2 or a custom CSV name (ignored when ``splits`` is given).
    distiller : str
        A name in :data:`FORECAST_DISTILLERS`, or "full" for the full-data reference
        (the whole train split with the full-data recipe).
    length, seq_len, pred_len : int
    eval_models : sequence of str
    seeds : sequence of int
        Each seed drives the distiller and the evaluation models' initialisation.
    params : dict, optional
        Extra distiller parameters.
    eval_split : {"test", "val"}
        "val" scores on the validation split: used to choose recipes, never the test split.
    recipe : dict, optional
        Overrides of the evaluation recipe fields (e.g. ``{"epochs": 30}``), for recipe
        selection on the validation split.
    splits : ForecastingSplits, optional
        Pre-loaded splits (tests use small generated series).
    n_threads : int, optional
        Torch CPU threads of the evaluation models' training and scoring (default:
        ``SKDD_NUM_THREADS`` or 1), so the scores do not depend on the process's count.
    protocol : {"v1", "v2"}, default="v2"
        Which evaluation recipes (:func:`skdd.forecasting.get_recipe`): v2 per dataset
        and model, chosen on the validation split, with Random under its own recipe; v1
        one recipe per model for every dataset.
    cache_dir : str or path-like, optional
        Keep each distillation's checkpoint there, so the same command resumes an
        interrupted run and reuses finished ones
        (:func:`skdd.benchmarks._cache.keep_work_in`); ``resumed`` in the result says
        which seeds continued from a checkpoint.
    progress : bool or tqdm bar, optional
        Show a bar over the seeds (``True``), or advance an enclosing task's bar
        (:mod:`skdd.benchmarks._progress`); silent by default.
    verbose : int, default=0
        Passed to the distiller (its loop's progress bar at ``verbose>=1``).
    """
    from dataclasses import replace

    from ..forecasting import evaluate_forecaster, fit_forecaster, get_recipe, load_forecasting_splits
    from ..utils import check_option, resolve_device, torch_threads

    name = check_forecast_distiller(distiller)
    check_option(protocol, "protocol", ("v1", "v2"))
    if eval_split not in ("test", "val"):
        raise ValueError(f"eval_split={eval_split!r} must be 'test' or 'val'.")
    eval_models = [str(m).lower() for m in eval_models]
    params = dict(params or {})
    if splits is None:
        splits = load_forecasting_splits(dataset, seq_len=seq_len, data_home=data_home)
    dev = resolve_device(device)
    target = splits.test if eval_split == "test" else splits.val
    kind = data_kind(name)
    recipes = {m: replace(get_recipe(m, kind, protocol=protocol, dataset=splits.name),
                          **(recipe or {})) for m in eval_models}

    results = {m: {"mse": [], "mae": [], "train_seconds": [], "epochs": []} for m in eval_models}
    distill_seconds, resumed = [], []
    for seed in track(seeds, progress, f"forecast {splits.name} {name}", f"{name} seed {{}}"):
        train, seconds, was_resumed = distil_series(
            splits, name, length=length, seq_len=seq_len, pred_len=pred_len, seed=seed,
            params=params, device=dev, cache_dir=cache_dir, verbose=verbose)
        distill_seconds.append(seconds)
        resumed.append(was_resumed)
        for m in eval_models:
            model, hist = fit_forecaster(
                m, train, seq_len=seq_len, pred_len=pred_len, recipe=recipes[m],
                val=splits.val if kind == "full" else None, dataset=splits.name,
                device=dev, random_state=seed, n_threads=n_threads)
            with torch_threads(n_threads, dev):  # the training's count, whatever the process's
                scores = evaluate_forecaster(model, target, seq_len=seq_len, pred_len=pred_len)
            results[m]["mse"].append(scores["mse"])
            results[m]["mae"].append(scores["mae"])
            results[m]["train_seconds"].append(hist["train_seconds"])
            results[m]["epochs"].append(hist["epochs"])
            if log is not None:
                log(f"[{splits.name} {name} seed={seed}] {m}: mse={scores['mse']:.4f} "
                    f"mae={scores['mae']:.4f} ({hist['train_seconds']:.1f}s, {hist['epochs']} epochs)")
    return {
        "task": "forecast",
        "dataset": splits.name,
        "distiller": name,
        "params": params,
        "seq_len": seq_len,
        "pred_len": pred_len,
        "length": length if name != "full" else int(splits.train.shape[0]),
        "seeds": list(seeds),
        "eval_split": eval_split,
        "protocol": protocol,
        "recipes": {m: recipes[m].as_dict() for m in eval_models},
        "distill_seconds": distill_seconds,
        "resumed": resumed,
        "results": results,
        "device": str(dev),
        "machine": platform.platform(),
        "versions": _versions(),
    }


def _pm(values, digits=3):
    v = np.asarray(values, dtype=float)
    return f"{v.mean():.{digits}f} ± {v.std():.{digits}f}"


def format_forecast_table(result):
    """A plain-text table (mean ± std over seeds) of a forecast benchmark result."""
    head = (f"{result['dataset']}  distiller={result['distiller']}  length={result['length']}  "
            f"{result['seq_len']}/{result['pred_len']}  split={result.get('eval_split', 'test')}  "
            f"seeds={result['seeds']}")
    rows = [head, f"{'model':<14}{'MSE':>18}{'MAE':>18}{'train s':>12}"]
    for model, r in result["results"].items():
        rows.append(f"{model:<14}{_pm(r['mse']):>18}{_pm(r['mae']):>18}"
                    f"{np.mean(r['train_seconds']):>12.1f}")
    return "\n".join(rows)
