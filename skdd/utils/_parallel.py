"""Independent work through joblib: expert trajectories, benchmark seeds, suite units.

One rule for everything skdd runs side by side (DESIGN.md, "Scale-out rules"): the
pieces are independent tasks mapped with :class:`joblib.Parallel`, each draws its
randomness from a seed fixed before dispatch and runs with a fixed torch thread count, so
results do not depend on ``n_jobs`` or on the backend. joblib's default backend (loky,
local processes) needs nothing more; joblib's Dask backend runs the same tasks on a Dask
cluster (``pip install "skdd[dask]"``), either one started on this machine's loopback
interface or an existing one named by its scheduler address.
"""
from __future__ import annotations

import contextlib
import numbers

__all__ = ["check_n_jobs", "check_backend", "parallel_map", "parallel_imap", "dask_client",
           "BACKENDS", "SCHEDULER_TIMEOUT"]

#: Backends :func:`parallel_imap` sets up itself.
BACKENDS = ("loky", "dask")

#: Seconds :func:`dask_client` waits for an existing scheduler to answer.
SCHEDULER_TIMEOUT = 10.0


def check_n_jobs(n_jobs, name="n_jobs"):
    """Return ``n_jobs`` if it is None or a nonzero integer (joblib's convention: -1 all
    cores, -2 all but one, ...), else raise ValueError naming ``name``.

    Examples
    --------
    >>> from skdd.utils._parallel import check_n_jobs
    >>> check_n_jobs(2), check_n_jobs(None), check_n_jobs(-1)
    (2, None, -1)
    >>> check_n_jobs(0)
    Traceback (most recent call last):
    ...
    ValueError: n_jobs=0 is not valid: n_jobs must be a nonzero integer or None (-1: all cores).
    """
    if n_jobs is None:
        return None
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral) or n_jobs == 0:
        raise ValueError(f"{name}={n_jobs!r} is not valid: {name} must be a nonzero integer "
                         "or None (-1: all cores).")
    return int(n_jobs)


def check_backend(backend, name="backend"):
    """Return ``backend`` (None, "loky" or "dask", lower-cased) or raise ValueError."""
    if backend is None:
        return None
    key = str(backend).lower()
    if key not in BACKENDS:
        raise ValueError(f"{name}={backend!r} is unknown; choose one of {list(BACKENDS)}.")
    return key


def _import_distributed():
    try:
        import distributed
    except ImportError as exc:
        raise ImportError('the Dask backend needs dask.distributed, an optional dependency: '
                          'pip install "skdd[dask]"') from exc
    return distributed


@contextlib.contextmanager
def dask_client(n_workers=None, scheduler=None, timeout=SCHEDULER_TIMEOUT):
    """A :class:`distributed.Client` for joblib's Dask backend, closed on exit.

    Parameters
    ----------
    n_workers : int, optional
        Workers of a cluster started here (default 1); ignored with ``scheduler``.
    scheduler : str, optional
        Address of a running Dask scheduler (e.g. ``"tcp://10.0.0.5:8786"``). None starts
        a :class:`distributed.LocalCluster` on 127.0.0.1 with ``n_workers`` worker
        processes of one thread each (no dashboard), closed on exit. Workers are
        processes, never threads of one process: torch's RNG and thread count are per
        process, and tasks sharing them would not be reproducible.
    timeout : float, default=SCHEDULER_TIMEOUT
        Seconds to wait for ``scheduler`` to answer; past them, ConnectionError naming
        the address.

    Raises
    ------
    ImportError
        dask.distributed is not installed (``pip install "skdd[dask]"``).
    ConnectionError
        No scheduler answered at ``scheduler`` within ``timeout`` seconds.
    """
    distributed = _import_distributed()
    if scheduler is not None:
        try:
            client = distributed.Client(str(scheduler), timeout=float(timeout),
                                        set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ConnectionError(
                f"scheduler={str(scheduler)!r} (--scheduler): no Dask scheduler answered "
                f"there within {float(timeout):g} s ({type(exc).__name__}: {exc}); start "
                "one (dask scheduler) or leave the scheduler out to start a local "
                "cluster.") from None
        with client:
            yield client
        return
    n_workers = 1 if n_workers is None or n_workers < 1 else int(n_workers)
    with distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1,
                                  processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster, set_as_default=False) as client:
            yield client


def _with_threads(fn, threads, args):
    """``fn(*args)`` with ``threads`` torch CPU threads, the previous count restored."""
    from ._torch import torch_threads

    if threads is None:
        return fn(*args)
    with torch_threads(int(threads)):
        return fn(*args)


def parallel_imap(fn, tasks, *, n_jobs=None, backend=None, scheduler=None, threads=1,
                  timeout=SCHEDULER_TIMEOUT):
    """``fn(*task)`` for every task, through :class:`joblib.Parallel`, yielded in task order.

    Parameters
    ----------
    fn : callable
        Picklable (a module-level function, or a closure cloudpickle can send).
    tasks : iterable of tuple
        The arguments of each call.
    n_jobs : int, optional
        Concurrent tasks (joblib's convention; None and 1 run them one after the other in
        this process, whatever joblib's active backend). With ``backend="dask"`` it is
        the number of workers of the local cluster started (at least 1).
    backend : {None, "loky", "dask"}, default=None
        None uses joblib's active backend (loky unless the caller chose another with
        :func:`joblib.parallel_config`); "dask" runs the tasks on a Dask cluster
        (:func:`dask_client`).
    scheduler : str, optional
        Address of an existing Dask scheduler (``backend="dask"`` only).
    threads : int or None, default=1
        Torch CPU threads inside each task (None: leave the count as it is). A fixed
        count keeps results equal whatever ``n_jobs`` is: torch's CPU reductions split
        their sums by thread count.
    timeout : float, default=SCHEDULER_TIMEOUT
        Seconds to wait for ``scheduler``.

    Yields
    ------
    The results, in the order of ``tasks``, each as soon as it and those before it are
    done.
    """
    from joblib import Parallel, delayed, parallel_config

    n_jobs = check_n_jobs(n_jobs)
    backend = check_backend(backend)
    if scheduler is not None and backend != "dask":
        raise ValueError(f"scheduler={scheduler!r} (--scheduler) needs backend='dask', got "
                         f"backend={backend!r}.")
    if n_jobs in (None, 1) and backend != "dask":  # here, whatever the active backend
        for task in tasks:
            yield _with_threads(fn, threads, tuple(task))
        return
    calls = [delayed(_with_threads)(fn, threads, tuple(task)) for task in tasks]
    if not calls:
        return
    if backend == "dask":
        workers = n_jobs if n_jobs is not None and n_jobs > 0 else None
        with dask_client(workers, scheduler, timeout) as client:
            with parallel_config(backend="dask", client=client):
                yield from Parallel(n_jobs=-1, return_as="generator")(calls)
        return
    config = parallel_config(backend=backend) if backend else contextlib.nullcontext()
    with config:
        yield from Parallel(n_jobs=n_jobs, return_as="generator")(calls)


def parallel_map(fn, tasks, **kwargs):
    """The list of :func:`parallel_imap`'s results (same arguments).

    Examples
    --------
    >>> from operator import add
    >>> from skdd.utils._parallel import parallel_map
    >>> parallel_map(add, [(1, 2), (3, 4)], n_jobs=1)
    [3, 7]
    """
    return list(parallel_imap(fn, tasks, **kwargs))
