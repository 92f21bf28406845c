"""Keep a benchmark's expensive work on disk: ``--cache-dir`` of ``forecast``, ``classify``
and ``fidelity``.

A CPU run of MNIST or of HDT at M = 1536 takes tens of minutes per seed. With a cache
folder, each distillation writes its loop's checkpoint there (every ``checkpoint_every``
updates, at least every :data:`skdd.base.CHECKPOINT_SECONDS`, and on Ctrl-C or SIGTERM,
which the command line turns into an interrupt), so a killed or interrupted run resumes
where it stopped when the same command is run again, and a finished distillation is not
redone. Distillers that train expert trajectories (``expert_cache``) or a teacher
(``teacher_cache``) keep those in the same folder, shared by every run that asks for the
same ones.

The evaluation networks' trainings (``classify``: the full-data row is about 25 minutes
per seed on MNIST here) keep their progress in ``DIR/checkpoints/<run>-eval-<key>.pt`` the
same way (:func:`training_checkpoint`).

Layout: ``DIR/checkpoints/<run>.pt``, ``DIR/experts/``, ``DIR/teachers/``. The run's
name holds the task, dataset, distiller, budget, split, seed and a digest of the
parameters; the checkpoint itself also records a fingerprint of the parameters and of the
training data and refuses to resume another fit.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

__all__ = ["keep_work_in", "training_checkpoint"]

#: distiller parameter -> sub-folder of the cache that holds it
_SHARED_CACHES = {"expert_cache": "experts", "teacher_cache": "teachers"}


def _cache_folder(cache_dir):
    folder = Path(os.fspath(cache_dir))
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"cache_dir={os.fspath(cache_dir)!r} is a file; expected a folder "
                         "(it is created when missing).")
    return folder


#: distiller parameters that change how a fit runs, not its result: left out of run names,
#: so a run resumes under another value
RUN_ONLY_PARAMS = ("n_jobs",)


def without_run_only(params):
    """``params`` without :data:`RUN_ONLY_PARAMS`, also inside a nested ``"params"``."""
    out = {k: v for k, v in params.items() if k not in RUN_ONLY_PARAMS}
    if isinstance(out.get("params"), dict):
        out["params"] = without_run_only(out["params"])
    return out


def _run_name(parts, params):
    params = without_run_only(params)
    digest = hashlib.sha1(json.dumps(params, sort_keys=True, default=repr).encode()).hexdigest()
    return "-".join(str(p) for p in parts if p is not None) + f"-{digest[:12]}"


def keep_work_in(est, cache_dir, parts, params):
    """Point ``est``'s checkpoint (and expert/teacher caches) into ``cache_dir``.

    Parameters
    ----------
    est : distiller
        Unfitted; changed in place with ``set_params``.
    cache_dir : str or path-like or None
        None leaves ``est`` as it is.
    parts : sequence
        What names the run (task, dataset, distiller, budget, split, seed); None entries
        are skipped.
    params : dict
        The parameters given by the user. Those win: a ``checkpoint_path``,
        ``expert_cache`` or ``teacher_cache`` among them is kept.

    Returns
    -------
    resumed : bool
        Whether a checkpoint of this run was already there (the fit continues from it;
        its wall time then covers only the remaining part).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from skdd.classification import DMDistiller
    >>> from skdd.benchmarks._cache import keep_work_in
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     dm = DMDistiller(ipc=1)
    ...     resumed = keep_work_in(dm, folder, ["classify", "digits", "dm", "ipc1", "seed0"], {})
    ...     name = Path(dm.checkpoint_path).name
    >>> resumed, name.startswith("classify-digits-dm-ipc1-seed0-"), name.endswith(".pt")
    (False, True, True)
    """
    if cache_dir is None:
        return False
    folder = _cache_folder(cache_dir)
    available = est.get_params(deep=False)
    if "checkpoint_path" not in available:
        return False
    updates = {}
    for name, sub in _SHARED_CACHES.items():
        if name in available and name not in params:
            updates[name] = str(folder / sub)
    path = params.get("checkpoint_path")
    if path is None:
        path = str(folder / "checkpoints" / f"{_run_name(parts, params)}.pt")
        updates["checkpoint_path"] = path
    est.set_params(**updates)
    path = Path(os.fspath(path))
    # estimators with several stages write "<path>.<stage>" files (TimeVQVAE)
    return path.exists() or any(p.suffix != ".tmp" for p in path.parent.glob(path.name + ".*"))


def training_checkpoint(cache_dir, parts, params):
    """Where a benchmark keeps the progress of one evaluation training, or None.

    ``parts`` and ``params`` name the run as in :func:`keep_work_in` (include everything
    that changes the training: the evaluation key, recipe overrides, model arguments);
    the file goes to ``cache_dir/checkpoints/`` and is passed to
    :func:`skdd.classification.fit_classifier` as ``checkpoint_path``.

    Examples
    --------
    >>> from skdd.benchmarks._cache import training_checkpoint
    >>> training_checkpoint(None, ["classify", "digits", "full", "seed0"], {}) is None
    True
    >>> training_checkpoint("cache", ["classify", "digits", "full", "seed0", "eval-convnet"],
    ...                     {}).parent.name
    'checkpoints'
    """
    if cache_dir is None:
        return None
    folder = _cache_folder(cache_dir)
    return folder / "checkpoints" / f"{_run_name(parts, params)}.pt"
