"""The ``suite`` task: every row × dataset × seed of a declarative spec, in parallel.

A suite spec is a JSON object::

    {
      "description": "what the suite reproduces (one line)",
      "defaults": {"task": "forecast", "seeds": [0, 1, 2], "eval_split": "test"},
      "rows": [
        {"name": "hdt", "distiller": "hdt", "datasets": ["ETTh1", "ETTh2"],
         "json": "v2/test/{dataset}_{name}.json"},
        ...
      ]
    }

Each row is one command of ``forecast`` or ``classify`` (the ``task`` field) written as
fields (:data:`ROW_FIELDS` lists them per task; ``defaults`` fill what a row leaves out),
run on each of its ``datasets`` (or one ``dataset``) for each seed. ``json`` is where the
row's result goes, relative to ``--out``, with ``{dataset}``, ``{name}`` and ``{ipc}``
filled in (default ``{dataset}_{name}.json``).

:func:`check_suite` validates the whole spec before anything runs: an unknown task,
field, distiller, dataset, evaluation model, recipe field or distiller parameter raises
:class:`SuiteSpecError` naming the row and the field. :func:`run_suite` then expands the
rows into (row, dataset, seed) units, runs the missing ones as parallel joblib tasks
(:func:`skdd.utils._parallel.parallel_imap`), keeps each unit's single-seed result in
``CACHE/suite/`` as soon as it is done (and each distillation's checkpoint in
``CACHE/checkpoints/``, as ``--cache-dir`` does), so a killed suite run again reruns only
the missing units, merges each row's units with :func:`~skdd.benchmarks._merge.merge_seed_runs`
into the JSON one serial ``--seeds`` run writes, and returns the written paths.

The specs of the documented tables ship in ``skdd/benchmarks/suites/`` and are named by
their file name without ``.json`` (:func:`available_suites`).
"""
from __future__ import annotations

import hashlib
import json
import numbers
import os
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["SuiteSpecError", "ROW_FIELDS", "available_suites", "load_suite", "check_suite",
           "suite_units", "run_suite"]

#: The folder of the suites shipped with the package.
SUITES_DIR = Path(__file__).with_name("suites")

_COMMON = ("task", "name", "dataset", "datasets", "distiller", "params", "seeds",
           "eval_split", "recipe", "json")
#: Fields a row of each task may have.
ROW_FIELDS = {
    "forecast": _COMMON + ("eval", "length", "seq_len", "pred_len", "protocol"),
    "classify": _COMMON + ("ipc", "objective", "eval_model", "soft_labels"),
}
_TOP_FIELDS = ("description", "defaults", "rows")
_DEFAULTS = {
    "forecast": {"params": {}, "seeds": [0, 1, 2], "eval_split": "test", "recipe": {},
                 "eval": None, "length": 384, "seq_len": 96, "pred_len": 96,
                 "protocol": "v2", "json": "{dataset}_{name}.json"},
    "classify": {"params": {}, "seeds": [0, 1, 2], "eval_split": "test", "recipe": {},
                 "ipc": 1, "objective": None, "eval_model": {}, "soft_labels": False,
                 "json": "{dataset}_{name}_ipc{ipc}.json"},
}


class SuiteSpecError(ValueError):
    """A suite spec that cannot run: the message names the row and the field."""


def available_suites():
    """Names of the suite specs shipped in ``skdd/benchmarks/suites/``."""
    return sorted(p.stem for p in SUITES_DIR.glob("*.json"))


def load_suite(spec):
    """``(spec_dict, source)`` from a spec path, a shipped suite's name or a dict."""
    if isinstance(spec, dict):
        return spec, "<dict>"
    path = Path(os.fspath(spec))
    if not path.exists() and (SUITES_DIR / f"{spec}.json").exists():
        path = SUITES_DIR / f"{spec}.json"
    if not path.is_file():
        raise SuiteSpecError(f"suite {os.fspath(spec)!r} is neither a JSON file nor one of "
                             f"the shipped suites ({', '.join(available_suites())}).")
    try:
        with open(path) as fh:
            return json.load(fh), str(path)
    except json.JSONDecodeError as exc:
        raise SuiteSpecError(f"suite {str(path)!r} is not valid JSON: {exc}") from None


@dataclass
class Row:
    """One validated row: ``task`` and the runner's arguments but ``seeds``."""

    index: int
    name: str
    task: str
    datasets: list
    seeds: list
    json: str
    kwargs: dict = field(default_factory=dict)


def _is_int(value, minimum=1):
    return (isinstance(value, numbers.Integral) and not isinstance(value, bool)
            and value >= minimum)


def check_suite(spec, source="<dict>", data_home=None):
    """Validate a suite spec; return its rows (:class:`Row`) or raise :class:`SuiteSpecError`.

    Every row is checked before anything runs: the task, the fields allowed for it, the
    distiller (and its parameters, by building the distiller), the datasets, the
    evaluation models and their recipes, the seeds, and that no two rows write the same
    JSON file.
    """
    if not isinstance(spec, dict):
        raise SuiteSpecError(f"suite {source}: expected a JSON object with 'rows', got "
                             f"{type(spec).__name__}.")
    extra = sorted(set(spec) - set(_TOP_FIELDS))
    if extra:
        raise SuiteSpecError(f"suite {source}: unknown top-level field(s) {extra}; expected "
                             f"{list(_TOP_FIELDS)}.")
    rows = spec.get("rows")
    if not isinstance(rows, list) or not rows:
        raise SuiteSpecError(f"suite {source}: 'rows' must be a non-empty list of objects.")
    defaults = spec.get("defaults", {})
    if not isinstance(defaults, dict):
        raise SuiteSpecError(f"suite {source}: 'defaults' must be an object.")
    checked, outputs = [], {}
    for i, raw in enumerate(rows):
        if not isinstance(raw, dict):
            raise SuiteSpecError(f"suite {source}: row {i}: expected an object, got "
                                 f"{type(raw).__name__}.")
        row = _check_row(i, {**defaults, **raw}, source, data_home)
        for dataset in row.datasets:
            out = _output_name(row, dataset)
            if out in outputs:
                raise SuiteSpecError(f"suite {source}: row {i} ({row.name}): field 'json': "
                                     f"{out!r} is also written by row {outputs[out]}.")
            outputs[out] = i
        checked.append(row)
    return checked


def _check_row(i, row, source, data_home):
    from ._registry import CLASSIFY_DISTILLERS, FORECAST_DISTILLERS

    label = f"row {i} ({row.get('name') or row.get('distiller', '?')})"

    def fail(name, message):
        raise SuiteSpecError(f"suite {source}: {label}: field {name!r}: {message}")

    task = row.get("task")
    if task not in ROW_FIELDS:
        fail("task", f"{task!r} is unknown; choose one of {sorted(ROW_FIELDS)}.")
    unknown = sorted(set(row) - set(ROW_FIELDS[task]))
    if unknown:
        fail(unknown[0], f"unknown field for a {task} row; the fields are "
                         f"{list(ROW_FIELDS[task])}.")
    row = {**_DEFAULTS[task], **row}
    registry = FORECAST_DISTILLERS if task == "forecast" else CLASSIFY_DISTILLERS
    distiller = str(row.get("distiller", "")).lower()
    if distiller != "full" and distiller not in registry:
        fail("distiller", f"{row.get('distiller')!r} is unknown; choose one of "
                          f"{sorted(registry) + ['full']}.")
    name = row.get("name", distiller)
    if not isinstance(name, str) or not name:
        fail("name", f"expected a non-empty string, got {name!r}.")
    if "dataset" in row and "datasets" in row:
        fail("datasets", "give 'dataset' or 'datasets', not both.")
    datasets = row.get("datasets", [row["dataset"]] if "dataset" in row else None)
    datasets = list(datasets) if isinstance(datasets, list) else datasets
    if (not isinstance(datasets, list) or not datasets
            or not all(isinstance(d, str) and d for d in datasets)):
        fail("datasets", f"expected a non-empty list of dataset names, got {datasets!r}.")
    seeds = row["seeds"]
    if (not isinstance(seeds, list) or not seeds or not all(_is_int(s, 0) for s in seeds)
            or len(set(seeds)) != len(seeds)):
        fail("seeds", f"expected a non-empty list of distinct integers >= 0, got {seeds!r}.")
    for key in ("params", "recipe") + (("eval_model",) if task == "classify" else ()):
        if not isinstance(row[key], dict):
            fail(key, f"expected a JSON object, got {row[key]!r}.")
    if not isinstance(row["json"], str) or not row["json"].endswith(".json"):
        fail("json", f"expected a path ending in .json, got {row['json']!r}.")
    check = _check_forecast_row if task == "forecast" else _check_classify_row
    kwargs = check(row, distiller, datasets, fail, data_home)
    out = Row(index=i, name=name, task=task, datasets=datasets, seeds=list(seeds),
              json=row["json"], kwargs=kwargs)
    try:
        for dataset in datasets:
            _output_name(out, dataset)
    except (KeyError, IndexError, ValueError) as exc:
        fail("json", f"{row['json']!r} has an unknown placeholder ({exc}); use {{dataset}}, "
                     "{name}, {ipc}.")
    return out


def _check_forecast_row(row, distiller, datasets, fail, data_home):
    from dataclasses import replace

    from ..forecasting import SYNTHETIC_RECIPES, get_recipe
    from ..forecasting._protocol import ETT_NAMES
    from ._forecast import EVAL_MODELS, data_kind
    from ._registry import FORECAST_DISTILLERS

    for key in ("length", "seq_len", "pred_len"):
        if not _is_int(row[key]):
            fail(key, f"expected an integer >= 1, got {row[key]!r}.")
    if row["eval_split"] not in ("test", "val"):
        fail("eval_split", f"{row['eval_split']!r} must be 'test' or 'val'.")
    if row["protocol"] not in ("v1", "v2"):
        fail("protocol", f"{row['protocol']!r} must be 'v1' or 'v2'.")
    models = list(EVAL_MODELS) if row["eval"] is None else row["eval"]
    if not isinstance(models, list) or not models:
        fail("eval", f"expected a non-empty list of evaluation models, got {models!r}.")
    for m in models:
        if str(m).lower() not in SYNTHETIC_RECIPES:
            fail("eval", f"{m!r} is unknown; choose from {sorted(SYNTHETIC_RECIPES)}.")
    models = [str(m).lower() for m in models]
    known = {n.lower(): n for n in (*ETT_NAMES, "seasonal")}
    for j, dataset in enumerate(datasets):
        if dataset.lower() in known:
            datasets[j] = known[dataset.lower()]
        elif not _custom_csv_exists(dataset, data_home):
            fail("datasets", f"{dataset!r} is unknown; choose from {sorted(known.values())}, "
                             "or name a CSV in the data home or a path to one.")
        for m in models:
            try:
                recipe = get_recipe(m, data_kind(distiller), protocol=row["protocol"],
                                    dataset=datasets[j])
            except ValueError as exc:
                fail("eval", f"{m!r} on {datasets[j]!r}: {exc}")
            try:
                replace(recipe, **row["recipe"])
            except TypeError as exc:
                fail("recipe", f"{row['recipe']!r} is not a set of recipe fields ({exc}).")
    if distiller != "full":
        try:
            FORECAST_DISTILLERS[distiller](length=row["length"], seq_len=row["seq_len"],
                                           pred_len=row["pred_len"], random_state=0,
                                           device="cpu", **row["params"])
        except TypeError as exc:
            fail("params", f"{row['params']!r} does not fit distiller {distiller!r} ({exc}).")
    return dict(distiller=distiller, length=row["length"], seq_len=row["seq_len"],
                pred_len=row["pred_len"], eval_models=models, params=row["params"],
                eval_split=row["eval_split"], recipe=row["recipe"] or None,
                protocol=row["protocol"])


def _custom_csv_exists(name, data_home):
    from ..datasets import load_forecasting_csv

    try:
        load_forecasting_csv(name, data_home=data_home)
    except (FileNotFoundError, ValueError, OSError):
        return False
    return True


def _check_classify_row(row, distiller, datasets, fail, data_home):
    from dataclasses import replace

    from ..classification import get_recipe
    from ..classification._matching import _OBJECTIVES
    from ..datasets import UCR_BUNDLED_NAMES
    from ._registry import CLASSIFY_DISTILLERS

    if not _is_int(row["ipc"]):
        fail("ipc", f"expected an integer >= 1, got {row['ipc']!r}.")
    if row["eval_split"] not in ("test", "val", "cv"):
        fail("eval_split", f"{row['eval_split']!r} must be 'test', 'val' or 'cv'.")
    objective = row["objective"]
    if objective is not None and (distiller != "fred" or objective not in _OBJECTIVES):
        fail("objective", f"{objective!r}: one of {list(_OBJECTIVES)}, with distiller 'fred' "
                          "only.")
    soft = row["soft_labels"]
    if soft not in (False, True, "both"):
        fail("soft_labels", f"{soft!r} must be false, true or \"both\".")
    if soft and distiller == "full":
        fail("soft_labels", "needs a distiller with a teacher (e.g. cfm, sre2l), not 'full'.")
    known = {n.lower(): n for n in ("mnist10k", "digits", *UCR_BUNDLED_NAMES)}
    for j, dataset in enumerate(datasets):
        if dataset.lower() not in known:
            fail("datasets", f"{dataset!r} is unknown; choose from {list(known.values())}.")
        datasets[j] = known[dataset.lower()]
    try:
        replace(get_recipe("convnet", "full" if distiller == "full" else "synthetic"),
                **row["recipe"])
    except TypeError as exc:
        fail("recipe", f"{row['recipe']!r} is not a set of recipe fields ({exc}).")
    if distiller != "full":
        extra = {} if objective is None else {"objective": objective}
        try:
            CLASSIFY_DISTILLERS[distiller](ipc=row["ipc"], random_state=0, device="cpu",
                                           **row["params"], **extra)
        except TypeError as exc:
            fail("params", f"{row['params']!r} does not fit distiller {distiller!r} ({exc}).")
    return dict(distiller=distiller, ipc=row["ipc"], objective=objective,
                params=row["params"], eval_split=row["eval_split"],
                eval_model_kwargs=row["eval_model"] or None, recipe=row["recipe"] or None,
                soft_labels=soft)


def _output_name(row, dataset):
    return row.json.format(dataset=dataset, name=row.name, ipc=row.kwargs.get("ipc"))


@dataclass
class Unit:
    """One (row, dataset, seed) of a suite: a single-seed run of the row's task."""

    row: Row
    dataset: str
    seed: int
    path: Path  # where its result is kept


def _unit_key(row, dataset):
    from ._cache import without_run_only

    spec = json.dumps(without_run_only({"task": row.task, "dataset": dataset, **row.kwargs}),
                      sort_keys=True, default=repr)
    digest = hashlib.sha1(spec.encode()).hexdigest()[:12]
    return f"{row.task}-{dataset}-{row.kwargs['distiller']}-{digest}"


def suite_units(rows, cache_dir):
    """The (row, dataset, seed) units of validated ``rows``, each with the file under
    ``cache_dir/suite/`` that keeps its result (named by everything that changes it)."""
    folder = Path(os.fspath(cache_dir)) / "suite"
    return [Unit(row, dataset, seed, folder / f"{_unit_key(row, dataset)}-seed{seed}.json")
            for row in rows for dataset in row.datasets for seed in row.seeds]


def _run_unit(task, dataset, kwargs, seed, cache_dir, data_home, device, n_threads, path):
    """One unit in a worker: the runner with one seed; its result is written to ``path``
    (atomically) before it is returned with the log lines."""
    from ._parallel import run_captured

    kwargs = dict(kwargs, seeds=[seed], cache_dir=cache_dir, data_home=data_home,
                  device=device, n_threads=n_threads)
    if task == "forecast":
        from ._forecast import run_forecast_benchmark as run
    else:
        from ._classify import run_classify_benchmark as run
    result, lines = run_captured(run, dict(kwargs, dataset=dataset))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as fh:
        json.dump(result, fh, indent=2)
    os.replace(tmp, path)
    return result, lines


def run_suite(spec, *, out=".", cache_dir=None, jobs=None, backend=None, scheduler=None,
              scheduler_timeout=None, data_home=None, device="cpu", n_threads=None,
              dry_run=False, log=print, progress=None):
    """Run a suite spec; return the JSON paths written (one per row and dataset).

    Parameters
    ----------
    spec : str, path-like or dict
        A spec file, the name of a shipped suite (:func:`available_suites`) or the spec.
    out : str or path-like, default="."
        Folder the rows' ``json`` paths are relative to.
    cache_dir : str or path-like, optional
        Where unit results (``suite/``), distillation checkpoints and expert/teacher
        caches are kept (default ``OUT/cache``); a rerun reuses everything there.
    jobs, backend, scheduler
        As :func:`skdd.utils._parallel.parallel_imap`'s ``n_jobs``, ``backend`` and
        ``scheduler``.
    scheduler_timeout : float, optional
        Seconds to wait for ``scheduler`` (default
        :data:`skdd.utils._parallel.SCHEDULER_TIMEOUT`).
    data_home, device
        Passed to the runners.
    n_threads : int, optional
        Torch threads of each unit (default: ``SKDD_NUM_THREADS`` or 1).
    dry_run : bool, default=False
        Validate and list the units (done or to run) without running anything.
    log : callable or None
        Receives the units' log lines (in unit order) and the summary lines.
    progress : bool, optional
        A bar over the units to run.
    """
    from ..utils import resolve_n_threads
    from ..utils._parallel import SCHEDULER_TIMEOUT, check_backend, check_n_jobs, parallel_imap
    from ._merge import merge_seed_runs
    from ._progress import task_progress

    log = log or (lambda line: None)
    check_n_jobs(jobs, "jobs")
    check_backend(backend)
    spec, source = load_suite(spec)
    rows = check_suite(spec, source, data_home=data_home)
    out = Path(os.fspath(out))
    cache_dir = out / "cache" if cache_dir is None else Path(os.fspath(cache_dir))
    units = suite_units(rows, cache_dir)
    missing = [u for u in units if not u.path.exists()]
    log(f"suite {source}: {len(rows)} rows, {len(units)} units, {len(missing)} to run")
    if dry_run:
        for u in units:
            state = "to run" if u in missing else "done"
            log(f"  {u.row.name} {u.dataset} seed {u.seed}: {state} -> "
                f"{out / _output_name(u.row, u.dataset)}")
        return []
    threads = resolve_n_threads(n_threads)
    tasks = [(u.row.task, u.dataset, u.row.kwargs, u.seed, str(cache_dir), data_home,
              str(device), threads, str(u.path)) for u in missing]
    with task_progress(progress, len(tasks), "suite") as bar:
        for _, lines in parallel_imap(
                _run_unit, tasks, n_jobs=jobs, backend=backend, scheduler=scheduler,
                threads=threads, timeout=scheduler_timeout or SCHEDULER_TIMEOUT):
            for line in lines:
                log(line)
            bar.update(1)
    written = []
    for row in rows:
        for dataset in row.datasets:
            runs = []
            for u in units:
                if u.row is row and u.dataset == dataset:
                    with open(u.path) as fh:
                        runs.append(json.load(fh))
            result = runs[0] if len(runs) == 1 else merge_seed_runs(runs)
            path = out / _output_name(row, dataset)
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "w") as fh:
                json.dump(result, fh, indent=2)
            written.append(path)
            log(f"wrote {path}")
    return written
