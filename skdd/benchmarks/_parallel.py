"""Seeds of ``forecast``, ``classify`` and ``fidelity`` as parallel joblib tasks (``--jobs``).

Each seed is one task: the task's runner called with that seed alone, its log lines
collected and printed here in seed order, and the single-seed results joined with
:func:`skdd.benchmarks._merge.merge_seed_runs` into the result one serial run over all
the seeds returns (the same JSON but for the wall times). The tasks go through
:func:`skdd.utils._parallel.parallel_imap`: local processes (loky) or a Dask cluster
(``--backend dask``, ``--scheduler ADDRESS``), one torch thread each by default.
"""
from __future__ import annotations

from ._merge import merge_seed_runs
from ._progress import task_progress

__all__ = ["forecast_splits", "run_captured", "run_seeds_in_parallel"]


def forecast_splits(dataset, seq_len, data_home=None):
    """The forecasting splits of ``dataset``: the generated "seasonal" series of the demo,
    an ETT set or a custom CSV (:func:`skdd.forecasting.load_forecasting_splits`)."""
    if str(dataset).lower() == "seasonal":
        from ._demo import default_splits

        return default_splits(seq_len)
    from ..forecasting import load_forecasting_splits

    return load_forecasting_splits(dataset, seq_len=seq_len, data_home=data_home)


def run_captured(run, kwargs):
    """``run(**kwargs, log=lines.append)``; returns ``(result, lines)`` (the log lines are
    printed by the caller, in order, wherever the task ran).

    The data are loaded here, in the task, never sent to it: arrays rebuilt from a pickle
    may sit at other memory alignments, and some CPU kernels then round differently in the
    last bits, so a task would not reproduce the serial run exactly. For the forecasting
    runner, ``splits`` is loaded from ``dataset``, ``seq_len`` and ``data_home``.
    """
    from ._forecast import run_forecast_benchmark

    kwargs = dict(kwargs, log=None, progress=None)
    if run is run_forecast_benchmark and kwargs.get("splits") is None:
        kwargs["splits"] = forecast_splits(kwargs["dataset"], kwargs.get("seq_len", 96),
                                           kwargs.get("data_home"))
    lines = []
    result = run(**dict(kwargs, log=lines.append))
    return result, lines


def run_seeds_in_parallel(run, seeds, kwargs, *, jobs=None, backend=None, scheduler=None,
                          threads=1, scheduler_timeout=None, log=print, progress=None,
                          desc="seeds"):
    """``run(**kwargs)`` over ``seeds``, one task per seed, merged into one result.

    Parameters
    ----------
    run : callable
        :func:`~skdd.benchmarks.run_forecast_benchmark` or
        :func:`~skdd.benchmarks.run_classify_benchmark` (anything taking ``seeds``,
        ``log`` and ``progress`` and returning a result :func:`merge_seed_runs` joins).
    seeds : sequence of int
    kwargs : dict
        The other arguments of ``run`` (picklable; the data are named, not included: each
        task loads them, see :func:`run_captured`).
    jobs, backend, scheduler, threads
        As :func:`skdd.utils._parallel.parallel_imap`'s ``n_jobs``, ``backend``,
        ``scheduler`` and ``threads``.
    scheduler_timeout : float, optional
        Seconds to wait for ``scheduler`` (default
        :data:`skdd.utils._parallel.SCHEDULER_TIMEOUT`).
    log : callable or None
        Receives each seed's log lines, in seed order.
    progress : bool or tqdm bar, optional
        A bar advanced as each seed's result arrives (in seed order).

    Returns
    -------
    dict
        The result of one run over all ``seeds``.
    """
    from ..utils._parallel import SCHEDULER_TIMEOUT, parallel_imap

    seeds = list(seeds)
    tasks = [(run, dict(kwargs, seeds=[seed])) for seed in seeds]
    results = []
    with task_progress(progress, len(tasks), desc) as bar:
        for result, lines in parallel_imap(
                run_captured, tasks, n_jobs=jobs, backend=backend, scheduler=scheduler,
                threads=threads, timeout=scheduler_timeout or SCHEDULER_TIMEOUT):
            for line in lines if log is not None else ():
                log(line)
            results.append(result)
            bar.update(1)
    return results[0] if len(results) == 1 else merge_seed_runs(results)
