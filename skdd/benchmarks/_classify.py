"""The ``classify`` task: distil a labelled training split, train a fresh ConvNet on the
synthetic set with the protocol's fixed recipe, and score it on the real test split."""
from __future__ import annotations

import platform
import time

import numpy as np

from ._forecast import _pm, _versions
from ._progress import task_progress, track, with_verbose
from ._registry import CLASSIFY_DISTILLERS
from ..utils import is_main_process

#: Evaluation ConvNet settings per dataset (8x8 digits are too small for depth 3).
_EVAL_MODEL_KWARGS = {"digits": {"depth": 2}}


def load_classification_splits(dataset, data_home=None):
    """``(X_train, X_test, y_train, y_test, name)`` for "mnist10k", "digits" or a UCR/UEA
    set bundled with sktime (e.g. "GunPoint")."""
    from ..datasets import load_digits_images, load_mnist, load_ucr

    key = str(dataset).lower()
    if key in ("mnist10k", "mnist"):
        return (*load_mnist(data_home=data_home), "mnist10k")
    if key == "digits":
        return (*load_digits_images(), "digits")
    X_train, X_test, y_train, y_test = load_ucr(dataset)
    return X_train, X_test, y_train, y_test, str(dataset)


def _validation_split(X, y, seed=0, fraction=0.2):
    from sklearn.model_selection import train_test_split

    return train_test_split(X, y, test_size=fraction, stratify=y, random_state=seed)


#: Folds of ``eval_split="cv"`` (stratified, shuffled with a fixed seed).
CV_FOLDS = 5


def _cross_validate(dataset, distiller, *, splits, data_home, log, cache_dir, progress,
                    **kwargs):
    """``eval_split="cv"``: the protocol once per stratified fold of the training split,
    each fold's network scored on its held-out part; per seed, the accuracy and loss are
    pooled over all training samples (each scored once) and the seconds summed."""
    from sklearn.model_selection import StratifiedKFold

    X, _, y, _, data_name = splits if splits is not None else \
        load_classification_splits(dataset, data_home)
    smallest = int(np.unique(y, return_counts=True)[1].min())
    if smallest < CV_FOLDS:
        raise ValueError(f"eval_split='cv' needs at least {CV_FOLDS} training samples of every "
                         f"class (one per fold); the smallest class has {smallest}.")
    folds = StratifiedKFold(CV_FOLDS, shuffle=True, random_state=0).split(np.zeros(len(y)), y)
    runs, sizes = [], []
    with task_progress(progress, CV_FOLDS * len(kwargs["seeds"]),
                       f"classify {data_name} {distiller} cv") as bar:
        for f, (fit_idx, held_idx) in enumerate(folds):
            runs.append(_run_protocol(
                str(distiller).lower(), splits=(X[fit_idx], X[held_idx], y[fit_idx],
                                            y[held_idx], data_name),
                split_key=f"cv{f}of{CV_FOLDS}", log=log, cache_dir=cache_dir, progress=bar,
                **kwargs))
            sizes.append(len(held_idx))
    weights = np.asarray(sizes, dtype=float) / sum(sizes)
    result = runs[0]
    for key, scores in result["results"].items():
        for field in ("acc", "loss"):
            per_fold = np.array([run["results"][key][field] for run in runs])  # (folds, seeds)
            scores[field] = [float(v) for v in weights @ per_fold]
        scores["train_seconds"] = [float(v) for v in np.sum(
            [run["results"][key]["train_seconds"] for run in runs], axis=0)]
    result["distill_seconds"] = [float(v) for v in np.sum(
        [run["distill_seconds"] for run in runs], axis=0)]
    result["resumed"] = [any(r) for r in zip(*(run["resumed"] for run in runs))]
    if result.get("mean_drift"):  # per seed, the mean over the folds' distillations
        result["mean_drift"] = [float(v) for v in np.mean(
            [run["mean_drift"] for run in runs], axis=0)]
    result.update(eval_split="cv", cv_folds=CV_FOLDS, cv_held_out=sizes)
    return result


def run_classify_benchmark(dataset, distiller, *, ipc=1, objective=None, seeds=(0, 1, 2),
                           params=None, data_home=None, device="cpu", eval_split="test",
                           eval_model_kwargs=None, recipe=None, n_threads=None, splits=None,
                           log=print, soft_labels=False, cache_dir=None, progress=None,
                           verbose=0):
    """Run the classification protocol for one distiller and return the JSON-ready result.

    Parameters
    ----------
    dataset : str
        "mnist10k", "digits" or a bundled UCR/UEA name (ignored when ``splits`` is given).
    distiller : str
        A name in :data:`CLASSIFY_DISTILLERS`, or "full" (the whole training split with
        the full-data recipe).
    ipc : int
        Budget in real-size samples per class.
    objective : {"dc", "dm", "tm"}, optional
        FreD's matching objective (``fred`` only).
    seeds : sequence of int
        Each seed drives the distiller and the evaluation network's initialisation.
    params : dict, optional
        Extra distiller parameters.
    eval_split : {"test", "val", "cv"}
        "val" holds out 20% of the training split (stratified, fixed seed 0), distils on
        the rest and scores there: for choosing settings, never on the test split. "cv"
        runs the protocol on each of :data:`CV_FOLDS` stratified folds of the training
        split and pools the held-out scores, so every training sample is scored once
        (the choice for tiny training splits, where a 20% hold-out is a handful of
        samples).
    eval_model_kwargs : dict, optional
        ConvNet arguments of the evaluation network (default: width 128, depth 3; depth 2
        on 8x8 digits).
    recipe : dict, optional
        Overrides of the evaluation recipe's fields.
    splits : tuple, optional
        Pre-loaded ``(X_train, X_test, y_train, y_test, name)`` (tests).
    soft_labels : bool or "both", default=False
        Train the evaluation network on the distiller's soft labels ``y_soft_`` (its
        teacher's, e.g. ``cfm``, ``sre2l``) with knowledge distillation at the
        distiller's ``temperature`` (or the recipe's ``temperature`` when given).
        "both" trains two networks on one distillation: hard labels (``results["convnet"]``)
        and soft labels (``results["convnet_kd"]``). With an augmenting recipe
        (``recipe={"augment": "crop"}``) the distiller's teacher (``teacher_``) labels
        every augmented batch instead, as CFM's paper evaluates.
    cache_dir : str or path-like, optional
        Keep each distillation's checkpoint (and expert trajectories, teachers) there, so
        the same command resumes an interrupted run and reuses finished ones
        (:func:`skdd.benchmarks._cache.keep_work_in`; the evaluation trainings, the full-data
        row included, keep their progress there too); ``resumed`` in the result says
        which seeds continued from a checkpoint.
    progress : bool or tqdm bar, optional
        Show a bar over the seeds (and folds) (``True``), or advance an enclosing task's
        bar (:mod:`skdd.benchmarks._progress`); silent by default.
    verbose : int, default=0
        Passed to the distiller (its loop's progress bar at ``verbose>=1``).
    """
    name = str(distiller).lower()
    if name != "full" and name not in CLASSIFY_DISTILLERS:
        raise ValueError(f"distiller={distiller!r} is unknown; choose one of "
                         f"{sorted(CLASSIFY_DISTILLERS) + ['full']}.")
    if eval_split not in ("test", "val", "cv"):
        raise ValueError(f"eval_split={eval_split!r} must be 'test', 'val' or 'cv'.")
    if objective is not None and name != "fred":
        raise ValueError(f"objective={objective!r} applies to the 'fred' distiller only.")
    if soft_labels and name == "full":
        raise ValueError("soft_labels needs a distiller with a teacher (y_soft_), not 'full'.")
    kwargs = dict(ipc=ipc, objective=objective, seeds=seeds, params=params, device=device,
                  eval_model_kwargs=eval_model_kwargs, recipe=recipe, n_threads=n_threads,
                  soft_labels=soft_labels, verbose=verbose)
    if eval_split == "cv":
        return _cross_validate(dataset, distiller, splits=splits, data_home=data_home, log=log,
                               cache_dir=cache_dir, progress=progress, **kwargs)
    if splits is None:
        splits = load_classification_splits(dataset, data_home)
    if eval_split == "val":
        X_train, X_test, y_train, y_test, data_name = splits
        splits = (*_validation_split(X_train, y_train), data_name)
    return _run_protocol(name, splits=splits, split_key=eval_split, log=log,
                         cache_dir=cache_dir, progress=progress, **kwargs)


def _run_protocol(name, *, ipc, objective, seeds, params, device,
                  eval_model_kwargs, recipe, n_threads, soft_labels, splits, split_key, log,
                  cache_dir, progress=None, verbose=0):
    """The protocol on given ``(X_fit, X_score, y_fit, y_score, name)`` splits; ``split_key``
    names the split in cache keys and in the result's ``eval_split``."""
    from dataclasses import replace

    from ..classification import (evaluate_classifier, fit_classifier, get_recipe,
                                  intra_class_similarity)
    from ..utils import resolve_device, torch_threads
    from ._cache import keep_work_in, training_checkpoint

    eval_split = split_key
    params = dict(params or {})
    X_train, X_test, y_train, y_test, data_name = splits
    n_classes = int(len(np.unique(y_train)))
    dev = resolve_device(device)
    model_kwargs = dict(_EVAL_MODEL_KWARGS.get(data_name.lower(), {}), **(eval_model_kwargs or {}))
    data_kind = "full" if name == "full" else "synthetic"
    eval_recipe = replace(get_recipe("convnet", data_kind), **(recipe or {}))

    if soft_labels not in (False, True, "both"):
        raise ValueError(f"soft_labels must be False, True or 'both', got {soft_labels!r}.")
    # evaluation key -> trained on hard labels (False) or teacher soft labels (True)
    evaluations = {"convnet": soft_labels is True}
    if soft_labels == "both":
        evaluations["convnet_kd"] = True
    if not is_main_process():  # data-parallel distillation: rank 0 alone evaluates
        evaluations = {}
    results = {key: {"acc": [], "loss": [], "train_seconds": []} for key in evaluations}
    distill_seconds, n_syn, resumed = [], [], []
    extra = {"n_stored": [], "expert_buffer_bytes": [], "intra_class_similarity": [],
             "mean_drift": []}
    for seed in track(seeds, progress, f"classify {data_name} {name}", f"{split_key} seed {{}}"):
        start = time.perf_counter()
        y_soft, teacher, kd_recipe = None, None, eval_recipe
        if name == "full":
            X_syn, y_syn = X_train, y_train
            resumed.append(False)
        else:
            kwargs = dict(params)
            if objective is not None:
                kwargs["objective"] = objective
            est = CLASSIFY_DISTILLERS[name](ipc=ipc, random_state=seed, device=str(dev),
                                            **kwargs)
            resumed.append(keep_work_in(
                est, cache_dir, ["classify", data_name, name, objective, f"ipc{ipc}", eval_split,
                                 f"seed{seed}"], kwargs))
            X_syn, y_syn = with_verbose(est, verbose).fit_resample(X_train, y_train)
            extra["intra_class_similarity"].append(
                intra_class_similarity(X_syn, y_syn)
                if np.unique(y_syn, return_counts=True)[1].max() > 1 else None)
            extra["n_stored"].append(int(getattr(est, "n_stored_", np.asarray(X_syn).size)))
            if hasattr(est, "drift_"):
                extra["mean_drift"].append(float(np.mean(est.drift_)))
            if hasattr(est, "expert_buffer_bytes_"):
                extra["expert_buffer_bytes"].append(int(est.expert_buffer_bytes_))
            if soft_labels:
                if not hasattr(est, "y_soft_"):
                    raise ValueError(f"soft_labels: the {name!r} distiller has no teacher soft "
                                     "labels (y_soft_); use e.g. 'cfm' or 'sre2l'.")
                y_soft = est.y_soft_
                # under augmentation the teacher labels each augmented batch (as CFM's
                # paper does); without, its soft labels of the samples are the same thing
                if eval_recipe.augment != "none":
                    teacher = est.teacher_
                if "temperature" not in (recipe or {}):
                    kd_recipe = replace(eval_recipe, temperature=float(est.temperature))
        distill_seconds.append(time.perf_counter() - start)
        n_syn.append(int(len(y_syn)))
        for key, soft in evaluations.items():
            train_recipe = kd_recipe if soft else eval_recipe
            progress = training_checkpoint(
                cache_dir, ["classify", data_name, name, objective,
                            None if name == "full" else f"ipc{ipc}", eval_split, f"seed{seed}",
                            f"eval-{key}"],
                {"params": params, "recipe": train_recipe.as_dict(), "model": model_kwargs})
            if name == "full" and progress is not None:
                resumed[-1] = progress.exists()
            net, hist = fit_classifier(X_syn, y_soft if soft else y_syn, n_classes=n_classes,
                                       recipe=train_recipe, model_kwargs=model_kwargs,
                                       device=dev, random_state=seed, n_threads=n_threads,
                                       teacher=teacher if soft else None,
                                       checkpoint_path=progress)
            with torch_threads(n_threads, dev):  # the training's count, whatever the process's
                scores = evaluate_classifier(net, X_test, y_test)
            results[key]["acc"].append(scores["acc"])
            results[key]["loss"].append(scores["loss"])
            results[key]["train_seconds"].append(hist["train_seconds"])
            if log is not None:
                log(f"[{data_name} {name}{'-' + objective if objective else ''} ipc={ipc} "
                    f"seed={seed}] {key}{' (soft labels)' if soft else ''}: "
                    f"acc={scores['acc']:.4f} (distil {distill_seconds[-1]:.1f}s, train "
                    f"{hist['train_seconds']:.1f}s, {len(y_syn)} samples)")
        if soft_labels is True:
            eval_recipe = kd_recipe
    return {
        "task": "classify",
        "dataset": data_name,
        "distiller": name,
        "objective": objective,
        "soft_labels": soft_labels if soft_labels == "both" else bool(soft_labels),
        "ipc": ipc if name != "full" else None,
        "params": params,
        "seeds": list(seeds),
        "eval_split": eval_split,
        "eval_model": {"name": "convnet", **model_kwargs},
        "recipe": eval_recipe.as_dict(),
        "kd_recipe": kd_recipe.as_dict() if soft_labels == "both" else None,
        "n_synthetic": n_syn,
        "n_stored": extra["n_stored"],
        "n_real_floats_budget": (int(ipc * n_classes * np.prod(np.shape(X_train)[1:]))
                                 if name != "full" else None),
        "expert_buffer_bytes": extra["expert_buffer_bytes"],
        "intra_class_similarity": extra["intra_class_similarity"],
        "mean_drift": extra["mean_drift"],
        "distill_seconds": distill_seconds,
        "resumed": resumed,
        "results": results,
        "device": str(dev),
        "machine": platform.platform(),
        "versions": _versions(),
    }


def format_classify_table(result):
    """A plain-text summary (mean ± std over seeds) of a classify benchmark result."""
    label = result["distiller"] + (f"-{result['objective']}" if result.get("objective") else "")
    label += " (soft labels)" if result.get("soft_labels") is True else ""
    lines = [f"{result['dataset']}  {label}  ipc={result['ipc']}  split={result['eval_split']}  "
             f"seeds={result['seeds']}"]
    for key, r in result["results"].items():
        kind = " (soft labels)" if key.endswith("_kd") else ""
        lines.append(f"{key}{kind} acc {_pm(np.asarray(r['acc']) * 100, 1)} %   distil "
                     f"{np.mean(result['distill_seconds']):.1f}s   synthetic samples "
                     f"{result['n_synthetic'][0]}")
    return "\n".join(lines)
