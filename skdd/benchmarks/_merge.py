"""Merge benchmark JSON files of the same run made for different seeds.

Seeds run apart (``--seeds 0`` on one machine, ``--seeds 1`` on another; or the
single-seed tasks of ``--jobs`` and of ``suite``, which use this merge) are joined by
:func:`merge_seed_runs` into the file one ``--seeds 0,1,2`` run would have written:

.. code-block:: bash

    python -m skdd.benchmarks merge s0.json s1.json s2.json --json GunPoint_dm_ipc5.json
"""
from __future__ import annotations

import json

__all__ = ["PER_SEED_FIELDS", "merge_seed_runs", "merge_seed_files"]

# Fields of each task's JSON that hold one entry per seed: lists in seed order, or dicts
# whose leaves are such lists (``results``, ``seconds``), or dicts keyed by seed
# (``records`` of theorem1). Every other field describes the run and must agree.
PER_SEED_FIELDS = {
    "forecast": ("distill_seconds", "resumed", "results"),
    "classify": ("n_synthetic", "n_stored", "expert_buffer_bytes", "intra_class_similarity",
                 "mean_drift", "distill_seconds", "resumed", "results"),
    "fidelity": ("results", "tau", "tau_fids", "classifier_test_acc", "seconds", "resumed"),
    "theorem1": ("records",),
}
# Fields that describe where a run was made: equal across the runs, they stay one value;
# otherwise (the seeds ran on different machines or at different times) the merged
# field lists each seed's value.
PER_SEED_WHEN_DIFFERENT = ("machine",)


def _join(values, path):
    """Concatenate per-seed lists; recurse into dicts with the same keys; union dicts keyed
    by seed (disjoint keys)."""
    if all(isinstance(v, list) for v in values):
        return [item for v in values for item in v]
    if all(isinstance(v, dict) for v in values):
        keys = [list(v) for v in values]
        if all(k == keys[0] for k in keys):
            return {k: _join([v[k] for v in values], f"{path}.{k}") for k in keys[0]}
        seen = set()
        for k in keys:
            if seen & set(k):
                break
            seen |= set(k)
        else:
            return {k: item for v in values for k, item in v.items()}
    raise ValueError(f"cannot merge field {path!r}: the runs hold different structures "
                     f"({[type(v).__name__ for v in values]}); were they made with the same "
                     "command?")


def merge_seed_runs(runs):
    """Merge results of the same benchmark run for different seeds.

    Parameters
    ----------
    runs : sequence of dict
        Results written with ``--json`` by the ``forecast``, ``classify``, ``fidelity`` or
        ``theorem1`` task, all with the same task, dataset, distiller, parameters and
        versions, for disjoint seeds. Runs made on different machines keep each seed's
        ``machine`` (a list, one entry per seed).

    Returns
    -------
    dict
        The result one run over all the seeds (in the order given) would have written.

    Examples
    --------
    >>> from skdd.benchmarks._merge import merge_seed_runs
    >>> a = {"task": "forecast", "dataset": "ETTh1", "seeds": [0], "distill_seconds": [3.0],
    ...      "results": {"dlinear": {"mse": [0.41]}}}
    >>> b = {"task": "forecast", "dataset": "ETTh1", "seeds": [1], "distill_seconds": [2.5],
    ...      "results": {"dlinear": {"mse": [0.40]}}}
    >>> merge_seed_runs([a, b])["results"]
    {'dlinear': {'mse': [0.41, 0.4]}}
    """
    runs = list(runs)
    if len(runs) < 2:
        raise ValueError(f"merge_seed_runs needs at least two runs, got {len(runs)}.")
    task = runs[0].get("task")
    if task not in PER_SEED_FIELDS:
        raise ValueError(f"unknown benchmark task {task!r}; expected one of "
                         f"{sorted(PER_SEED_FIELDS)}.")
    per_seed = set(PER_SEED_FIELDS[task]) | {"seeds"} | set(PER_SEED_WHEN_DIFFERENT)
    first = runs[0]
    for i, run in enumerate(runs[1:], start=1):
        for key in sorted((set(first) | set(run)) - per_seed):
            if first.get(key) != run.get(key):
                raise ValueError(f"run {i} differs from run 0 in {key!r} "
                                 f"({run.get(key)!r} vs {first.get(key)!r}); only runs of "
                                 "the same command for different seeds can be merged.")
    seeds = [s for run in runs for s in run["seeds"]]
    repeated = sorted({s for s in seeds if seeds.count(s) > 1})
    if repeated:
        raise ValueError(f"seeds {repeated} appear in more than one run; each seed must be "
                         "merged once.")
    merged = dict(first)
    merged["seeds"] = seeds
    for key in PER_SEED_FIELDS[task]:
        if any(key in run for run in runs):
            merged[key] = _join([run.get(key) for run in runs], key)
    for key in PER_SEED_WHEN_DIFFERENT:
        values = [v for run in runs for v in _per_seed(run, key)]
        merged[key] = values if any(v != values[0] for v in values) else values[0]
    return merged


def _per_seed(run, key):
    """``run[key]`` once per seed: a list with one entry per seed (an earlier merge of
    seeds from different machines) as it is, a single value repeated."""
    value, n_seeds = run.get(key), len(run["seeds"])
    if isinstance(value, list) and len(value) == n_seeds:
        return value
    return [value] * n_seeds


def merge_seed_files(paths, out=None):
    """Read benchmark JSON files, merge them (:func:`merge_seed_runs`), optionally write."""
    runs = []
    for path in paths:
        with open(path) as fh:
            runs.append(json.load(fh))
    merged = merge_seed_runs(runs)
    if out is not None:
        with open(out, "w") as fh:
            json.dump(merged, fh, indent=2)
    return merged
