"""Cost of HDT on wide generated series, in one process and data-parallel over ranks.

For each (channels C, length M, ranks R) a fresh process (``torchrun`` for R > 1) fits
HarmonicDistiller (its defaults, with ``--params`` on top) with ``n_matches`` matches per
iteration on a generated seasonal series of ``T`` steps, and records: the median wall
time of one iteration (``skdd.base.observe_optimization``), the time of the setup before
the loop (standardising, expert trajectories), the total fit time and each rank's peak
resident memory. The matches are split across the ranks; every rank still holds the
whole series and trains the same experts. ``X_syn_sha1`` identifies the synthetic series (equal for every R).

Usage (one torch thread per process)::

    python docs/results/diagnostics/hdt_wide_series.py --out wide.json \
        --channels 8,64,512,2048 --lengths 384 --ranks 1,2
    python docs/results/diagnostics/hdt_wide_series.py --plot wide.json --png wide.png

The child mode (``--child``) is what each configuration runs.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import time


def child(args):
    import numpy as np
    import torch

    torch.set_num_threads(1)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1:
        torch.distributed.init_process_group("gloo")
    from skdd import HarmonicDistiller
    from skdd.base import observe_optimization
    from skdd.datasets import make_seasonal_series

    series = make_seasonal_series(args.timesteps, args.channels, random_state=0).astype(
        np.float32)
    marks = []
    params = dict(dict(n_experts=args.experts, expert_epochs=2), **json.loads(args.params))
    est = HarmonicDistiller(length=args.length, n_matches=args.matches, max_iter=args.iters,
                            random_state=0, device="cpu", **params)
    start = time.perf_counter()
    with observe_optimization(lambda d, it, syn: marks.append(time.perf_counter())):
        est.fit(series)
    total = time.perf_counter() - start
    steps = np.diff(marks)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rank = torch.distributed.get_rank() if world > 1 else 0
    peaks = [None] * world
    if world > 1:
        torch.distributed.all_gather_object(peaks, peak_mb)
        torch.distributed.destroy_process_group()
    else:
        peaks = [peak_mb]
    if rank == 0:
        print(json.dumps({
            "channels": args.channels, "length": args.length, "ranks": world,
            "n_matches": args.matches, "timesteps": args.timesteps, "iters": args.iters,
            "n_experts": args.experts,
            "step_seconds": float(np.median(steps)) if steps.size else None,
            "setup_seconds": float(marks[0] - start - (steps.mean() if steps.size else 0)),
            "fit_seconds": total, "peak_rss_mb": peaks,
            "params": params,
            "X_syn_sha1": __import__("hashlib").sha1(est.X_syn_.tobytes()).hexdigest(),
        }))


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_one(channels, length, ranks, args):
    cmd = [sys.executable, __file__, "--child", "--channels", str(channels), "--lengths",
           str(length), "--matches", str(args.matches), "--timesteps", str(args.timesteps),
           "--iters", str(args.iters), "--experts", str(args.experts), "--params", args.params]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    if ranks > 1:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(ranks),
               "--master-addr", "127.0.0.1", "--master-port", str(_free_port()), *cmd[1:]]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        return {"channels": channels, "length": length, "ranks": ranks,
                "error": out.stderr.strip().splitlines()[-1:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def plot(paths, png):
    """Seconds per iteration and peak memory per rank against the channels (length 384)
    and against the length (64 channels), one line per (split_channels, ranks)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for path in paths for r in json.load(open(path))
            if "error" not in r and "X_syn_sha1" in r]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))

    def label(r):
        split = r["params"].get("split_channels", False)
        return (f"{'split_channels, ' if split else ''}{r['n_matches']} matches, "
                f"{r['ranks']} rank{'s' if r['ranks'] > 1 else ''}")

    for key in sorted({label(r) for r in rows}):
        sel = sorted((r for r in rows if label(r) == key and r["length"] == 384
                      and r["timesteps"] == 2000), key=lambda r: r["channels"])
        if len(sel) >= 2:
            c = [r["channels"] for r in sel]
            axes[0].plot(c, [r["step_seconds"] for r in sel], "o-", label=key)
            axes[1].plot(c, [max(r["peak_rss_mb"]) / 1024 for r in sel], "o-", label=key)
        by_len = sorted((r for r in rows if label(r) == key and r["channels"] == 64),
                        key=lambda r: r["length"])
        if len(by_len) >= 2:
            m = [r["length"] for r in by_len]
            axes[2].plot(m, [r["step_seconds"] for r in by_len], "o-", label=key + ", time")
    for ax, (x, y) in zip(axes, [("channels C (length 384)", "seconds per iteration"),
                                 ("channels C (length 384)", "peak memory per rank (GiB)"),
                                 ("length M (64 channels)", "seconds per iteration")]):
        ax.set_xscale("log")
        ax.set_yscale("log" if ax is not axes[2] else "linear")
        ax.set_xlabel(x)
        ax.set_ylabel(y)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle("HarmonicDistiller on generated series (defaults, one thread per rank)")
    fig.tight_layout()
    fig.savefig(png, dpi=110)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--child", action="store_true")
    p.add_argument("--channels", default="8,64,512")
    p.add_argument("--lengths", default="384")
    p.add_argument("--ranks", default="1,2")
    p.add_argument("--matches", type=int, default=2)
    p.add_argument("--timesteps", type=int, default=2000)
    p.add_argument("--iters", type=int, default=4)
    p.add_argument("--experts", type=int, default=1)
    p.add_argument("--params", default="{}", help="more HarmonicDistiller parameters (JSON)")
    p.add_argument("--out", default=None)
    p.add_argument("--plot", nargs="+", default=None, metavar="JSON")
    p.add_argument("--png", default="hdt_wide_series.png")
    args = p.parse_args()
    if args.plot:
        plot(args.plot, args.png)
        return
    if args.child:
        args.channels, args.length = int(args.channels), int(args.lengths)
        child(args)
        return
    rows = []
    for length in (int(v) for v in args.lengths.split(",")):
        for channels in (int(v) for v in args.channels.split(",")):
            for ranks in (int(v) for v in args.ranks.split(",")):
                row = run_one(channels, length, ranks, args)
                print(json.dumps(row), flush=True)
                rows.append(row)
                if args.out:
                    json.dump(rows, open(args.out, "w"), indent=1)


if __name__ == "__main__":
    main()
