"""The ``tune`` task: rank scikit-learn candidates on distilled folds and on the full folds.

Per seed and model family (a grid of scikit-learn settings on flattened images), the same
stratified folds of the training split are searched four ways:

- ``full``: :class:`~sklearn.model_selection.GridSearchCV` on the real folds (the
  reference ranking);
- the distiller (e.g. ``dm``): :class:`skdd.model_selection.DistilledGridSearchCV`, each
  training fold distilled once at ``ipc`` samples per class (shared by all model
  families through ``memory``);
- ``random``: the same search with ``ipc`` random real samples per class;
- ``halving``: :func:`skdd.model_selection.budget_matched_halving` on the full data, at
  the training rows of the distilled search.

Each method's chosen setting is refit on the whole training split and scored on the test
split. Reported per model family: Spearman's rank correlation between the method's
cross-validated scores and the full search's, top-1 regret (test accuracy of the full
search's choice minus that of the method's choice, in % of the former), top-5 overlap
(shared settings among the five best, over 5), and wall time (the distilled searches
include their distillation; no search includes the final refit).
"""
from __future__ import annotations

import platform
import tempfile
import time

import numpy as np

from ._forecast import _pm, _versions
from ._registry import CLASSIFY_DISTILLERS

def _model_grids():
    """Model families: name -> (estimator, grid), for images flattened to [0, 1] pixels."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.svm import SVC

    return {
        "svc": (SVC(), {"C": [0.1, 1.0, 10.0, 100.0], "gamma": [0.001, 0.01, 0.1, 1.0]}),
        "logreg": (LogisticRegression(max_iter=2000),
                   {"C": [0.001, 0.01, 0.1, 1.0, 10.0, 100.0, 1000.0]}),
        "mlp": (MLPClassifier(max_iter=300, random_state=0),
                {"hidden_layer_sizes": [(64,), (256,)], "alpha": [1e-4, 1e-2, 1.0],
                 "learning_rate_init": [1e-3, 1e-2]}),
        "hgb": (HistGradientBoostingClassifier(random_state=0),
                {"learning_rate": [0.03, 0.1, 0.3], "max_leaf_nodes": [7, 31],
                 "min_samples_leaf": [1, 5, 20]}),
    }


MODELS = ("svc", "logreg", "mlp", "hgb")


def _flatten(X):
    return np.asarray(X).reshape(len(X), -1)


def _pipeline(estimator, grid):
    """``estimator`` behind a flattening step (the distillers see images), its grid
    prefixed accordingly."""
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    pipe = Pipeline([("flatten", FunctionTransformer(_flatten)), ("model", estimator)])
    return pipe, {f"model__{k}": v for k, v in grid.items()}


def _top(scores, k):
    """Indices of the ``k`` best scores (ties: the earlier candidate first)."""
    return set(np.argsort(-np.asarray(scores), kind="stable")[:k].tolist())


def rank_metrics(scores, reference):
    """Spearman's rho and top-5 overlap of ``scores`` against the ``reference`` scores."""
    from scipy.stats import spearmanr

    rho = spearmanr(scores, reference).statistic
    k = min(5, len(scores))
    return {"spearman": None if np.isnan(rho) else float(rho),
            "top5_overlap": len(_top(scores, k) & _top(reference, k)) / k}


def run_tune_benchmark(dataset="digits", distiller="dm", *, ipc=10, seeds=(0, 1, 2), cv=3,
                       models=MODELS, params=None, baselines=("random", "halving"),
                       device="cpu", data_home=None, log=print):
    """Run the ``tune`` task; returns a JSON-serialisable dict (see the module doc)."""
    from joblib import Memory
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    from ..model_selection import DistilledGridSearchCV, budget_matched_halving
    from ._classify import load_classification_splits

    X_train, X_test, y_train, y_test, name = load_classification_splits(dataset, data_home)
    grids = _model_grids()
    unknown = sorted(set(models) - set(grids))
    if unknown:
        raise ValueError(f"unknown models {unknown}; choose from {sorted(grids)}.")
    distillers = [distiller] + [b for b in baselines if b != "halving"]
    for d in distillers:
        if d not in CLASSIFY_DISTILLERS:
            raise ValueError(f"unknown distiller {d!r}; registered: {sorted(CLASSIFY_DISTILLERS)}")
    runs = []
    for seed in seeds:
        folds = StratifiedKFold(cv, shuffle=True, random_state=seed)
        run = {"seed": int(seed), "distill_seconds": {}, "models": {}}
        caches = {d: tempfile.TemporaryDirectory(prefix=f"skdd-tune-{d}-") for d in distillers}
        for model in models:
            pipe, grid = _pipeline(*grids[model])
            test_acc = {}

            def test_accuracy(index, candidates):
                if index not in test_acc:  # refit on the whole training split
                    est = clone(pipe).set_params(**candidates[index]).fit(X_train, y_train)
                    test_acc[index] = float(est.score(X_test, y_test))
                return test_acc[index]

            start = time.perf_counter()
            full = GridSearchCV(pipe, grid, cv=folds, refit=False).fit(X_train, y_train)
            full_seconds = time.perf_counter() - start
            candidates = full.cv_results_["params"]
            reference = full.cv_results_["mean_test_score"]
            out = {"candidates": [{k[len("model__"):]: v for k, v in p.items()}
                                  for p in candidates],
                   "full": {"scores": reference.tolist(), "seconds": full_seconds,
                            "best": int(full.best_index_)}}
            for d in distillers:
                kwargs = dict(params or {}) if d == distiller else {}
                est = CLASSIFY_DISTILLERS[d](ipc=ipc, random_state=seed, device=device, **kwargs)
                start = time.perf_counter()
                search = DistilledGridSearchCV(pipe, grid, est, cv=folds, refit=False,
                                               memory=Memory(caches[d].name, verbose=0))
                search.fit(X_train, y_train)
                seconds = time.perf_counter() - start - search.distill_time_.sum()
                run["distill_seconds"].setdefault(d, float(search.distill_time_.sum()))
                assert search.cv_results_["params"] == candidates
                out[d] = {"scores": search.cv_results_["mean_test_score"].tolist(),
                          "seconds": seconds + run["distill_seconds"][d],
                          "search_seconds": seconds, "best": int(search.best_index_),
                          "train_rows": search.n_train_rows_,
                          **rank_metrics(search.cv_results_["mean_test_score"], reference)}
            if "halving" in baselines:
                halving = budget_matched_halving(search, y_train, random_state=seed)
                start = time.perf_counter()
                halving.fit(X_train, y_train)
                best = candidates.index(halving.best_params_)
                out["halving"] = {"seconds": time.perf_counter() - start, "best": best,
                                  "min_resources": int(halving.min_resources),
                                  "train_rows": int(sum(
                                      n * r * (cv - 1) for n, r in
                                      zip(halving.n_candidates_, halving.n_resources_)))}
            for method in [m for m in out if m != "candidates"]:
                out[method]["test_accuracy"] = test_accuracy(out[method]["best"], candidates)
            ref = out["full"]["test_accuracy"]
            for method in [m for m in out if m not in ("candidates", "full")]:
                out[method]["regret_pct"] = 100.0 * (ref - out[method]["test_accuracy"]) / ref
                out[method]["speedup"] = out["full"]["seconds"] / out[method]["seconds"]
            run["models"][model] = out
            log(f"seed {seed} {model}: " + ", ".join(
                f"{m} rho={out[m].get('spearman')} regret={out[m].get('regret_pct', 0):.2f}% "
                f"{out[m]['seconds']:.1f}s" for m in out if m != "candidates"))
        for c in caches.values():
            c.cleanup()
        runs.append(run)
    return {"task": "tune", "dataset": name, "distiller": distiller, "ipc": ipc, "cv": cv,
            "params": params or {}, "baselines": list(baselines), "seeds": list(seeds),
            "models": list(models), "runs": runs, "versions": _versions(),
            "machine": platform.platform()}


def format_tune_table(result):
    """A plain-text table (mean ± std over seeds) of a ``tune`` result."""
    methods = [result["distiller"]] + list(result["baselines"])
    lines = [f"tune: {result['dataset']}, {result['distiller']} ipc {result['ipc']}, "
             f"{result['cv']}-fold, seeds {result['seeds']}",
             f"{'model':<8}{'method':<9}{'spearman':>16}{'regret %':>16}{'top-5':>14}"
             f"{'seconds':>18}{'full s':>16}"]
    for model in result["models"]:
        for method in methods:
            rows = [r["models"][model][method] for r in result["runs"]]
            full = [r["models"][model]["full"]["seconds"] for r in result["runs"]]

            def col(key, digits=2):
                vals = [r.get(key) for r in rows]
                if any(v is None for v in vals):
                    return "-"
                return _pm(vals, digits)

            lines.append(f"{model:<8}{method:<9}{col('spearman'):>16}{col('regret_pct'):>16}"
                         f"{col('top5_overlap'):>14}{col('seconds', 1):>18}"
                         f"{_pm(full, 1):>16}")
    return "\n".join(lines)


def tune_main(args):
    """Run the ``tune`` task from parsed arguments; returns the result dict."""
    result = run_tune_benchmark(
        args.dataset, args.distiller, ipc=args.ipc, seeds=args.seeds, cv=args.cv,
        models=args.models, params=args.params, baselines=args.baselines,
        device=args.device, data_home=args.data_home)
    print(format_tune_table(result))
    return result
