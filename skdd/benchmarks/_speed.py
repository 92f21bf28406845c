"""The ``speed`` task: the cost of one optimisation step of a distiller.

``python -m skdd.benchmarks speed --distiller NAME [--params JSON] --repeats R --device DEV
--json out.json`` fits the distiller with just enough steps of its loop
(:meth:`skdd.base.BaseDistiller._optimize`) to time ``warmup + repeats`` of them, and
reports the median over the ``repeats`` timed steps of the CPU time and the wall time of
a step (from one call of the loss to the next: the loss, its backward pass, the optimiser
step and the loop's own work), and the peak memory: the process's peak resident set size
on CPU (it includes the setup before the loop: data, experts, teacher), and
``torch.cuda.max_memory_allocated`` over the timed steps on CUDA.

The distillers and what a step is:

- ``hdt``, ``mtt``, ``condtsf``: one update of the synthetic series (forecasting; data
  ``--dataset``, default the generated "seasonal" series);
- ``dm``, ``fred-dm``, ``cfm``: one update of the synthetic set (classification; default
  "digits");
- ``timevqvae-stage1``, ``timevqvae-stage2``: one step of the tokenizer or of the priors
  (default "GunPoint").
"""
from __future__ import annotations

import contextlib
import platform
import resource
import sys
import time

import numpy as np
import torch

__all__ = ["SPEED_DISTILLERS", "run_speed", "format_speed"]

#: name -> (kind, default dataset)
SPEED_DISTILLERS = {
    "hdt": ("forecast", "seasonal"),
    "mtt": ("forecast", "seasonal"),
    "condtsf": ("forecast", "seasonal"),
    "dm": ("classify", "digits"),
    "fred-dm": ("classify", "digits"),
    "cfm": ("classify", "digits"),
    "timevqvae-stage1": ("generate", "GunPoint"),
    "timevqvae-stage2": ("generate", "GunPoint"),
}


def _peak_rss_mb():
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2 ** 20 if sys.platform == "darwin" else peak / 1024  # bytes vs KiB


@contextlib.contextmanager
def _step_clock(cuda):
    """Record ``(cpu, wall)`` times at every call of the loss of every optimisation loop
    run in the block; yields the list of loops (one list of times per loop)."""
    from ..base import BaseDistiller
    from ..generative._timevqvae import _Stage

    loops = []
    original = BaseDistiller._optimize

    def timed(self, synthetic, loss_fn, *args, **kwargs):
        times = []
        loops.append(times)

        def loss(iteration):
            if cuda:
                torch.cuda.synchronize()
                if not times:
                    torch.cuda.reset_peak_memory_stats()
            times.append((time.process_time(), time.perf_counter()))
            return loss_fn(iteration)

        return original(self, synthetic, loss, *args, **kwargs)

    owners = (BaseDistiller, _Stage)
    saved = [owner.__dict__["_optimize"] for owner in owners]
    try:
        for owner in owners:
            owner._optimize = timed
        yield loops
    finally:
        for owner, fn in zip(owners, saved):
            owner._optimize = fn


def _build(name, params, *, steps, dataset, data_home, device, ipc, length, seq_len, pred_len):
    """The estimator and its fit arguments, set to run ``steps`` loop steps."""
    kind = SPEED_DISTILLERS[name][0]
    if kind == "forecast":
        from ._registry import FORECAST_DISTILLERS

        if dataset.lower() == "seasonal":
            from ._demo import default_splits

            splits = default_splits(seq_len)
        else:
            from ..forecasting import load_forecasting_splits

            splits = load_forecasting_splits(dataset, seq_len=seq_len, data_home=data_home)
        est = FORECAST_DISTILLERS[name](length, seq_len, pred_len, 0, device,
                                        **{**params, "max_iter": steps})
        return est, (splits.train,)
    if kind == "classify":
        from ._classify import load_classification_splits
        from ._registry import CLASSIFY_DISTILLERS

        X, _, y, _, _ = load_classification_splits(dataset, data_home=data_home)
        fixed = {"objective": "dm"} if name == "fred-dm" else {}
        est = CLASSIFY_DISTILLERS[name.split("-")[0]](
            ipc, 0, device, **{**fixed, **params, "max_iter": steps})
        return est, (X, y)
    from ..datasets import load_ucr
    from ..generative import TimeVQVAE

    X, _, y, _ = load_ucr(dataset)
    stage = {"timevqvae-stage1": "stage1_steps", "timevqvae-stage2": "stage2_steps"}[name]
    other = "stage2_steps" if stage == "stage1_steps" else "stage1_steps"
    est = TimeVQVAE(**{"ipc": 1, "n_sampling_steps": 1, other: 1, **params, stage: steps,
                       "device": device, "random_state": 0})
    return est, (X, y)


def run_speed(distiller, *, params=None, repeats=5, warmup=1, device="cpu", dataset=None,
              data_home=None, ipc=1, length=384, seq_len=96, pred_len=96, n_threads=1):
    """Time ``repeats`` optimisation steps of ``distiller`` (a :data:`SPEED_DISTILLERS`
    name) after ``warmup`` steps; see the module's description.

    Returns
    -------
    dict
        ``cpu_seconds`` and ``wall_seconds`` (medians over the timed steps, with every
        step's times in ``cpu_seconds_all`` / ``wall_seconds_all``), ``peak_rss_mb``,
        ``cuda_max_allocated_mb`` (CUDA only, else None), ``peak_memory_mb`` (the one
        that applies to ``device``), and the settings.

    Examples
    --------
    >>> from skdd.benchmarks._speed import run_speed
    >>> r = run_speed("dm", params={"batch_real": 8}, repeats=2)
    >>> r["distiller"], len(r["cpu_seconds_all"]), r["cpu_seconds"] > 0
    ('dm', 2, True)
    """
    name = str(distiller).lower()
    if name not in SPEED_DISTILLERS:
        raise ValueError(f"distiller must be one of {', '.join(SPEED_DISTILLERS)}, got "
                         f"{distiller!r}.")
    repeats, warmup = int(repeats), int(warmup)
    if repeats < 1 or warmup < 0:
        raise ValueError(f"repeats must be >= 1 and warmup >= 0, got {repeats} and {warmup}.")
    from ..utils import resolve_device, torch_threads

    device = str(resolve_device(device))
    cuda = torch.device(device).type == "cuda"
    dataset = dataset or SPEED_DISTILLERS[name][1]
    params = dict(params or {})
    # one more step than timed: a step ends where the next one's loss starts
    est, args = _build(name, params, steps=warmup + repeats + 1, dataset=dataset,
                       data_home=data_home, device=device, ipc=ipc, length=length,
                       seq_len=seq_len, pred_len=pred_len)
    with torch_threads(n_threads, device), _step_clock(cuda) as loops:
        est.fit(*args)
        if cuda:
            torch.cuda.synchronize()
    loop = loops[1] if name == "timevqvae-stage2" else loops[0]
    steps = np.diff(np.asarray(loop, dtype=float), axis=0)[warmup:warmup + repeats]
    cuda_peak = torch.cuda.max_memory_allocated() / 2 ** 20 if cuda else None
    rss = _peak_rss_mb()
    return {
        "task": "speed", "distiller": name, "dataset": str(dataset), "device": device,
        "params": params, "repeats": repeats, "warmup": warmup, "threads": n_threads,
        "ipc": ipc if SPEED_DISTILLERS[name][0] == "classify" else None,
        "cpu_seconds": float(np.median(steps[:, 0])),
        "wall_seconds": float(np.median(steps[:, 1])),
        "cpu_seconds_all": steps[:, 0].tolist(), "wall_seconds_all": steps[:, 1].tolist(),
        "peak_rss_mb": rss, "cuda_max_allocated_mb": cuda_peak,
        "peak_memory_mb": cuda_peak if cuda else rss,
        "torch": torch.__version__, "machine": platform.machine(),
    }


def format_speed(result):
    """One line: median CPU and wall seconds per step and the peak memory."""
    memory = ("CUDA max allocated" if result["cuda_max_allocated_mb"] is not None
              else "peak RSS")
    return (f"{result['distiller']} on {result['dataset']} ({result['device']}): "
            f"{result['cpu_seconds']:.4f} s CPU, {result['wall_seconds']:.4f} s wall per step "
            f"(median of {result['repeats']}), {memory} {result['peak_memory_mb']:.0f} MB")
