"""The ``tune-forecast`` task: rank forecasting settings on a distilled series against the
full train split.

Per seed, every setting of a grid over an evaluation model's training recipe and
architecture (for DLinear: learning rate × epochs × moving-average kernel, 24 settings)
is trained

- on the full train split (``full``: the reference search), and
- on the train split distilled once to a length-M series by the distiller (e.g. ``hdt``),
  and on a random segment of the same length (``random``, the cheap baseline),

and scored by its MSE on the real validation split. Each search's choice (lowest
validation MSE) is then refit on the full train split and scored on the test split: the
full-data fit of every setting is that refit, so it is trained once. Reported per method:
Spearman's rank correlation between the method's validation MSEs and the full search's,
top-1 regret (test MSE of the method's choice over that of the full search's choice,
minus one, in %), top-5 overlap (shared settings among the five best, over 5), and the
wall time of the whole search: the distillation, the candidate fits and the refit of the
choice against the full search's candidate fits.

Every candidate trains with the same recipe family (Adam, batch 32, constant learning
rate, no early stopping), so a setting means the same thing on either data.
"""
from __future__ import annotations

import itertools
import platform
import time

import numpy as np

from ._forecast import _pm, _versions, distil_series
from ._tune import rank_metrics

#: model -> (recipe grid, architecture grid): the candidates are their product
FORECAST_GRIDS = {
    "dlinear": ({"lr": [1e-4, 3e-4, 1e-3, 3e-3], "epochs": [5, 10, 20]},
                {"moving_avg": [13, 25]}),
    "itransformer": ({"lr": [1e-4, 3e-4, 1e-3], "epochs": [5, 10]},
                     {"d_model": [64, 256], "dropout": [0.0, 0.1]}),
}


#: model -> architecture grid searched with ``recipes="protocol"`` (each data kind trains
#: with its own protocol recipe, :func:`skdd.forecasting.get_recipe`)
ARCHITECTURE_GRIDS = {
    "itransformer": {"d_model": [64, 128, 256], "n_layers": [1, 2], "dropout": [0.0, 0.1],
                     "n_heads": [4, 8]},
}


def forecast_candidates(model, recipes="grid"):
    """The settings of ``model``'s grid: a list of ``{"recipe": {...}, "model": {...}}``
    (``recipes="protocol"``: the architecture grid, with empty recipes)."""
    grids = FORECAST_GRIDS if recipes == "grid" else {
        m: ({}, g) for m, g in ARCHITECTURE_GRIDS.items()}
    if model not in grids:
        raise ValueError(f"model={model!r} has no tuning grid; choose one of "
                         f"{sorted(grids)}.")
    recipe_grid, model_grid = grids[model]
    out = []
    for r in itertools.product(*recipe_grid.values()):
        for m in itertools.product(*model_grid.values()):
            out.append({"recipe": dict(zip(recipe_grid, r)), "model": dict(zip(model_grid, m))})
    return out


def run_forecast_tune(dataset="ETTh1", distiller="hdt", *, model="dlinear", seeds=(0, 1, 2),
                      baselines=("random",), length=384, seq_len=96, pred_len=96, params=None,
                      updates="epochs", recipes="grid", protocol="v2", device="cpu",
                      n_threads=None,
                      data_home=None, cache_dir=None, splits=None, candidates=None, log=print):
    """Run the ``tune-forecast`` task; returns a JSON-serialisable dict (module doc).

    ``updates="matched"`` trains each candidate on a distilled series for as many
    optimiser updates as on the full train split (its epochs times the ratio of the
    full split's batches per epoch to the series'), instead of for the same number of
    epochs (``"epochs"``). ``recipes="protocol"`` searches the model's architecture grid
    (:data:`ARCHITECTURE_GRIDS`) and trains every candidate with the ``protocol`` recipe of
    its data kind (the full-data recipe, with early stopping on the validation split, on
    the full split; the synthetic or random-segment recipe on a series), as the benchmark
    runner does. ``candidates`` replaces the model's grid (tests use a small one);
    ``splits`` replaces loading ``dataset``.
    """
    from ..forecasting import (TrainingRecipe, evaluate_forecaster, fit_forecaster,
                               get_recipe, load_forecasting_splits, n_windows)
    from ..utils import check_option
    from ._registry import FORECAST_DISTILLERS

    from ._forecast import data_kind

    check_option(recipes, "recipes", ("grid", "protocol"))
    candidates = (forecast_candidates(model, recipes) if candidates is None
                  else list(candidates))
    if len(candidates) < 2:
        raise ValueError("a search needs at least two candidates.")
    methods = [distiller, *baselines]
    for m in methods:
        if m not in FORECAST_DISTILLERS:
            raise ValueError(f"unknown distiller {m!r}; registered: {sorted(FORECAST_DISTILLERS)}")
    if splits is None:
        splits = load_forecasting_splits(dataset, seq_len=seq_len, data_home=data_home)
    win = dict(seq_len=seq_len, pred_len=pred_len)

    check_option(updates, "updates", ("epochs", "matched"))
    full_batches = -(-n_windows(len(splits.train), seq_len, pred_len) // 32)

    def train(series, cand, seed, kind="full"):
        val = None
        if recipes == "protocol":
            recipe = get_recipe(model, kind, protocol=protocol, dataset=splits.name)
            val = splits.val if kind == "full" else None
        else:
            recipe = dict(cand["recipe"])
            if updates == "matched" and len(series) != len(splits.train):
                batches = -(-n_windows(len(series), seq_len, pred_len) // 32)
                recipe["epochs"] = max(1, round(recipe["epochs"] * full_batches / batches))
            recipe = TrainingRecipe(batch_size=32, **recipe)
        start = time.perf_counter()
        net, _ = fit_forecaster(model, series, recipe=recipe, model_kwargs=cand["model"],
                                dataset=splits.name, device=device, random_state=seed,
                                n_threads=n_threads, val=val, **win)
        val = evaluate_forecaster(net, splits.val, **win)["mse"]
        return net, val, time.perf_counter() - start

    runs = []
    for seed in seeds:
        full_val, full_test, full_sec = [], [], []
        for cand in candidates:
            net, val, sec = train(splits.train, cand, seed)
            full_val.append(val)
            full_sec.append(sec)
            full_test.append(evaluate_forecaster(net, splits.test, **win)["mse"])
        best_full = int(np.argmin(full_val))
        out = {"full": {"val_mse": full_val, "test_mse": full_test, "best": best_full,
                        "seconds": float(sum(full_sec)),
                        "test_mse_of_choice": full_test[best_full]}}
        for m in methods:
            series, distill_seconds, _ = distil_series(
                splits, m, length=length, seed=seed, params=(params or {}) if m == distiller
                else {}, device=device, cache_dir=cache_dir, **win)
            vals, secs = [], []
            for cand in candidates:
                _, val, sec = train(series, cand, seed, data_kind(m))
                vals.append(val)
                secs.append(sec)
            best = int(np.argmin(vals))
            choice = full_test[best]
            seconds = distill_seconds + sum(secs) + full_sec[best]  # + the refit on full
            out[m] = {"val_mse": vals, "best": best, "test_mse_of_choice": choice,
                      "distill_seconds": float(distill_seconds),
                      "search_seconds": float(sum(secs)), "seconds": float(seconds),
                      "regret_pct": 100.0 * (choice / full_test[best_full] - 1.0),
                      "speedup": float(sum(full_sec)) / seconds,
                      **rank_metrics(-np.asarray(vals), -np.asarray(full_val))}
            if log is not None:
                log(f"[{splits.name} {model} seed={seed}] {m}: rho={out[m]['spearman']:.3f} "
                    f"regret={out[m]['regret_pct']:.2f}% top5={out[m]['top5_overlap']:.1f} "
                    f"{seconds:.0f}s vs full {sum(full_sec):.0f}s")
        runs.append({"seed": int(seed), "methods": out})
    return {"task": "tune-forecast", "dataset": splits.name, "model": model,
            "distiller": distiller, "baselines": list(baselines), "length": length,
            "seq_len": seq_len, "pred_len": pred_len, "params": params or {},
            "updates": updates, "recipes": recipes,
            "protocol": protocol if recipes == "protocol" else None,
            "seeds": list(seeds), "candidates": candidates, "runs": runs,
            "versions": _versions(), "machine": platform.platform()}


def format_forecast_tune_table(result):
    """A plain-text table (mean ± std over seeds) of a ``tune-forecast`` result."""
    lines = [f"tune-forecast: {result['dataset']} {result['model']}, "
             f"{len(result['candidates'])} settings, M = {result['length']}, "
             + (f"{result.get('updates', 'epochs')} on the series, "
                if result.get("recipes", "grid") == "grid" else "protocol recipes, ") +
             f"seeds {result['seeds']}",
             f"{'method':<10}{'spearman':>16}{'regret %':>16}{'top-5':>14}{'seconds':>18}"
             f"{'speed-up':>14}"]
    full = [r["methods"]["full"]["seconds"] for r in result["runs"]]
    for method in [result["distiller"], *result["baselines"]]:
        rows = [r["methods"][method] for r in result["runs"]]

        def col(key, digits=2):
            return _pm([r[key] for r in rows], digits)

        lines.append(f"{method:<10}{col('spearman'):>16}{col('regret_pct'):>16}"
                     f"{col('top5_overlap'):>14}{col('seconds', 1):>18}{col('speedup', 1):>14}")
    lines.append(f"{'full':<10}{'':>16}{'':>16}{'':>14}{_pm(full, 1):>18}")
    return "\n".join(lines)
