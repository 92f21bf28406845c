"""Seeds of ``forecast`` and ``classify`` as parallel joblib tasks (``--jobs``).

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

__all__ = ["run_captured", "run_seeds_in_parallel"]


def run_captured(run, kwargs):
    """``run(**kwargs, log=lines.append)``; returns ``(result, lines)`` (the log lines are
    printed by the caller, in order, wherever the task ran)."""
    lines = []
    result = run(**dict(kwargs, log=lines.append, progress=None))
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
        The other arguments of ``run`` (picklable: pre-loaded splits are sent to each
        task).
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
