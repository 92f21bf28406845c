"""Torch plumbing shared by every loop: device, local seeding, thread count, allocator."""
from __future__ import annotations

import contextlib
import ctypes
import os
import platform
import sys

import numpy as np
import torch

from ._validation import check_folder

#: Intra-op torch threads used on CPU when an estimator's ``n_threads`` is None.
#: Small forecasting models (DLinear on a few hundred windows) run many times slower
#: when torch spreads each tiny matmul over several threads, so skdd defaults to one
#: thread; raise it (``n_threads=`` or ``SKDD_NUM_THREADS``) for wide conv nets.
DEFAULT_NUM_THREADS = 1


#: The device strings every estimator accepts (``N`` is a CUDA device index).
DEVICE_CHOICES = ("auto", "cpu", "cuda", "cuda:N")


def _device_error(device, reason=""):
    return ValueError(
        f"device={device!r} is not supported{reason}; use one of "
        f"{', '.join(repr(d) for d in DEVICE_CHOICES)} (or a torch.device of type cpu or "
        "cuda).")


def resolve_device(device="auto"):
    """Return a :class:`torch.device` for ``device``.

    Accepted: ``"auto"`` (or None: CUDA when available, else CPU), ``"cpu"``, ``"cuda"``,
    ``"cuda:N"``, or a :class:`torch.device` of type cpu or cuda; ``"mps"`` only where
    PyTorch's MPS backend is available. Anything else ("meta", "nonsense", a CUDA device
    without CUDA, an index beyond the visible GPUs) raises ValueError naming ``device``
    and the accepted values.

    Examples
    --------
    >>> from skdd.utils import resolve_device
    >>> resolve_device("cpu")
    device(type='cpu')
    >>> resolve_device("meta")
    Traceback (most recent call last):
    ...
    ValueError: device='meta' is not supported; use one of 'auto', 'cpu', 'cuda', 'cuda:N' (or a torch.device of type cpu or cuda).
    """
    if device is None or (isinstance(device, str) and device == "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if isinstance(device, torch.device):
        dev = device
    elif isinstance(device, str):
        try:
            dev = torch.device(device)
        except RuntimeError:
            raise _device_error(device) from None
    else:
        raise ValueError(f"device must be a string or a torch.device, got "
                         f"{type(device).__name__} {device!r}; use one of "
                         f"{', '.join(repr(d) for d in DEVICE_CHOICES)}.")
    if dev.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise _device_error(device, " (PyTorch's MPS backend is not available here)")
        return dev
    if dev.type not in ("cpu", "cuda"):
        raise _device_error(device)
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise _device_error(device, " (CUDA is not available here)")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise _device_error(
                device, f" (only {torch.cuda.device_count()} CUDA device(s) are visible)")
    return dev


def _seed_from(random_state):
    """Turn ``random_state`` (None, int or np.random.Generator/RandomState) into an int seed."""
    if random_state is None:
        return int(np.random.SeedSequence().generate_state(1)[0])
    if isinstance(random_state, (int, np.integer)):
        if random_state < 0:
            raise ValueError(f"random_state must be a non-negative int, got {random_state}.")
        return int(random_state) % (2**63)
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**63 - 1))
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**31 - 1))
    raise ValueError(
        "random_state must be None, an int or a numpy Generator/RandomState, "
        f"got {type(random_state).__name__}."
    )


@contextlib.contextmanager
def seeded(random_state, device=None):
    """Seed torch locally: inside the block torch's RNGs start from ``random_state``.

    The global RNG state (CPU and, when ``device`` is CUDA, that device) is restored on
    exit, so seeding never leaks into user code. Yields the integer seed used.

    Examples
    --------
    >>> import torch
    >>> from skdd.utils import seeded
    >>> with seeded(0):
    ...     a = torch.rand(2)
    >>> with seeded(0):
    ...     b = torch.rand(2)
    >>> bool((a == b).all())
    True
    """
    seed = _seed_from(random_state)
    devices = []
    if device is not None and torch.device(device).type == "cuda":
        idx = torch.device(device).index
        devices = [idx if idx is not None else torch.cuda.current_device()]
    with torch.random.fork_rng(devices=devices, device_type="cuda"):
        torch.manual_seed(seed)
        yield seed


def resolve_n_threads(n_threads=None):
    """The torch CPU thread count ``n_threads`` stands for.

    None: the ``SKDD_NUM_THREADS`` environment variable if set, else
    :data:`DEFAULT_NUM_THREADS`; ``-1``: all cores. Anything but a positive int, -1 or
    None raises ValueError naming ``n_threads``.

    Examples
    --------
    >>> from skdd.utils import resolve_n_threads
    >>> resolve_n_threads(2)
    2
    """
    if n_threads is None:
        env = os.environ.get("SKDD_NUM_THREADS")
        if env is None:
            return DEFAULT_NUM_THREADS
        try:
            n_threads = int(env)
        except ValueError:
            raise ValueError(f"the environment variable SKDD_NUM_THREADS={env!r} must be a "
                             "positive int or -1.") from None
    if n_threads == -1 and not isinstance(n_threads, bool):
        return os.cpu_count() or 1
    if isinstance(n_threads, bool) or not isinstance(n_threads, (int, np.integer)) \
            or n_threads < 1:
        raise ValueError(f"n_threads must be a positive int, -1 or None, got {n_threads!r}.")
    return int(n_threads)


@contextlib.contextmanager
def torch_threads(n_threads=None, device=None):
    """Set torch's intra-op thread count for the block (CPU only), then restore it.

    ``n_threads`` as in :func:`resolve_n_threads`. Does nothing on CUDA.
    """
    if device is not None and torch.device(device).type != "cpu":
        yield
        return
    n_threads = resolve_n_threads(n_threads)
    previous = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


#: glibc's ``mallopt`` parameters (malloc.h).
_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4


def tune_cpu_allocator(retain_bytes=2**30):
    """Make glibc keep freed memory for reuse, so large CPU tensors are not re-faulted.

    glibc's ``malloc`` serves large allocations (above a threshold that grows to at most
    32 MB) with a fresh ``mmap`` and returns them to the kernel on ``free``. A ConvNet-128
    step on 256 MNIST images allocates activations of about 100 MB each, so every step
    asks the kernel for new, zeroed pages: on the benchmark machine about a third of the CPU time went to the
    kernel (page faults), not to torch. This call serves large blocks from the heap
    (``M_MMAP_MAX = 0``) and keeps up to ``retain_bytes`` of freed heap memory instead of
    trimming it (``M_TRIM_THRESHOLD``), so later steps reuse the same pages. Results do
    not change, only speed; the process keeps its peak memory instead of returning it.

    It changes the allocator of the whole process, from the call on, which is why skdd's
    estimators do not call it: the benchmark runner (``python -m skdd.benchmarks``) does,
    unless ``SKDD_TUNE_ALLOCATOR=0``. Calling it again is harmless. CUDA memory is not
    affected (torch caches it itself).

    Parameters
    ----------
    retain_bytes : int, default=2**30
        Freed memory at the top of the heap kept for reuse before it is returned to the
        system (at most ``2**31 - 1``).

    Returns
    -------
    applied : bool
        True when the settings were taken (Linux with glibc); False elsewhere, where
        nothing is changed.

    Examples
    --------
    >>> from skdd.utils import tune_cpu_allocator
    >>> applied = tune_cpu_allocator()
    """
    if isinstance(retain_bytes, bool) or not isinstance(retain_bytes, (int, np.integer)) \
            or not 0 <= retain_bytes < 2**31:
        raise ValueError(
            f"retain_bytes must be an int in [0, 2**31), got {retain_bytes!r}.")
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, int(retain_bytes)))


def disk_cache(folder, prefix, spec, build, *, map_location=None, resumable=False):
    """``build()``'s result, stored on disk under ``folder`` and reused when ``spec`` repeats.

    The file is ``folder/<prefix>-<sha1(repr(spec))[:16]>.pt``, written atomically with
    :func:`torch.save` and read back with ``weights_only=True`` (tensors and containers of
    tensors only). ``folder=None`` disables the cache. Used for expensive, deterministic
    intermediate results (expert trajectories, teachers) that several fits share.

    With ``resumable=True``, ``build(partial)`` receives a path where it may keep its
    progress (``folder/<prefix>-<digest>.partial.pt``, or None without a folder), so a
    build killed half-way continues from there when called again; the file, and any
    others the build kept beside it under names starting with ``<prefix>-<digest>.partial.``,
    are removed once the result is stored.

    Examples
    --------
    >>> import tempfile, torch
    >>> from skdd.utils import disk_cache
    >>> calls = []
    >>> def build():
    ...     calls.append(1)
    ...     return torch.arange(3)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     a = disk_cache(folder, "demo", ("spec", 1), build)
    ...     b = disk_cache(folder, "demo", ("spec", 1), build)
    >>> a.tolist(), b.tolist(), len(calls)
    ([0, 1, 2], [0, 1, 2], 1)
    """
    if folder is None:
        return build(None) if resumable else build()
    import hashlib
    from pathlib import Path

    digest = hashlib.sha1(repr(spec).encode()).hexdigest()[:16]
    path = Path(os.fspath(folder)) / f"{prefix}-{digest}.pt"
    if path.exists():
        try:
            return torch.load(path, map_location=map_location, weights_only=True)
        except Exception as exc:
            raise ValueError(
                f"the cached file {str(path)!r} could not be read ({type(exc).__name__}: "
                f"{exc}); it is corrupted or incomplete: delete it and it will be rebuilt."
            ) from exc
    check_folder(folder, "cache folder")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{prefix}-{digest}.partial.pt")
    value = build(partial) if resumable else build()
    tmp = path.with_name(path.name + ".tmp")
    torch.save(value, tmp)
    os.replace(tmp, path)
    if resumable:
        for leftover in path.parent.glob(f"{prefix}-{digest}.partial.*"):
            leftover.unlink(missing_ok=True)
    return value
