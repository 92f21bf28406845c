"""Command line: ``python -m skdd.benchmarks forecast --dataset ETTh1 --distiller random ...``."""
from __future__ import annotations

import argparse
import json
import os
import sys


def _int_list(text):
    try:
        return [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")


_CACHE_HELP = ("folder for each distillation's checkpoint (and expert trajectories, "
               "teachers): the same command resumes an interrupted run and reuses finished "
               "distillations")


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m skdd.benchmarks",
                                     description="Reproduce the papers' tables with skdd.")
    sub = parser.add_subparsers(dest="task", required=True)
    f = sub.add_parser("forecast", help="long-term forecasting protocol (train on synthetic, "
                                        "test on real)")
    f.add_argument("--dataset", default="ETTh1",
                   help="ETTh1, ETTh2, ETTm1, ETTm2, a custom CSV name, or 'seasonal' for the "
                        "generated default series")
    f.add_argument("--distiller", default="random", help="registered distiller name or 'full'")
    f.add_argument("--length", type=int, default=384, help="synthetic series length M")
    f.add_argument("--seq-len", type=int, default=96)
    f.add_argument("--pred-len", type=int, default=96)
    f.add_argument("--eval", default="dlinear,itransformer,xpatch",
                   help="comma-separated evaluation models")
    f.add_argument("--seeds", type=_int_list, default=[0, 1, 2])
    f.add_argument("--params", default="{}", help="JSON object of extra distiller parameters")
    f.add_argument("--data-home", default=None, help="folder holding ett/*.csv(.gz)")
    f.add_argument("--device", default="auto")
    f.add_argument("--threads", type=int, default=None, help="torch CPU threads (default 1)")
    f.add_argument("--eval-split", choices=["test", "val"], default="test",
                   help="'val' for recipe selection; never tune on 'test'")
    f.add_argument("--recipe", default="{}",
                   help="JSON overrides of the evaluation recipe (recipe selection on val)")
    f.add_argument("--json", default=None, help="write the result to this JSON file")
    f.add_argument("--cache-dir", default=None, help=_CACHE_HELP)
    d = sub.add_parser("demo", help="the embedded default: distil a generated seasonal series "
                                    "with every forecasting distiller and compare with full data")
    d.add_argument("--seeds", type=_int_list, default=[0, 1, 2])
    d.add_argument("--eval", default="dlinear", help="comma-separated evaluation models")
    d.add_argument("--distillers", default="random,hdt",
                   help="comma-separated registered distillers (full data is always added)")
    r = sub.add_parser("report", help="markdown tables from benchmark JSON files")
    r.add_argument("paths", nargs="+", help="JSON files written with --json")
    r.add_argument("--metric", default="mse", choices=["mse", "mae"])
    r.add_argument("--scaling-plot", default=None, metavar="PNG",
                   help="also plot error against synthetic length M (one dataset) to PNG")
    r.add_argument("--model", default="dlinear", help="evaluation model of the scaling plot")
    t = sub.add_parser("theorem1", help="HDT's Theorem 1 over a run: harmonic error vs "
                                        "autocorrelation gap")
    t.add_argument("--dataset", default="ETTh1")
    t.add_argument("--distiller", default="hdt", help="registered forecasting distiller")
    t.add_argument("--seeds", type=_int_list, default=[0, 1, 2])
    t.add_argument("--every", type=int, default=10, help="record every N updates")
    t.add_argument("--max-lag", type=int, default=96, help="K of the autocorrelation gap")
    t.add_argument("--length", type=int, default=384, help="synthetic series length M")
    t.add_argument("--params", default="{}", help="JSON object of extra distiller parameters")
    t.add_argument("--data-home", default=None)
    t.add_argument("--device", default="auto")
    t.add_argument("--json", default=None, help="write the result to this JSON file")
    c = sub.add_parser("classify", help="classification protocol (train a ConvNet on the "
                                        "synthetic set, test on the real test split)")
    c.add_argument("--dataset", default="mnist10k",
                   help="mnist10k, digits, or a UCR/UEA set bundled with sktime (GunPoint, ...)")
    c.add_argument("--distiller", default="random", help="registered distiller name or 'full'")
    c.add_argument("--objective", default=None, choices=["dc", "dm", "tm"],
                   help="FreD's matching objective (with --distiller fred)")
    c.add_argument("--ipc", type=int, default=1, help="budget: real-size samples per class")
    c.add_argument("--seeds", type=_int_list, default=[0, 1, 2])
    c.add_argument("--params", default="{}", help="JSON object of extra distiller parameters")
    c.add_argument("--eval-model", default="{}",
                   help="JSON ConvNet arguments of the evaluation network (width, depth, ...)")
    c.add_argument("--recipe", default="{}", help="JSON overrides of the evaluation recipe")
    c.add_argument("--eval-split", choices=["test", "val", "cv"], default="test",
                   help="'val' holds out 20%% of the training split, 'cv' pools 5 stratified "
                        "folds of it; never tune on 'test'")
    c.add_argument("--data-home", default=None, help="folder holding mnist/*.gz")
    c.add_argument("--device", default="auto")
    c.add_argument("--threads", type=int, default=None, help="torch CPU threads (default 1)")
    c.add_argument("--json", default=None, help="write the result to this JSON file")
    c.add_argument("--cache-dir", default=None, help=_CACHE_HELP)
    c.add_argument("--soft-labels", nargs="?", const="only", default=None,
                   choices=["only", "both"],
                   help="train on the distiller's teacher soft labels (y_soft_: cfm, sre2l) "
                        "with knowledge distillation at its temperature; 'both' also trains "
                        "a network on the hard labels of the same distillation")
    m = sub.add_parser("merge", help="join JSON files of one command run for different "
                                     "seeds (e.g. one-thread processes in parallel)")
    m.add_argument("paths", nargs="+", help="JSON files written with --json")
    m.add_argument("--json", required=True, help="write the merged result to this file")
    from ._fidelity import add_fidelity_parser

    add_fidelity_parser(sub, _int_list)
    from ._tune import add_tune_parser

    add_tune_parser(sub, _int_list)
    return parser


def main(argv=None):
    from ._forecast import format_forecast_table, run_forecast_benchmark

    args = build_parser().parse_args(argv)
    if args.task == "classify":
        return _classify_main(args)
    if args.task == "theorem1":
        from ._theorem1 import format_theorem1_table, run_theorem1_check

        result = run_theorem1_check(args.dataset, args.distiller, seeds=args.seeds,
                                    every=args.every, max_lag=args.max_lag, length=args.length,
                                    params=json.loads(args.params), data_home=args.data_home,
                                    device=args.device)
        print(format_theorem1_table(result))
        _write_json(result, args.json)
        return 0
    if args.task == "tune":
        from ._tune import tune_main

        _write_json(tune_main(args), args.json)
        return 0
    if args.task == "fidelity":
        from ._fidelity import fidelity_main

        _write_json(fidelity_main(args), args.json)
        return 0
    if args.task == "report":
        from ._report import cfm_report, classify_report, forecast_report

        print(forecast_report(args.paths, metric=args.metric))
        print(classify_report(args.paths))
        print(cfm_report(args.paths))
        if args.scaling_plot:
            from ._report import scaling_plot

            scaling_plot(args.paths, args.scaling_plot, model=args.model, metric=args.metric)
            print(f"wrote {args.scaling_plot}")
        return 0
    if args.task == "merge":
        from ._merge import merge_seed_files

        merged = merge_seed_files(args.paths, out=args.json)
        print(f"wrote {args.json}: {merged['task']} {merged.get('dataset')}, seeds "
              f"{merged['seeds']}")
        return 0
    if args.task == "demo":
        from ._demo import format_demo, run_demo

        print("skdd demo: generated seasonal series (4000 steps, 4 channels), 96 -> 96, "
              f"seeds {args.seeds}; train on the synthetic series, test on the real test split")
        rows = run_demo(seeds=args.seeds, eval_models=[m for m in args.eval.split(",") if m],
                        distillers=[d for d in args.distillers.split(",") if d])
        print(format_demo(rows))
        return 0
    try:
        params = json.loads(args.params)
        recipe = json.loads(args.recipe)
    except json.JSONDecodeError as exc:
        raise SystemExit(f"--params/--recipe must be JSON objects: {exc}")
    splits = None
    if args.dataset.lower() == "seasonal":
        from ..datasets import make_seasonal_series
        from ..forecasting import make_splits

        frame = make_seasonal_series(4000, 4, random_state=0, as_frame=True)
        splits = make_splits(frame, kind="custom", seq_len=args.seq_len, name="seasonal")
    result = run_forecast_benchmark(
        args.dataset, args.distiller, length=args.length, seq_len=args.seq_len,
        pred_len=args.pred_len, eval_models=[m for m in args.eval.split(",") if m],
        seeds=args.seeds, params=params, data_home=args.data_home, device=args.device,
        eval_split=args.eval_split, recipe=recipe, splits=splits, n_threads=args.threads,
        cache_dir=args.cache_dir)
    print(format_forecast_table(result))
    _write_json(result, args.json)
    return 0


def _write_json(result, path):
    if path:
        with open(path, "w") as fh:
            json.dump(result, fh, indent=2)
        print(f"wrote {path}")


def _classify_main(args):
    from ._classify import format_classify_table, run_classify_benchmark

    try:
        params, model, recipe = (json.loads(args.params), json.loads(args.eval_model),
                                 json.loads(args.recipe))
    except json.JSONDecodeError as exc:
        raise SystemExit(f"--params/--eval-model/--recipe must be JSON objects: {exc}")
    result = run_classify_benchmark(
        args.dataset, args.distiller, ipc=args.ipc, objective=args.objective, seeds=args.seeds,
        params=params, data_home=args.data_home, device=args.device, eval_split=args.eval_split,
        eval_model_kwargs=model, recipe=recipe, n_threads=args.threads,
        soft_labels={None: False, "only": True, "both": "both"}[args.soft_labels],
        cache_dir=args.cache_dir)
    print(format_classify_table(result))
    _write_json(result, args.json)
    return 0


def interrupt_on_sigterm():
    """Make SIGTERM raise :class:`KeyboardInterrupt` in the main thread.

    ``kill`` and batch schedulers stop a job with SIGTERM, which would end Python at once;
    as a KeyboardInterrupt it lets each distillation loop save its checkpoint first, as on
    Ctrl-C, so the same command with ``--cache-dir`` resumes with no work lost. Called by
    the command line only: a library import installs no signal handler.
    """
    import signal

    def stop(signum, frame):
        raise KeyboardInterrupt(f"stopped by signal {signum}")

    signal.signal(signal.SIGTERM, stop)


def run_cli(argv=None):
    """Run :func:`main` as the command line does; exit status 130 when interrupted.

    The process's allocator keeps freed memory for reuse (:func:`skdd.utils.tune_cpu_allocator`,
    42% less CPU time per DM update on MNIST) unless ``SKDD_TUNE_ALLOCATOR=0``.
    """
    interrupt_on_sigterm()
    if os.environ.get("SKDD_TUNE_ALLOCATOR", "1") != "0":
        from skdd.utils import tune_cpu_allocator

        tune_cpu_allocator()
    try:
        return main(argv)
    except KeyboardInterrupt as exc:
        print(f"interrupted ({exc or 'Ctrl-C'}); the loops saved their checkpoints: run the "
              "same command with the same --cache-dir to continue", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(run_cli())
