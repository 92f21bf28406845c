"""The ``recipes`` task: choose protocol v2's synthetic-data recipes on the validation split.

For one dataset, every evaluation model is trained on the pooled distilled series (every
distiller of the table, each seed) for every learning rate of the grid, up to the largest
epoch count of the grid; the validation MSE is recorded at each epoch count of the grid
during that one run (the learning rate is constant, so stopping at an epoch count gives
the same model as a shorter run). The recipe of lowest mean validation MSE over the pooled
series is the "distilled" recipe of (dataset, model); the same over random segments gives
Random's own recipe. The test split is never used.
"""
from __future__ import annotations

import json
import time

import numpy as np

from ._forecast import EVAL_MODELS, _versions, distil_series

DEFAULT_DISTILLERS = ("mtt", "condtsf", "hdt-paper", "hdt")


def _validation_curve(model_name, series, splits, *, lr, epochs, seq_len, pred_len, seed,
                      device, n_threads):
    """Validation MSE after each epoch count in ``epochs`` of one constant-lr run."""
    from ..forecasting import TrainingRecipe, evaluate_forecaster, fit_forecaster

    wanted = set(int(e) for e in epochs)
    scores = {}

    def record(epoch, model):
        if epoch in wanted:
            scores[epoch] = evaluate_forecaster(model, splits.val, seq_len=seq_len,
                                                pred_len=pred_len)["mse"]

    recipe = TrainingRecipe(epochs=max(wanted), lr=float(lr), batch_size=32)
    fit_forecaster(model_name, series, seq_len=seq_len, pred_len=pred_len, recipe=recipe,
                   dataset=splits.name, device=device, random_state=seed, n_threads=n_threads,
                   on_epoch_end=record)
    return [scores[e] for e in sorted(wanted)]


def _curve_file(cache_dir, dataset, model, row, params, seed, lr, epochs, length, seq_len,
                pred_len):
    """Where a finished validation curve is kept (None without a cache folder)."""
    if cache_dir is None:
        return None
    from ._cache import _cache_folder, _run_name

    name = _run_name(["recipes", dataset, model, row, f"M{length}", f"{seq_len}-{pred_len}",
                      f"seed{seed}", f"lr{lr:g}"], {"params": params or {}, "epochs": epochs})
    return _cache_folder(cache_dir) / "recipes" / f"{name}.json"


def run_recipe_selection(dataset, *, distillers=DEFAULT_DISTILLERS, eval_models=EVAL_MODELS,
                         seeds=(0, 1, 2), epochs=None, lrs=None, length=384, seq_len=96,
                         pred_len=96, params=None, data_home=None, device="cpu", splits=None,
                         n_threads=None, cache_dir=None, log=print):
    """Choose the protocol v2 recipes of ``dataset`` and return the JSON-ready result.

    Parameters
    ----------
    dataset : str
    distillers : sequence of str
        The distilled rows of the table whose series are pooled ("random" is always
        evaluated too, for its own recipe).
    eval_models : sequence of str
    seeds : sequence of int
    epochs, lrs : sequences, default :data:`skdd.forecasting.RECIPE_EPOCHS`, ``RECIPE_LRS``
    params : dict, optional
        ``{distiller: {parameter: value}}`` extra distiller parameters.
    cache_dir : str, optional
        Shared with ``forecast --cache-dir``: the same distillations are reused, and each
        finished validation curve is kept in ``cache_dir/recipes/``, so an interrupted
        selection run with the same command redoes only what is missing.

    Returns
    -------
    dict
        ``grid[model][row]`` holds, per series (row, seed) and lr, the validation MSE at
        each epoch count; ``chosen[model]`` the "distilled" and "random" recipes with their
        mean validation MSE.
    """
    from ..forecasting import RECIPE_EPOCHS, RECIPE_LRS, load_forecasting_splits
    from ..utils import resolve_device

    epochs = sorted(int(e) for e in (epochs or RECIPE_EPOCHS))
    lrs = [float(v) for v in (lrs or RECIPE_LRS)]
    rows = ["random"] + [str(d).lower() for d in distillers if str(d).lower() != "random"]
    if len(rows) < 2:
        raise ValueError("distillers must name at least one distiller besides 'random'.")
    if splits is None:
        splits = load_forecasting_splits(dataset, seq_len=seq_len, data_home=data_home)
    dev = resolve_device(device)
    params = dict(params or {})
    series, seconds = {}, {}
    for row in rows:
        for seed in seeds:
            s, sec, _ = distil_series(splits, row, length=length, seq_len=seq_len,
                                      pred_len=pred_len, seed=seed, params=params.get(row),
                                      device=dev, cache_dir=cache_dir)
            series[row, seed], seconds[row, seed] = s, sec
            if log is not None:
                log(f"[{splits.name}] distilled {row} seed={seed} ({sec:.0f}s)")
    grid = {m: {row: {str(lr): [] for lr in lrs} for row in rows} for m in eval_models}
    for m in eval_models:
        for row in rows:
            for lr in lrs:
                for seed in seeds:
                    start = time.perf_counter()
                    kept = _curve_file(cache_dir, splits.name, m, row, params.get(row), seed, lr,
                                       epochs, length, seq_len, pred_len)
                    if kept is not None and kept.exists():
                        curve = json.loads(kept.read_text())["curve"]
                    else:
                        curve = _validation_curve(m, series[row, seed], splits, lr=lr,
                                                  epochs=epochs, seq_len=seq_len,
                                                  pred_len=pred_len, seed=seed, device=dev,
                                                  n_threads=n_threads)
                        if kept is not None:
                            kept.parent.mkdir(parents=True, exist_ok=True)
                            kept.write_text(json.dumps({"curve": curve}))
                    grid[m][row][str(lr)].append(curve)
                    if log is not None:
                        best = int(np.argmin(curve))
                        log(f"[{splits.name} {m}] {row} seed={seed} lr={lr:g}: best val "
                            f"{curve[best]:.4f} at {epochs[best]} epochs "
                            f"({time.perf_counter() - start:.0f}s)")
    chosen = {m: choose_recipes(grid[m], epochs, lrs) for m in eval_models}
    return {
        "task": "recipes",
        "dataset": splits.name,
        "distillers": rows[1:],
        "params": params,
        "seeds": list(seeds),
        "length": length,
        "seq_len": seq_len,
        "pred_len": pred_len,
        "epochs": epochs,
        "lrs": lrs,
        "grid": grid,
        "chosen": chosen,
        "distill_seconds": {f"{r}/{s}": v for (r, s), v in seconds.items()},
        "device": str(dev),
        "versions": _versions(),
    }


def choose_recipes(model_grid, epochs, lrs):
    """The (epochs, lr) of lowest mean validation MSE, over the pooled distilled rows
    ("distilled") and over the random segments ("random")."""
    def best(rows):
        means = np.array([[np.mean([np.asarray(model_grid[r][str(lr)])[:, i] for r in rows])
                           for i in range(len(epochs))] for lr in lrs])
        j, i = np.unravel_index(int(np.argmin(means)), means.shape)
        return {"epochs": int(epochs[i]), "lr": float(lrs[j]), "val_mse": float(means[j, i]),
                "mean_val_mse": {str(lr): [float(v) for v in means[jj]] for jj, lr in
                                 enumerate(lrs)}}

    distilled = [r for r in model_grid if r != "random"]
    return {"distilled": best(distilled), "random": best(["random"])}


def format_recipe_table(result):
    """The chosen recipes as lines of :data:`skdd.forecasting.SYNTHETIC_RECIPES_V2`."""
    lines = [f"# {result['dataset']}: distilled rows {result['distillers']}, seeds "
             f"{result['seeds']}, grid epochs {result['epochs']} x lr {result['lrs']}",
             f'"{result["dataset"]}": {{']
    for m, c in result["chosen"].items():
        d, r = c["distilled"], c["random"]
        lines.append(f'    "{m}": {{"distilled": _r({d["epochs"]}, {d["lr"]:g}), '
                     f'"random": _r({r["epochs"]}, {r["lr"]:g})}},  '
                     f'# val {d["val_mse"]:.4f} / {r["val_mse"]:.4f}')
    lines.append("},")
    return "\n".join(lines)
