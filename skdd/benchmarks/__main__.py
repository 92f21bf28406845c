"""Command line: ``python -m skdd.benchmarks forecast --dataset ETTh1 --distiller random ...``.

Every subcommand's ``--help`` lists the names it accepts, read from the registries
(:data:`~skdd.benchmarks.FORECAST_DISTILLERS`, ``CLASSIFY_DISTILLERS``, the evaluation
recipes, the dataset loaders), and shows the defaults. A name that is not among them
ends the command with a usage error (exit status 2) before any work starts.

Progress: the long tasks (forecast, demo, classify, theorem1, fidelity) show a bar over
their runs (rows × seeds, with rate and ETA) and the distillers' own loop bars
(``verbose=1``), on stderr, when stderr is a terminal; ``--quiet`` turns them off.
Output to a file or a pipe (logs, tests) has no bars.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import textwrap


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Appends "(default: ...)" to an option's help, except where the default is None or
    False (flags, unset options: their help says what happens) or the help names it;
    wraps lines between words only (names such as ``hdt-base`` stay whole)."""

    def _get_help_string(self, action):
        text = action.help or ""
        if action.default in (None, False) or re.search(r"\(default\b", text):
            return text
        return super()._get_help_string(action)

    def _split_lines(self, text, width):
        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)


def _int_list(text):
    try:
        values = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")
    if not values:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")
    return values


def _float_list(text):
    try:
        values = [float(s) for s in text.split(",") if s.strip()]
    except ValueError:
        values = []
    if not values or not all(v > 0 and v < float("inf") for v in values):
        raise argparse.ArgumentTypeError(f"expected comma-separated positive numbers, got "
                                         f"{text!r}")
    return values


def _json_object(text):
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"expected a JSON object, got {text!r} ({exc})")
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object {{...}}, got {text!r}")
    return value


def _choice(names):
    """``type=`` for one of ``names``, matched case-insensitively (returns its spelling
    in ``names``)."""
    lookup = {str(n).lower(): str(n) for n in names}

    def parse(text):
        key = text.strip().lower()
        if key not in lookup:
            raise argparse.ArgumentTypeError(
                f"invalid choice: {text!r} (choose from {', '.join(lookup.values())})")
        return lookup[key]

    return parse


def _choice_list(names, allow_empty=False):
    """``type=`` for a comma-separated list of ``names`` (each checked as :func:`_choice`)."""
    one = _choice(names)

    def parse(text):
        items = [s.strip() for s in text.split(",") if s.strip()]
        if not items and not allow_empty:
            raise argparse.ArgumentTypeError(f"expected a comma-separated list, got {text!r}")
        try:
            return [one(item) for item in items]
        except argparse.ArgumentTypeError as exc:
            raise argparse.ArgumentTypeError(f"{exc} in {text!r}") from None

    return parse


def _names(names):
    return ", ".join(str(n) for n in names)


_CACHE_HELP = ("folder for each distillation's checkpoint (and expert trajectories, "
               "teachers): the same command resumes an interrupted run and reuses finished "
               "distillations")
_DATA_HOME_HELP = ("folder holding the data files ({what}); default: $SKDD_DATA_HOME, else "
                   "~/.cache/skdd")
_DEVICE_HELP = "torch device: auto (CUDA when available, else CPU), cpu, cuda or cuda:N"
_THREADS_HELP = "torch CPU threads per process (default: $SKDD_NUM_THREADS, else 1)"
_SEEDS_HELP = "comma-separated seeds; each seed is one run of the distiller and the evaluation"
_JSON_HELP = "also write the result to this JSON file"


_JOBS_HELP = ("seeds run as this many parallel tasks (joblib; one torch thread each unless "
              "--threads), with the same JSON as one after the other but for the wall "
              "times; -1: one per core")
_BACKEND_HELP = ("where the parallel tasks run: loky (local processes) or dask (a local Dask "
                 "cluster on 127.0.0.1 with --jobs workers, or the cluster of --scheduler; "
                 "needs pip install \"skdd[dask]\")")
_SCHEDULER_HELP = ("address of a running Dask scheduler (e.g. tcp://10.0.0.5:8786) for "
                   "--backend dask; it must answer within --scheduler-timeout")


def _add_forecast_run_options(task):
    """--data-home, --device, --threads, --json and --cache-dir of the forecasting tasks."""
    task.add_argument("--data-home", default=None,
                      help=_DATA_HOME_HELP.format(what="ett/*.csv(.gz), custom CSVs"))
    task.add_argument("--device", default="auto", help=_DEVICE_HELP)
    task.add_argument("--threads", type=int, default=None, help=_THREADS_HELP)
    task.add_argument("--json", default=None, metavar="PATH", help=_JSON_HELP)
    task.add_argument("--cache-dir", default=None, help=_CACHE_HELP)


def _add_parallel_options(task, jobs_help=_JOBS_HELP):
    """--jobs, --backend and --scheduler of the tasks that run independent units."""
    task.add_argument("--jobs", type=int, default=None, metavar="N", help=jobs_help)
    task.add_argument("--backend", choices=["loky", "dask"], default=None,
                      help=_BACKEND_HELP + " (default: loky)")
    task.add_argument("--scheduler", default=None, metavar="ADDRESS", help=_SCHEDULER_HELP)
    task.add_argument("--scheduler-timeout", type=float, default=10.0, metavar="SECONDS",
                      help="seconds to wait for --scheduler to answer")


def _check_parallel_options(parser, args):
    """Usage errors of --jobs / --scheduler before any work starts."""
    if args.jobs is not None and args.jobs == 0:
        parser.error("argument --jobs: must be a nonzero integer (-1: one per core), got 0")
    if args.scheduler is not None and args.backend != "dask":
        parser.error("argument --scheduler: needs --backend dask")
    if not args.scheduler_timeout > 0:
        parser.error(f"argument --scheduler-timeout: must be > 0, got {args.scheduler_timeout}")


def _parallel_errors(parser, call):
    """``call()``; an unreachable --scheduler or a missing dask ends the command with its
    message (exit status 1) instead of a traceback."""
    try:
        return call()
    except (ConnectionError, ImportError) as exc:
        parser.exit(1, f"{parser.prog}: error: {exc}\n")


def _forecast_datasets():
    from ..forecasting._protocol import ETT_NAMES

    return (*ETT_NAMES, "seasonal")


def build_parser():
    """The argument parser of ``python -m skdd.benchmarks`` (choices read from the
    registries when it is built)."""
    from ..classification._matching import _OBJECTIVES
    from ..datasets import UCR_BUNDLED_NAMES
    from ..forecasting import SYNTHETIC_RECIPES
    from ..forecasting._protocol import ETT_NAMES
    from ._classify import CV_FOLDS
    from ._forecast import EVAL_MODELS
    from ._registry import (CLASSIFY_DISTILLERS, FORECAST_DISTILLERS,
                            distributed_forecast_distillers)

    forecast_distillers = (*FORECAST_DISTILLERS, "full")
    classify_distillers = (*CLASSIFY_DISTILLERS, "full")
    eval_models = tuple(SYNTHETIC_RECIPES)  # the models with a training recipe
    forecast_datasets = _forecast_datasets()
    classify_datasets = ("mnist10k", "digits", *UCR_BUNDLED_NAMES)

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--quiet", action="store_true",
                        help="no progress bars (they are shown only when stderr is a "
                             "terminal)")

    parser = argparse.ArgumentParser(prog="python -m skdd.benchmarks",
                                     description="Reproduce the papers' tables with skdd.",
                                     formatter_class=_HelpFormatter)
    sub = parser.add_subparsers(dest="task", required=True, metavar="TASK",
                                help="what to run; 'python -m skdd.benchmarks TASK --help' "
                                     "lists its options")

    parser.task_parsers = {}

    def add(name, help, usage="%(prog)s [options]", **kwargs):
        task = sub.add_parser(name, help=help, description=help[:1].upper() + help[1:] + ".",
                              usage=usage, formatter_class=_HelpFormatter, **kwargs)
        parser.task_parsers[name] = task
        return task

    f = add("forecast", "long-term forecasting protocol: distil the train split, train each "
                        "evaluation model on the synthetic series, score it on the real test "
                        "split", parents=[common])
    f.add_argument("--dataset", default="ETTh1",
                   help=f"{_names(forecast_datasets)} ('seasonal': the generated series of "
                        "the demo, no download), or the name of a custom CSV in the data "
                        "home, or a path to one")
    f.add_argument("--distiller", type=_choice(forecast_distillers), default="random",
                   help=f"forecasting distiller: {_names(forecast_distillers)} ('full': the "
                        "whole train split, the reference)")
    f.add_argument("--length", type=int, default=384, metavar="M",
                   help="length M of the synthetic series (time steps)")
    f.add_argument("--seq-len", type=int, default=96,
                   help="input window of the evaluation models (time steps)")
    f.add_argument("--pred-len", type=int, default=96, help="forecast horizon (time steps)")
    f.add_argument("--eval", type=_choice_list(eval_models), default=",".join(EVAL_MODELS),
                   metavar="MODELS",
                   help=f"comma-separated evaluation models: {_names(eval_models)}")
    f.add_argument("--seeds", type=_int_list, default="0,1,2", help=_SEEDS_HELP)
    f.add_argument("--params", type=_json_object, default="{}", metavar="JSON",
                   help="extra distiller parameters, a JSON object (e.g. '{\"max_iter\": 100}')")
    _add_forecast_run_options(f)
    f.add_argument("--protocol", choices=["v1", "v2"], default="v2",
                   help="evaluation recipes: v2 per dataset and model, chosen on the "
                        "validation split (Random under its own recipe); v1 one recipe per "
                        "model for every dataset (the generated 'seasonal' series has only v1)")
    f.add_argument("--eval-split", choices=["test", "val"], default="test",
                   help="split the models are scored on: 'val' for choosing recipes and "
                        "settings; never tune on 'test'")
    f.add_argument("--recipe", type=_json_object, default="{}", metavar="JSON",
                   help="overrides of the evaluation recipe's fields (epochs, lr, batch_size, "
                        "...), a JSON object")
    f.add_argument("--distributed", action="store_true",
                   help="distil data-parallel under torchrun, one process per rank (gloo on "
                        "CPU, nccl on CUDA): the distiller's matches per iteration "
                        "(n_matches, default: the number of ranks) are split across the "
                        "ranks, every rank ends with the same synthetic series, rank 0 "
                        "evaluates it and writes the JSON; e.g. torchrun --nproc-per-node 2 "
                        "-m skdd.benchmarks forecast --distiller hdt --distributed. "
                        f"Distillers: {_names(distributed_forecast_distillers())}")
    _add_parallel_options(f)

    g = add("recipes", "choose protocol v2's synthetic-data recipes of a dataset on its "
                       "validation split", parents=[common])
    g.add_argument("--dataset", default="ETTh1",
                   help=f"{_names(forecast_datasets)}, or the name of a custom CSV in the data "
                        "home, or a path to one")
    g.add_argument("--distillers", type=_choice_list(FORECAST_DISTILLERS),
                   default="mtt,condtsf,hdt-paper,hdt", metavar="NAMES",
                   help="comma-separated distillers whose series are pooled for the distilled "
                        "rows' recipe (random is always evaluated, for its own recipe): "
                        f"{_names(FORECAST_DISTILLERS)}")
    g.add_argument("--eval", type=_choice_list(eval_models), default=",".join(EVAL_MODELS),
                   metavar="MODELS",
                   help=f"comma-separated evaluation models: {_names(eval_models)}")
    g.add_argument("--seeds", type=_int_list, default="0,1,2", help=_SEEDS_HELP)
    g.add_argument("--epochs", type=_int_list, default="5,10,20,40,80",
                   help="comma-separated epoch counts of the grid")
    g.add_argument("--lrs", type=_float_list, default="1e-4,3e-4,1e-3",
                   help="comma-separated learning rates of the grid")
    g.add_argument("--length", type=int, default=384, metavar="M",
                   help="length M of the synthetic series (time steps)")
    g.add_argument("--params", type=_json_object, default="{}", metavar="JSON",
                   help="extra parameters per distiller, a JSON object "
                        "{distiller: {parameter: value}}")
    _add_forecast_run_options(g)

    d = add("demo", "the embedded default: distil a generated seasonal series with each "
                    "forecasting distiller, train the evaluation models on each synthetic "
                    "series and compare with full data", parents=[common])
    d.add_argument("--seeds", type=_int_list, default="0,1,2", help=_SEEDS_HELP)
    d.add_argument("--eval", type=_choice_list(eval_models), default="dlinear",
                   metavar="MODELS",
                   help=f"comma-separated evaluation models: {_names(eval_models)}")
    d.add_argument("--distillers", type=_choice_list(FORECAST_DISTILLERS),
                   default="random,hdt", metavar="NAMES",
                   help="comma-separated forecasting distillers (full data is always added): "
                        f"{_names(FORECAST_DISTILLERS)}")

    r = add("report", "markdown tables from benchmark JSON files",
            usage="%(prog)s [options] PATH [PATH ...]")
    r.add_argument("paths", nargs="+", metavar="PATH", help="JSON files written with --json")
    r.add_argument("--metric", default="mse", choices=["mse", "mae"],
                   help="forecasting error shown")
    r.add_argument("--scaling-plot", default=None, metavar="PNG",
                   help="also plot the error against the synthetic length M (one dataset) "
                        "to this PNG file")
    r.add_argument("--model", type=_choice(eval_models), default="dlinear",
                   help=f"evaluation model of the scaling plot: {_names(eval_models)}")

    t = add("theorem1", "HDT's Theorem 1 along a distillation run: harmonic error against "
                        "autocorrelation gap", parents=[common])
    t.add_argument("--dataset", default="ETTh1",
                   help=f"{_names(forecast_datasets)}, or the name of a custom CSV in the data "
                        "home, or a path to one")
    t.add_argument("--distiller", type=_choice(FORECAST_DISTILLERS), default="hdt",
                   help=f"forecasting distiller: {_names(FORECAST_DISTILLERS)}")
    t.add_argument("--seeds", type=_int_list, default="0,1,2",
                   help="comma-separated seeds; each seed is one distillation run")
    t.add_argument("--every", type=int, default=10, help="record every N updates")
    t.add_argument("--max-lag", type=int, default=96,
                   help="largest lag K of the autocorrelation gap")
    t.add_argument("--length", type=int, default=384, metavar="M",
                   help="length M of the synthetic series (time steps)")
    t.add_argument("--params", type=_json_object, default="{}", metavar="JSON",
                   help="extra distiller parameters, a JSON object")
    t.add_argument("--data-home", default=None,
                   help=_DATA_HOME_HELP.format(what="ett/*.csv(.gz), custom CSVs"))
    t.add_argument("--device", default="auto", help=_DEVICE_HELP)
    t.add_argument("--json", default=None, metavar="PATH", help=_JSON_HELP)

    c = add("classify", "classification protocol: distil the training split, train a "
                        "ConvNet on the synthetic set, score it on the real test split",
            parents=[common])
    c.add_argument("--dataset", type=_choice(classify_datasets), default="mnist10k",
                   help=f"{_names(classify_datasets)} (mnist10k: 10,000 MNIST training "
                        "images; the UCR/UEA sets ship with sktime)")
    c.add_argument("--distiller", type=_choice(classify_distillers), default="random",
                   help=f"classification distiller: {_names(classify_distillers)} ('full': "
                        "the whole training split, the reference)")
    c.add_argument("--objective", default=None, choices=_OBJECTIVES,
                   help="FreD's matching objective (with --distiller fred; default: the "
                        "distiller's own)")
    c.add_argument("--ipc", type=int, default=1, help="budget: real-size samples per class")
    c.add_argument("--seeds", type=_int_list, default="0,1,2", help=_SEEDS_HELP)
    c.add_argument("--params", type=_json_object, default="{}", metavar="JSON",
                   help="extra distiller parameters, a JSON object")
    c.add_argument("--eval-model", type=_json_object, default="{}", metavar="JSON",
                   help="ConvNet arguments of the evaluation network (width, depth, ...), a "
                        "JSON object")
    c.add_argument("--recipe", type=_json_object, default="{}", metavar="JSON",
                   help="overrides of the evaluation recipe's fields, a JSON object")
    c.add_argument("--eval-split", choices=["test", "val", "cv"], default="test",
                   help=f"'val' holds out 20%% of the training split, 'cv' pools {CV_FOLDS} "
                        "stratified folds of it; never tune on 'test'")
    c.add_argument("--data-home", default=None, help=_DATA_HOME_HELP.format(what="mnist/*.gz"))
    c.add_argument("--device", default="auto", help=_DEVICE_HELP)
    c.add_argument("--threads", type=int, default=None, help=_THREADS_HELP)
    c.add_argument("--json", default=None, metavar="PATH", help=_JSON_HELP)
    c.add_argument("--cache-dir", default=None, help=_CACHE_HELP)
    c.add_argument("--distributed", action="store_true",
                   help="distil data-parallel under torchrun, one process per rank (gloo on "
                        "CPU, nccl on CUDA): DM's classes are split across the ranks, every "
                        "rank ends with the same synthetic set, rank 0 evaluates it and "
                        "writes the JSON; e.g. torchrun --nproc-per-node 2 -m "
                        "skdd.benchmarks classify --distiller dm --distributed. Distillers: "
                        f"{_names(DISTRIBUTED_CLASSIFY_DISTILLERS)} (objective dm)")
    c.add_argument("--soft-labels", nargs="?", const="only", default=None,
                   choices=["only", "both"],
                   help="train on the distiller's teacher soft labels (y_soft_: cfm, sre2l) "
                        "with knowledge distillation at its temperature; 'both' also trains "
                        "a network on the hard labels of the same distillation (default: "
                        "hard labels only; the flag alone means 'only')")
    _add_parallel_options(c)

    from ._suite import available_suites

    su = add("suite", "run every row x dataset x seed of a suite spec (a JSON file, or a "
                      f"shipped suite: {_names(available_suites())}) as parallel tasks, "
                      "resumable through --cache-dir, then write each row's JSON and print "
                      "the tables", usage="%(prog)s SPEC [options]", parents=[common])
    su.add_argument("spec", metavar="SPEC",
                    help="suite spec: a JSON file or the name of a shipped suite "
                         f"({_names(available_suites())}); its format is in the user "
                         "guide (docs/guide/scale_out.rst)")
    su.add_argument("--out", default=".", metavar="DIR",
                    help="folder the rows' JSON paths are relative to")
    su.add_argument("--cache-dir", default=None,
                    help="folder of the units' results, checkpoints, expert trajectories and "
                         "teachers: a killed suite run again reruns only the missing units "
                         "(default: OUT/cache)")
    su.add_argument("--data-home", default=None,
                    help=_DATA_HOME_HELP.format(what="ett/*.csv(.gz), mnist/*.gz, custom CSVs"))
    su.add_argument("--device", default="cpu", help=_DEVICE_HELP)
    su.add_argument("--threads", type=int, default=None,
                    help="torch CPU threads per unit (default: $SKDD_NUM_THREADS, else 1)")
    su.add_argument("--dry-run", action="store_true",
                    help="validate the spec and list the units (done or to run); run nothing")
    _add_parallel_options(su, jobs_help="units run as this many parallel tasks (joblib); "
                                        "-1: one per core")

    m = add("merge", "join JSON files of one command run for different seeds (e.g. "
                     "one-thread processes in parallel)",
            usage="%(prog)s --json PATH [options] PATH [PATH ...]")
    m.add_argument("paths", nargs="+", metavar="PATH", help="JSON files written with --json")
    m.add_argument("--json", required=True, metavar="PATH",
                   help="write the merged result to this file")

    fidelity_datasets = (*UCR_BUNDLED_NAMES, *ETT_NAMES)
    p = add("fidelity", "FID / IS / cFID of TimeVQVAE samples before and after the neural "
                        "mapper (NM-VQTSG)", parents=[common])
    p.add_argument("--dataset", type=_choice(fidelity_datasets), default="GunPoint",
                   help=f"{_names(fidelity_datasets)} (UCR/UEA sets ship with sktime; ETT: "
                        "windows of length 96)")
    p.add_argument("--seeds", type=_int_list, default="0,1,2",
                   help="comma-separated seeds; each seed trains the generator and the mapper "
                        "and draws the evaluation features")
    p.add_argument("--preset", choices=["cpu", "paper"], default="cpu",
                   help="size and schedule of the generator and the mapper")
    p.add_argument("--draws", type=int, default=3, help="sample draws averaged per seed")
    p.add_argument("--params", type=_json_object, default="{}", metavar="JSON",
                   help="extra TimeVQVAE parameters, a JSON object")
    p.add_argument("--mapper-params", type=_json_object, default="{}", metavar="JSON",
                   help="extra NeuralMapper parameters, a JSON object")
    p.add_argument("--num-features", type=int, default=10_000, help="MiniRocket features")
    p.add_argument("--distillers", type=_choice_list(CLASSIFY_DISTILLERS, allow_empty=True),
                   default="", metavar="NAMES",
                   help="comma-separated classification distillers also scored at --ipc, "
                        "next to generated sets of the same size (default: none): "
                        f"{_names(CLASSIFY_DISTILLERS)}")
    p.add_argument("--ipc", type=int, default=10, help="series per class of --distillers")
    p.add_argument("--data-home", default=None,
                   help=_DATA_HOME_HELP.format(what="ett/*.csv(.gz)"))
    p.add_argument("--device", default="auto", help=_DEVICE_HELP)
    p.add_argument("--threads", type=int, default=None, help=_THREADS_HELP)
    p.add_argument("--json", default=None, metavar="PATH", help=_JSON_HELP)
    _add_parallel_options(p)
    p.add_argument("--cache-dir", default=None,
                   help="folder for the generator's and the mapper's checkpoints: the same "
                        "command resumes an interrupted run and reuses finished stages")

    from ._speed import SPEED_DISTILLERS

    sp = add("speed", "time one optimisation step of a distiller: median CPU and wall "
                      "seconds over --repeats steps, and the peak memory (RSS on CPU, CUDA "
                      "max allocated on CUDA)")
    sp.add_argument("--distiller", type=_choice(SPEED_DISTILLERS), required=True,
                    help=f"{_names(SPEED_DISTILLERS)}")
    sp.add_argument("--params", type=_json_object, default="{}", metavar="JSON",
                    help="distiller parameters, a JSON object (the step count is set by the "
                         "task)")
    sp.add_argument("--repeats", type=int, default=5, help="timed steps (the median is kept)")
    sp.add_argument("--warmup", type=int, default=1, help="untimed steps first")
    sp.add_argument("--dataset", default=None,
                    help="data (default: 'seasonal' for hdt, mtt, condtsf; 'digits' for dm, "
                         "fred-dm, cfm; 'GunPoint' for the TimeVQVAE stages)")
    sp.add_argument("--ipc", type=int, default=1, help="samples per class (dm, fred-dm, cfm)")
    sp.add_argument("--length", type=int, default=384, metavar="M",
                    help="synthetic series length (hdt, mtt, condtsf)")
    sp.add_argument("--seq-len", type=int, default=96, help="input window (hdt, mtt, condtsf)")
    sp.add_argument("--pred-len", type=int, default=96, help="horizon (hdt, mtt, condtsf)")
    sp.add_argument("--data-home", default=None,
                    help=_DATA_HOME_HELP.format(what="the data files"))
    sp.add_argument("--device", default="cpu", help=_DEVICE_HELP)
    sp.add_argument("--threads", type=int, default=1, help=_THREADS_HELP)
    sp.add_argument("--json", default=None, metavar="PATH", help=_JSON_HELP)

    from ._tune import MODELS as tune_models

    u = add("tune", "hyperparameter search on distilled folds against the search on the full "
                    "folds (Spearman, top-1 regret, top-5 overlap, time)")
    u.add_argument("--dataset", type=_choice(classify_datasets), default="digits",
                   help=f"{_names(classify_datasets)}")
    u.add_argument("--distiller", type=_choice(CLASSIFY_DISTILLERS), default="dm",
                   help=f"classification distiller: {_names(CLASSIFY_DISTILLERS)}")
    u.add_argument("--ipc", type=int, default=10, help="budget: real-size samples per class")
    u.add_argument("--seeds", type=_int_list, default="0,1,2", help=_SEEDS_HELP)
    u.add_argument("--cv", type=int, default=3, help="stratified folds of the training split")
    u.add_argument("--models", type=_choice_list(tune_models), default=",".join(tune_models),
                   metavar="MODELS", help=f"comma-separated model families: {_names(tune_models)}")
    u.add_argument("--params", type=_json_object, default="{}", metavar="JSON",
                   help="extra distiller parameters, a JSON object")
    u.add_argument("--baselines", type=_choice_list((*CLASSIFY_DISTILLERS, "halving")),
                   default="random,halving", metavar="NAMES",
                   help="comma-separated baselines: a classification distiller and/or 'halving'")
    u.add_argument("--device", default="cpu", help=_DEVICE_HELP)
    u.add_argument("--data-home", default=None,
                   help=_DATA_HOME_HELP.format(what="mnist/*.gz"))
    u.add_argument("--json", default=None, metavar="PATH", help=_JSON_HELP)

    from ._tune_forecast import FORECAST_GRIDS

    v = add("tune-forecast", "rank a forecasting model's settings by validation MSE when "
                             "trained on a distilled series and on the full train split "
                             "(Spearman, top-1 regret, top-5 overlap, time)", parents=[common])
    v.add_argument("--dataset", default="ETTh1",
                   help=f"{_names(forecast_datasets)}, or the name of a custom CSV in the data "
                        "home, or a path to one")
    v.add_argument("--distiller", type=_choice(FORECAST_DISTILLERS), default="hdt",
                   help=f"forecasting distiller: {_names(FORECAST_DISTILLERS)}")
    v.add_argument("--model", type=_choice(FORECAST_GRIDS), default="dlinear",
                   help=f"the model whose settings are searched: {_names(FORECAST_GRIDS)} "
                        "(grids in skdd.benchmarks._tune_forecast.FORECAST_GRIDS)")
    v.add_argument("--baselines", type=_choice_list(FORECAST_DISTILLERS, allow_empty=True),
                   default="random", metavar="NAMES",
                   help="comma-separated baseline distillers (e.g. 'random': a random segment "
                        "of the same length)")
    v.add_argument("--length", type=int, default=384, metavar="M",
                   help="length M of the synthetic series")
    v.add_argument("--recipes", choices=["grid", "protocol"], default="grid",
                   help="search the model's recipe x architecture grid with one recipe family "
                        "on both data, or its architecture grid with each data kind's "
                        "protocol v2 recipe (models: itransformer)")
    v.add_argument("--updates", choices=["epochs", "matched"], default="epochs",
                   help="train a candidate on a distilled series for its epochs, or for as "
                        "many optimiser updates as on the full train split")
    v.add_argument("--seeds", type=_int_list, default="0,1,2", help=_SEEDS_HELP)
    v.add_argument("--params", type=_json_object, default="{}", metavar="JSON",
                   help="extra parameters of --distiller, a JSON object")
    _add_forecast_run_options(v)
    return parser


def _show_progress(args):
    """Bars on (``verbose=1`` for the distillers) unless --quiet or stderr is no terminal."""
    return not getattr(args, "quiet", True) and sys.stderr.isatty()


def _load_forecast_splits(parser, args, seq_len):
    """The splits of ``--dataset``; an unknown name (no ETT name, no CSV found) is a usage
    error of the task's parser."""
    from ..forecasting import load_forecasting_splits
    from ._demo import default_splits

    parser = parser.task_parsers[args.task]
    if args.dataset.lower() == "seasonal":
        return default_splits(seq_len)
    try:
        return load_forecasting_splits(args.dataset, seq_len=seq_len, data_home=args.data_home)
    except FileNotFoundError as exc:
        known = _forecast_datasets()
        if args.dataset.lower() in {n.lower() for n in known}:  # a known set, file missing
            parser.exit(1, f"{parser.prog}: error: {exc}\n")
        parser.error(f"argument --dataset: invalid choice: {args.dataset!r} (choose from "
                     f"{_names(known)}, or the name of a CSV in the data home, or a path to "
                     "one; no such file was found)")


def main(argv=None):
    """Run one subcommand; returns the exit status (argparse exits with 2 on a usage
    error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    progress = _show_progress(args)
    verbose = int(progress)
    if args.task == "classify":
        return _classify_main(parser, args, progress)
    if args.task == "suite":
        return _suite_main(parser, args, progress)
    if args.task == "theorem1":
        from ._theorem1 import format_theorem1_table, run_theorem1_check

        splits = _load_forecast_splits(parser, args, seq_len=96)
        result = run_theorem1_check(args.dataset, args.distiller, seeds=args.seeds,
                                    every=args.every, max_lag=args.max_lag, length=args.length,
                                    params=args.params, device=args.device, splits=splits,
                                    log=_log, progress=progress, verbose=verbose)
        print(format_theorem1_table(result))
        _write_json(result, args.json)
        return 0
    if args.task == "recipes":
        from ._recipes import format_recipe_table, run_recipe_selection

        splits = _load_forecast_splits(parser, args, seq_len=96)
        result = run_recipe_selection(
            args.dataset, distillers=args.distillers, eval_models=args.eval, seeds=args.seeds,
            epochs=args.epochs, lrs=args.lrs, length=args.length, params=args.params,
            data_home=args.data_home, device=args.device, n_threads=args.threads,
            cache_dir=args.cache_dir, splits=splits, log=_log)
        print(format_recipe_table(result))
        _write_json(result, args.json)
        return 0
    if args.task == "speed":
        from ._speed import format_speed, run_speed

        if args.repeats < 1 or args.warmup < 0:
            parser.task_parsers["speed"].error("argument --repeats: must be >= 1 (and "
                                               "--warmup >= 0)")
        result = run_speed(args.distiller, params=args.params, repeats=args.repeats,
                           warmup=args.warmup, device=args.device, dataset=args.dataset,
                           data_home=args.data_home, ipc=args.ipc, length=args.length,
                           seq_len=args.seq_len, pred_len=args.pred_len,
                           n_threads=args.threads)
        print(format_speed(result))
        _write_json(result, args.json)
        return 0
    if args.task == "tune-forecast":
        from ._tune_forecast import format_forecast_tune_table, run_forecast_tune

        from ._tune_forecast import ARCHITECTURE_GRIDS

        if args.recipes == "protocol" and args.model not in ARCHITECTURE_GRIDS:
            parser.task_parsers["tune-forecast"].error(
                f"argument --recipes: 'protocol' searches an architecture grid, which "
                f"{args.model!r} has not; choose --model {', '.join(ARCHITECTURE_GRIDS)}")
        splits = _load_forecast_splits(parser, args, seq_len=96)
        result = run_forecast_tune(
            args.dataset, args.distiller, model=args.model, seeds=args.seeds,
            baselines=args.baselines, length=args.length, params=args.params,
            updates=args.updates, recipes=args.recipes,
            device=args.device, n_threads=args.threads, data_home=args.data_home,
            cache_dir=args.cache_dir, splits=splits, log=_log)
        print(format_forecast_tune_table(result))
        _write_json(result, args.json)
        return 0
    if args.task == "tune":
        from ._tune import tune_main

        _write_json(tune_main(args), args.json)
        return 0
    if args.task == "fidelity":
        from ._fidelity import fidelity_main

        task_parser = parser.task_parsers["fidelity"]
        _check_parallel_options(task_parser, args)
        _write_json(_parallel_errors(task_parser, lambda: fidelity_main(
            args, log=_log, progress=progress, verbose=verbose)), args.json)
        return 0
    if args.task == "report":
        from ._report import cfm_report, classify_report, forecast_report, recipes_report

        print(forecast_report(args.paths, metric=args.metric))
        print(recipes_report(args.paths))
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
        rows = run_demo(seeds=args.seeds, eval_models=args.eval, distillers=args.distillers,
                        progress=progress, verbose=verbose)
        print(format_demo(rows))
        return 0
    from ._forecast import format_forecast_table, run_forecast_benchmark

    splits = _load_forecast_splits(parser, args, seq_len=args.seq_len)
    if args.protocol == "v2":  # a dataset without v2 recipes is a usage error, not a traceback
        from ..forecasting import SYNTHETIC_RECIPES_V2, get_recipe
        from ._forecast import data_kind

        try:
            for model in args.eval:
                get_recipe(model, data_kind(args.distiller), protocol="v2", dataset=splits.name)
        except ValueError as exc:  # a dataset with a partial table: the fix is --eval
            option = "--eval" if splits.name in SYNTHETIC_RECIPES_V2 else "--protocol"
            parser.task_parsers["forecast"].error(f"argument {option}: {exc}")
    _check_parallel_options(parser.task_parsers["forecast"], args)
    main_rank = True
    if args.distributed:
        from ._registry import distributed_forecast_distillers

        main_rank = _start_distributed(parser.task_parsers["forecast"], args,
                                       distributed_forecast_distillers())
    kwargs = dict(
        dataset=args.dataset, distiller=args.distiller, length=args.length, seq_len=args.seq_len,
        pred_len=args.pred_len, eval_models=args.eval if main_rank else (), params=args.params,
        data_home=args.data_home, device=args.device, eval_split=args.eval_split,
        recipe=args.recipe, splits=splits, n_threads=args.threads, cache_dir=args.cache_dir,
        verbose=verbose if main_rank else 0, protocol=args.protocol)
    result = _run_seeds(parser.task_parsers["forecast"], args, run_forecast_benchmark, kwargs,
                        progress, main_rank, in_tasks={"splits": None})  # tasks load them
    if main_rank:
        print(format_forecast_table(result))
        _write_json(result, args.json)
    return 0


def _start_distributed(task_parser, args, supported, n_matches=True):
    """Join the process group torchrun describes (``--distributed``); True on rank 0.

    ``supported`` names the distillers that split their work across ranks. With
    ``n_matches``, sets the distiller's ``n_matches`` to the number of ranks unless
    ``--params`` gives it. On CUDA each rank gets its own device (``cuda:LOCAL_RANK``).
    """
    import os
    from datetime import timedelta

    import torch

    from ..utils import resolve_device

    missing = [k for k in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
               if k not in os.environ]
    if missing:
        task_parser.error(
            f"argument --distributed: no torch.distributed process to join ({', '.join(missing)} "
            "not set); start the command under torchrun, e.g. torchrun --nproc-per-node 2 "
            "-m skdd.benchmarks forecast --distiller hdt --distributed")
    if args.jobs is not None or args.backend is not None:
        task_parser.error("argument --distributed: runs one distillation over the ranks; "
                          "--jobs / --backend run independent seeds, use one or the other")
    if args.distiller not in supported:
        task_parser.error(
            f"argument --distributed: distiller {args.distiller!r} does not split its work "
            f"across ranks; choose one of {', '.join(supported)}")
    device = resolve_device(args.device)
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        torch.cuda.set_device(device)
        args.device = str(device)
    torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo",
                                         timeout=timedelta(minutes=30))
    if n_matches:
        args.params = dict(args.params)
        args.params.setdefault("n_matches", torch.distributed.get_world_size())
    return torch.distributed.get_rank() == 0


def _log(message):
    """Print a line of a running task above its progress bars (stdout)."""
    from tqdm.auto import tqdm

    tqdm.write(message)


def _write_json(result, path):
    if path:
        with open(path, "w") as fh:
            json.dump(result, fh, indent=2)
        print(f"wrote {path}")


def _classify_main(parser, args, progress):
    from ._classify import format_classify_table, run_classify_benchmark

    parser = parser.task_parsers["classify"]
    if args.objective is not None and args.distiller != "fred":
        parser.error(f"argument --objective: applies to --distiller fred only, not "
                     f"{args.distiller!r}")
    if args.soft_labels and args.distiller == "full":
        parser.error("argument --soft-labels: needs a distiller with a teacher (e.g. cfm, "
                     "sre2l), not 'full'")

    _check_parallel_options(parser, args)
    main_rank = True
    if args.distributed:
        if args.distiller == "fred" and args.objective not in (None, "dm"):
            parser.error(f"argument --distributed: fred splits its work across ranks with "
                         f"objective 'dm' only, not {args.objective!r}")
        main_rank = _start_distributed(parser, args, DISTRIBUTED_CLASSIFY_DISTILLERS,
                                       n_matches=False)
    kwargs = dict(
        dataset=args.dataset, distiller=args.distiller, ipc=args.ipc, objective=args.objective,
        params=args.params, data_home=args.data_home, device=args.device,
        eval_split=args.eval_split, eval_model_kwargs=args.eval_model, recipe=args.recipe,
        n_threads=args.threads,
        soft_labels={None: False, "only": True, "both": "both"}[args.soft_labels],
        cache_dir=args.cache_dir, verbose=int(progress and main_rank))
    result = _run_seeds(parser, args, run_classify_benchmark, kwargs, progress, main_rank)
    if main_rank:
        print(format_classify_table(result))
        _write_json(result, args.json)
    return 0


#: classification distillers that split their work across ranks (DM's classes)
DISTRIBUTED_CLASSIFY_DISTILLERS = ("dm", "fred")


def _run_seeds(parser, args, run, kwargs, progress, main_rank, in_tasks=None):
    """``run`` over ``--seeds``: as parallel tasks with --jobs / --backend (``in_tasks``
    replaces arguments there), else here (logging on the main rank only); leaves the
    process group of --distributed at the end."""
    try:
        if args.jobs is not None or args.backend is not None:
            return _run_seeds_parallel(parser, args, run, dict(kwargs, **(in_tasks or {})),
                                       progress)
        return run(seeds=args.seeds, log=_log if main_rank else None,
                   progress=progress and main_rank, **kwargs)
    finally:
        if args.distributed:
            import torch.distributed

            torch.distributed.destroy_process_group()


def _run_seeds_parallel(parser, args, run, kwargs, progress):
    """The seeds of ``forecast`` / ``classify`` as parallel tasks (--jobs, --backend)."""
    from ..utils import resolve_n_threads
    from ._parallel import run_seeds_in_parallel

    kwargs = dict(kwargs, verbose=0)  # no loop bars from the workers
    return _parallel_errors(parser, lambda: run_seeds_in_parallel(
        run, args.seeds, kwargs, jobs=args.jobs, backend=args.backend,
        scheduler=args.scheduler, scheduler_timeout=args.scheduler_timeout,
        threads=resolve_n_threads(args.threads), log=_log,
        progress=progress, desc=f"{args.task} {args.dataset} {args.distiller}"))


def _suite_main(parser, args, progress):
    from ._report import cfm_report, classify_report, forecast_report
    from ._suite import SuiteSpecError, run_suite

    parser = parser.task_parsers["suite"]
    _check_parallel_options(parser, args)
    try:
        written = _parallel_errors(parser, lambda: run_suite(
            args.spec, out=args.out, cache_dir=args.cache_dir, jobs=args.jobs,
            backend=args.backend, scheduler=args.scheduler,
            scheduler_timeout=args.scheduler_timeout, data_home=args.data_home,
            device=args.device, n_threads=args.threads, dry_run=args.dry_run, log=_log,
            progress=progress))
    except SuiteSpecError as exc:
        parser.error(str(exc))
    paths = [str(p) for p in written]
    if paths:
        for table in (forecast_report(paths), classify_report(paths), cfm_report(paths)):
            if table.strip():
                print(table)
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
