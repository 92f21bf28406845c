"""The benchmark runner: registry, JSON shape, CLI, and the README's demo command."""
import json

import numpy as np
import pytest

from skdd.benchmarks import (FORECAST_DISTILLERS, format_forecast_table,
                             register_forecast_distiller, run_forecast_benchmark)
from skdd.benchmarks.__main__ import main
from skdd.datasets import make_seasonal_series
from skdd.forecasting import make_splits


@pytest.fixture(scope="module")
def splits():
    frame = make_seasonal_series(1200, 3, random_state=0, as_frame=True)
    return make_splits(frame, kind="custom", seq_len=48, name="seasonal")


def _run(splits, distiller, **kw):
    kw = {"length": 120, "seq_len": 48, "pred_len": 24, "eval_models": ["dlinear", "xpatch"],
          "seeds": [0, 1], "splits": splits, "recipe": {"epochs": 2}, "log": None,
          "protocol": "v1", **kw}
    return run_forecast_benchmark("seasonal", distiller, **kw)


def test_result_has_the_documented_shape(splits):
    res = _run(splits, "random")
    assert res["task"] == "forecast" and res["dataset"] == "seasonal"
    assert res["distiller"] == "random" and res["length"] == 120
    assert res["seq_len"] == 48 and res["pred_len"] == 24 and res["seeds"] == [0, 1]
    assert len(res["distill_seconds"]) == 2 and isinstance(res["params"], dict)
    for model in ("dlinear", "xpatch"):
        for key in ("mse", "mae", "train_seconds"):
            assert len(res["results"][model][key]) == 2
    assert {"skdd", "torch"} <= set(res["versions"]) and res["device"]
    json.dumps(res)  # serialisable
    table = format_forecast_table(res)
    assert "dlinear" in table and "±" in table


def test_runs_are_reproducible_per_seed(splits):
    a = _run(splits, "random", eval_models=["dlinear"])
    b = _run(splits, "random", eval_models=["dlinear"])
    assert a["results"]["dlinear"]["mse"] == b["results"]["dlinear"]["mse"]


def test_full_data_reference_uses_the_whole_train_split(splits):
    res = _run(splits, "full", eval_models=["dlinear"], recipe={"epochs": 2, "patience": 1})
    assert res["length"] == len(splits.train)
    assert res["recipes"]["dlinear"]["patience"] == 1


def test_registry_and_unknown_names(splits):
    with pytest.raises(ValueError, match="distiller='nope'"):
        _run(splits, "nope")
    with pytest.raises(ValueError, match="model='lstm'"):
        _run(splits, "random", eval_models=["lstm"])
    with pytest.raises(ValueError, match="reserved"):
        register_forecast_distiller("full", lambda **kw: None)
    with pytest.raises(ValueError, match="eval_split"):
        _run(splits, "random", eval_split="train")
    assert "random" in FORECAST_DISTILLERS


def test_cli_writes_json(tmp_path, capsys):
    out = tmp_path / "out.json"
    main(["forecast", "--dataset", "seasonal", "--distiller", "random", "--length", "200",
          "--seq-len", "48", "--pred-len", "24", "--eval", "dlinear", "--seeds", "0",
          "--recipe", '{"epochs": 2}', "--protocol", "v1", "--json", str(out)])
    res = json.loads(out.read_text())
    assert res["results"]["dlinear"]["mse"][0] > 0 and res["protocol"] == "v1"
    assert "MSE" in capsys.readouterr().out


def test_cli_on_real_ett(data_home, tmp_path):
    from conftest import require_file

    require_file(data_home, "ett/ETTh1.csv.gz")
    out = tmp_path / "etth1.json"
    main(["forecast", "--dataset", "ETTh1", "--distiller", "random", "--eval", "dlinear",
          "--seeds", "0", "--data-home", str(data_home), "--recipe", '{"epochs": 1}',
          "--protocol", "v1", "--json", str(out)])
    res = json.loads(out.read_text())
    assert res["dataset"] == "ETTh1" and res["length"] == 384


def test_readme_demo_command_runs(capsys):
    main(["demo", "--seeds", "0", "--distillers", "random"])
    out = capsys.readouterr().out
    assert "random" in out and "full" in out and "gap closed" in out


def test_report_merges_files_and_shows_gap_closure(splits, tmp_path, capsys):
    paths = []
    for name, models in [("random", ["dlinear"]), ("full", ["dlinear"]), ("random", ["xpatch"])]:
        res = _run(splits, name, eval_models=models,
                   recipe={"epochs": 2, **({"patience": 1} if name == "full" else {})})
        paths.append(tmp_path / f"{name}_{models[0]}.json")
        paths[-1].write_text(json.dumps(res))
    # a fake distiller row halfway between random and full
    fake = json.loads(paths[0].read_text())
    rnd = np.mean(fake["results"]["dlinear"]["mse"])
    full = np.mean(json.loads(paths[1].read_text())["results"]["dlinear"]["mse"])
    fake["distiller"] = "halfway"
    fake["results"]["dlinear"]["mse"] = [(rnd + full) / 2] * 2
    paths.append(tmp_path / "halfway.json")
    paths[-1].write_text(json.dumps(fake))
    main(["report", *map(str, paths)])
    out = capsys.readouterr().out
    random_row = next(line for line in out.splitlines() if line.startswith("| random"))
    assert "dlinear" in out and "xpatch" in out and random_row.count("±") == 2
    assert "[50%]" in next(line for line in out.splitlines() if line.startswith("| halfway"))


def test_report_full_data_joins_every_protocol(splits, tmp_path, capsys):
    """Full data trains under one recipe whatever the protocol: a v1 full-data result
    (dlinear) and a v2 one (xpatch) are both references of the v2 table, and of the v1 one."""
    def write(name, models, protocol, recipe):
        res = _run(splits, name, eval_models=models, recipe=recipe)
        res["protocol"] = protocol
        path = tmp_path / f"{name}_{protocol}_{models[0]}.json"
        path.write_text(json.dumps(res))
        return path

    paths = [write("full", ["dlinear"], "v1", {"epochs": 2, "patience": 1}),
             write("full", ["xpatch"], "v2", {"epochs": 1, "patience": 1}),
             write("random", ["dlinear", "xpatch"], "v2", {"epochs": 2}),
             write("random", ["dlinear"], "v1", {"epochs": 2})]
    main(["report", *map(str, paths)])
    out = capsys.readouterr().out
    tables = out.split("**")[1:]
    v1 = next(t for t in tables if "protocol" not in t and "MSE" in t)
    v2 = next(t for t in tables if "protocol v2" in t)
    for table in (v1, v2):
        full = next(line for line in table.splitlines() if line.startswith("| full"))
        assert full.count("±") == 2  # dlinear from the v1 run, xpatch from the v2 run


def test_report_keeps_validation_results_apart(splits, tmp_path, capsys):
    paths = []
    for split in ("test", "val"):
        res = _run(splits, "random", eval_models=["dlinear"], recipe={"epochs": 2},
                   eval_split=split)
        paths.append(tmp_path / f"random_{split}.json")
        paths[-1].write_text(json.dumps(res))
    main(["report", *map(str, paths)])
    out = capsys.readouterr().out
    headings = [line for line in out.splitlines() if line.startswith("**")]
    # one table per split, the test table first, each named by its split
    assert len(headings) == 2
    assert "test MSE" in headings[0] and "val MSE" in headings[1]


def test_scaling_plot_writes_a_png(splits, tmp_path):
    pytest.importorskip("matplotlib")
    paths = []
    for length in (80, 120):
        res = _run(splits, "random", length=length, eval_models=["dlinear"])
        paths.append(tmp_path / f"r{length}.json")
        paths[-1].write_text(json.dumps(res))
    out = tmp_path / "scaling.png"
    main(["report", *map(str, paths), "--scaling-plot", str(out)])
    assert out.exists() and out.stat().st_size > 1000


def test_classify_task_writes_the_requested_json(tmp_path):
    import json

    from skdd.benchmarks.__main__ import main
    from skdd.benchmarks._classify import run_classify_benchmark

    out = tmp_path / "fred.json"
    params = '{"max_iter": 2, "net_width": 8, "net_depth": 2, "n_coefficients": 32}'
    assert main(["classify", "--dataset", "digits", "--distiller", "fred", "--objective", "dm",
                 "--ipc", "1", "--seeds", "0,1", "--params", params, "--eval-model",
                 '{"width": 8}', "--recipe", '{"epochs": 2}', "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["task"] == "classify" and res["objective"] == "dm" and res["ipc"] == 1
    assert len(res["results"]["convnet"]["acc"]) == 2 and len(res["distill_seconds"]) == 2
    assert res["n_synthetic"] == [20, 20] and res["n_stored"][0] <= res["n_real_floats_budget"]
    full = run_classify_benchmark("digits", "full", seeds=[0], recipe={"epochs": 1},
                                  eval_model_kwargs={"width": 8}, eval_split="val", log=None)
    assert full["n_synthetic"] == [1347 - 270] and full["ipc"] is None  # 20% held out
    with pytest.raises(ValueError, match="objective"):
        run_classify_benchmark("digits", "dm", objective="dc", seeds=[0], log=None)
    with pytest.raises(ValueError, match="unknown"):
        run_classify_benchmark("digits", "kd", seeds=[0], log=None)


def test_classify_cross_validation_scores_every_training_sample_once():
    from skdd.benchmarks._classify import CV_FOLDS, load_classification_splits, \
        run_classify_benchmark

    X, _, y, _, _ = load_classification_splits("digits")
    res = run_classify_benchmark("digits", "random", ipc=1, seeds=[0, 1], eval_split="cv",
                                 recipe={"epochs": 2}, eval_model_kwargs={"width": 8}, log=None)
    assert res["eval_split"] == "cv" and res["cv_folds"] == CV_FOLDS
    assert sum(res["cv_held_out"]) == len(y) and len(res["cv_held_out"]) == CV_FOLDS
    # pooled over folds: accuracy x n is the number of correctly scored training samples
    for acc in res["results"]["convnet"]["acc"]:
        assert 0 < acc < 1 and abs(acc * len(y) - round(acc * len(y))) < 1e-6
    assert len(res["distill_seconds"]) == 2 and res["n_synthetic"] == [10, 10]
    with pytest.raises(ValueError, match="'test', 'val' or 'cv'"):
        run_classify_benchmark("digits", "random", eval_split="folds", log=None)
    labels = (np.arange(12) < 3).astype(np.int64)          # a class of 3 samples
    few = (X[:12], X[:12], labels, labels, "tiny")
    with pytest.raises(ValueError, match="at least 5 training samples of every class"):
        run_classify_benchmark("tiny", "random", splits=few, eval_split="cv", log=None)


def test_classify_report_names_a_fred_row_with_its_k(tmp_path):
    import json

    from skdd.benchmarks._classify import run_classify_benchmark
    from skdd.benchmarks._report import classify_report

    paths = []
    for extra in ({}, {"n_coefficients": 0.5}):
        res = run_classify_benchmark(
            "digits", "fred", objective="dm", ipc=1, seeds=[0], recipe={"epochs": 1},
            params={"max_iter": 1, "net_width": 8, **extra}, eval_model_kwargs={"width": 8},
            log=None)
        paths.append(tmp_path / f"fred{len(paths)}.json")
        paths[-1].write_text(json.dumps(res))
    rows = [line.split(" | ")[0] for line in classify_report(paths).splitlines()
            if line.startswith("| FreD")]
    assert rows == ["| FreD (DM)", "| FreD (DM), k = 0.5 D"]


def test_theorem1_task_records_both_quantities_along_the_run():
    from skdd.benchmarks._theorem1 import format_theorem1_table, run_theorem1_check

    frame = make_seasonal_series(1200, 3, random_state=0, as_frame=True)
    splits = make_splits(frame, kind="custom", seq_len=96, name="seasonal")
    params = dict(n_harmonics=8, max_iter=6, n_experts=1, expert_epochs=1, batch_size=16,
                  n_subsequences=4)
    res = run_theorem1_check("seasonal", "hdt-paper", seeds=[0], every=2, max_lag=24, length=200,
                             params=params, splits=splits, log=None)
    rec = res["records"]["0"]
    assert rec["iteration"] == [2, 4, 6]
    assert len(rec["harmonic_error"]) == len(rec["acf_gap"]) == 3
    assert all(0 <= g <= 2 for g in rec["acf_gap"]) and all(h >= 0 for h in rec["harmonic_error"])
    assert "Spearman" in format_theorem1_table(res)


def test_merge_joins_per_seed_runs_into_the_multi_seed_result(splits, tmp_path, capsys):
    from skdd.benchmarks._merge import merge_seed_runs

    both = _run(splits, "random", eval_models=["dlinear"])
    parts = [_run(splits, "random", eval_models=["dlinear"], seeds=[s]) for s in (0, 1)]
    merged = merge_seed_runs(parts)
    assert merged["seeds"] == [0, 1] and len(merged["distill_seconds"]) == 2
    for key in ("mse", "mae", "epochs"):
        assert merged["results"]["dlinear"][key] == both["results"]["dlinear"][key]
    assert {k: v for k, v in merged.items() if k not in ("results", "distill_seconds")} == \
        {k: v for k, v in both.items() if k not in ("results", "distill_seconds")}

    paths = []
    for part in parts:
        paths.append(tmp_path / f"s{part['seeds'][0]}.json")
        paths[-1].write_text(json.dumps(part))
    out = tmp_path / "merged.json"
    assert main(["merge", *map(str, paths), "--json", str(out)]) == 0
    assert json.loads(out.read_text())["results"]["dlinear"]["mse"] == \
        both["results"]["dlinear"]["mse"]
    assert "seeds [0, 1]" in capsys.readouterr().out

    with pytest.raises(ValueError, match="at least two"):
        merge_seed_runs(parts[:1])
    with pytest.raises(ValueError, match="seeds \\[0\\]"):
        merge_seed_runs([parts[0], parts[0]])
    other = _run(splits, "random", eval_models=["dlinear"], seeds=[1], length=130)
    with pytest.raises(ValueError, match="'length'"):
        merge_seed_runs([parts[0], other])
    with pytest.raises(ValueError, match="unknown benchmark task"):
        merge_seed_runs([{"task": "x", "seeds": [0]}, {"task": "x", "seeds": [1]}])
    # seeds run on different machines keep their machine, one entry per seed
    moved = dict(parts[1], machine="elsewhere")
    assert merge_seed_runs([parts[0], moved])["machine"] == [parts[0]["machine"], "elsewhere"]
    assert merge_seed_runs(parts)["machine"] == parts[0]["machine"]
    # merging a merged file again keeps one machine per seed
    two = merge_seed_runs([parts[0], moved])
    third = dict(parts[0], seeds=[7], machine="elsewhere")
    assert merge_seed_runs([two, third])["machine"] == [parts[0]["machine"], "elsewhere",
                                                        "elsewhere"]


def test_merge_unions_records_keyed_by_seed():
    from skdd.benchmarks._merge import merge_seed_runs

    runs = [{"task": "theorem1", "dataset": "d", "seeds": [s],
             "records": {str(s): {"iteration": [1, 2], "spearman": 0.5 * s}}} for s in (2, 0)]
    merged = merge_seed_runs(runs)
    assert merged["seeds"] == [2, 0]
    assert merged["records"] == {"2": {"iteration": [1, 2], "spearman": 1.0},
                                 "0": {"iteration": [1, 2], "spearman": 0.0}}


def test_cache_dir_resumes_an_interrupted_run_and_reuses_finished_ones(tmp_path):
    from skdd.base import observe_optimization
    from skdd.benchmarks._classify import run_classify_benchmark

    kw = dict(ipc=1, seeds=[0], params={"max_iter": 4, "net_width": 8, "net_depth": 2,
                                         "checkpoint_every": 1},
              eval_model_kwargs={"width": 8}, recipe={"epochs": 2}, log=None)
    plain = run_classify_benchmark("digits", "dm", **kw)
    assert plain["resumed"] == [False]

    def stop_at_two(est, iteration, synthetic):
        if iteration == 2:
            raise KeyboardInterrupt

    with observe_optimization(stop_at_two), pytest.raises(KeyboardInterrupt):
        run_classify_benchmark("digits", "dm", cache_dir=tmp_path, **kw)
    (checkpoint,) = (tmp_path / "checkpoints").glob("classify-digits-dm-ipc1-test-seed0-*.pt")
    resumed = run_classify_benchmark("digits", "dm", cache_dir=tmp_path, **kw)
    again = run_classify_benchmark("digits", "dm", cache_dir=tmp_path, **kw)
    assert resumed["resumed"] == again["resumed"] == [True]
    # the interrupted-and-resumed run ends where the uninterrupted one did
    for run in (resumed, again):
        for key in ("acc", "loss"):
            assert run["results"]["convnet"][key] == plain["results"]["convnet"][key]
    # other parameters, another checkpoint; a checkpoint_path given by the user wins
    other = run_classify_benchmark("digits", "dm", cache_dir=tmp_path,
                                   **{**kw, "params": {**kw["params"], "max_iter": 3}})
    assert other["resumed"] == [False]

    def distillations():
        return [p for p in (tmp_path / "checkpoints").glob("*.pt") if "-eval-" not in p.name]

    assert len(distillations()) == 2
    mine = tmp_path / "mine.pt"
    run_classify_benchmark("digits", "dm", cache_dir=tmp_path,
                           **{**kw, "params": {**kw["params"], "checkpoint_path": str(mine)}})
    assert mine.exists() and len(distillations()) == 2
    not_a_folder = tmp_path / "file.txt"
    not_a_folder.write_text("x")
    with pytest.raises(ValueError, match="cache_dir=.*is a file"):
        run_classify_benchmark("digits", "dm", cache_dir=not_a_folder, **kw)
    # a distiller without a loop (random) runs as before
    assert run_classify_benchmark("digits", "random", cache_dir=tmp_path,
                                  **{**kw, "params": {}})["resumed"] == [False]


def test_cache_dir_resumes_an_interrupted_full_data_training(tmp_path, monkeypatch):
    import torch

    import skdd.base
    import skdd.classification._protocol as protocol
    from skdd.benchmarks._classify import run_classify_benchmark

    kw = dict(seeds=[0], eval_model_kwargs={"width": 8, "depth": 2},
              recipe={"epochs": 3, "batch_size": 512}, log=None)
    plain = run_classify_benchmark("digits", "full", **kw)
    monkeypatch.setattr(skdd.base, "CHECKPOINT_SECONDS", 0.0)
    calls, original = [], protocol.F.cross_entropy

    def interrupting(*args, **kwargs):  # the first batch of the second epoch
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(protocol.F, "cross_entropy", interrupting)
    with pytest.raises(KeyboardInterrupt):
        run_classify_benchmark("digits", "full", cache_dir=tmp_path, **kw)
    monkeypatch.setattr(protocol.F, "cross_entropy", original)
    (progress,) = (tmp_path / "checkpoints").glob("classify-digits-full-test-seed0-eval-*.pt")
    assert torch.load(progress, weights_only=True)["epoch"] == 1
    resumed = run_classify_benchmark("digits", "full", cache_dir=tmp_path, **kw)
    assert resumed["resumed"] == [True] and plain["resumed"] == [False]
    assert resumed["results"]["convnet"]["acc"] == plain["results"]["convnet"]["acc"]
    assert resumed["results"]["convnet"]["loss"] == plain["results"]["convnet"]["loss"]


def test_cache_dir_of_the_forecast_task_reuses_a_finished_distillation(splits, tmp_path):
    params = {"max_iter": 3, "n_experts": 1, "expert_epochs": 2}
    first = _run(splits, "mtt", eval_models=["dlinear"], seeds=[0], params=params,
                 cache_dir=tmp_path)
    second = _run(splits, "mtt", eval_models=["dlinear"], seeds=[0], params=params,
                  cache_dir=tmp_path)
    assert first["resumed"] == [False] and second["resumed"] == [True]
    assert first["results"]["dlinear"]["mse"] == second["results"]["dlinear"]["mse"]
    (path,) = (tmp_path / "checkpoints").glob("forecast-seasonal-mtt-M120-48-24-seed0-*.pt")


def test_command_line_turns_sigterm_into_an_interrupt_and_exits_130(monkeypatch, capsys):
    import signal

    import skdd.benchmarks.__main__ as cli

    def interrupted(argv=None):
        raise KeyboardInterrupt("stopped by signal 15")

    previous = signal.getsignal(signal.SIGTERM)
    monkeypatch.setattr(cli, "main", interrupted)
    try:
        assert cli.run_cli([]) == 130
        with pytest.raises(KeyboardInterrupt):  # SIGTERM now interrupts like Ctrl-C
            signal.getsignal(signal.SIGTERM)(signal.SIGTERM, None)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert "same --cache-dir to continue" in capsys.readouterr().err


# -- the command line: help, usage errors, progress ----------------------------------------
def _help(capsys, task):
    with pytest.raises(SystemExit) as exc:
        main([task, "--help"])
    assert exc.value.code == 0
    return " ".join(capsys.readouterr().out.split())  # one line, whatever the wrapping


def test_help_lists_the_registered_names_and_the_defaults(capsys):
    from skdd.benchmarks._registry import CLASSIFY_DISTILLERS
    from skdd.datasets import UCR_BUNDLED_NAMES
    from skdd.forecasting import SYNTHETIC_RECIPES

    text = _help(capsys, "forecast")
    for name in [*FORECAST_DISTILLERS, "full", *SYNTHETIC_RECIPES, "ETTh1", "ETTm2", "seasonal"]:
        assert name in text
    for default in ("(default: random)", "(default: ETTh1)", "(default: 384)",
                    "(default: 0,1,2)", "(default: dlinear,itransformer,xpatch,patchtst)",
                    "(default: test)", "(default: auto)"):
        assert default in text
    assert "--quiet" in text
    text = _help(capsys, "classify")
    for name in [*CLASSIFY_DISTILLERS, "full", "mnist10k", "digits", *UCR_BUNDLED_NAMES]:
        assert name in text
    text = _help(capsys, "demo")
    assert all(name in text for name in FORECAST_DISTILLERS)
    assert "(default: random,hdt)" in text
    text = _help(capsys, "fidelity")
    assert all(name in text for name in [*CLASSIFY_DISTILLERS, "GunPoint", "ETTh1"])
    assert "(default: GunPoint)" in text and "(default: None)" not in text


def test_help_follows_the_registry(capsys):
    register_forecast_distiller("toy-segment", FORECAST_DISTILLERS["random"])
    try:
        assert "toy-segment" in _help(capsys, "forecast")
        assert "toy-segment" in _help(capsys, "demo")
    finally:
        del FORECAST_DISTILLERS["toy-segment"]
    assert "toy-segment" not in _help(capsys, "forecast")


@pytest.mark.parametrize("argv,message", [
    (["forecast", "--distiller", "nope"], "argument --distiller: invalid choice: 'nope'"),
    (["forecast", "--eval", "dlinear,lstm"], "argument --eval: invalid choice: 'lstm'"),
    (["forecast", "--dataset", "no-such-set", "--seeds", "0"],
     "argument --dataset: invalid choice: 'no-such-set'"),
    (["forecast", "--params", "{oops"], "argument --params: expected a JSON object"),
    (["forecast", "--seeds", "0,x"], "argument --seeds: expected comma-separated integers"),
    (["demo", "--distillers", "random,nope"], "argument --distillers: invalid choice: 'nope'"),
    (["classify", "--distiller", "kd"], "argument --distiller: invalid choice: 'kd'"),
    (["classify", "--dataset", "cifar"], "argument --dataset: invalid choice: 'cifar'"),
    (["classify", "--distiller", "dm", "--objective", "dc"],
     "argument --objective: applies to --distiller fred only"),
    (["classify", "--distiller", "full", "--soft-labels"], "argument --soft-labels: needs"),
    (["theorem1", "--distiller", "full"], "argument --distiller: invalid choice: 'full'"),
    (["fidelity", "--dataset", "mnist10k"], "argument --dataset: invalid choice: 'mnist10k'"),
    (["fidelity", "--distillers", "random,kd"], "argument --distillers: invalid choice: 'kd'"),
    (["report", "--model", "lstm", "x.json"], "argument --model: invalid choice: 'lstm'"),
    (["tune-forecast", "--model", "lstm"], "argument --model: invalid choice: 'lstm'"),
    (["tune-forecast", "--baselines", "random,kd"], "argument --baselines: invalid choice: 'kd'"),
    (["tune-forecast", "--dataset", "nope"], "argument --dataset"),
])
def test_an_unknown_name_is_a_usage_error(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and err[0].startswith(f"usage: python -m skdd.benchmarks {argv[0]}")
    assert err[1].startswith(f"python -m skdd.benchmarks {argv[0]}: error: {message}")


def test_names_are_matched_case_insensitively():
    from skdd.benchmarks.__main__ import build_parser

    args = build_parser().parse_args(["forecast", "--distiller", "HDT", "--eval", "DLinear",
                                      "--dataset", "etth1", "--params", '{"lr": 0.1}'])
    assert args.distiller == "hdt" and args.eval == ["dlinear"] and args.params == {"lr": 0.1}
    args = build_parser().parse_args(["classify", "--dataset", "gunpoint"])
    assert args.dataset == "GunPoint" and args.seeds == [0, 1, 2] and args.quiet is False


def test_command_line_usage_error_has_no_traceback():
    import subprocess
    import sys
    from pathlib import Path

    proc = subprocess.run([sys.executable, "-m", "skdd.benchmarks", "forecast", "--distiller",
                           "nope"], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[1])
    assert proc.returncode == 2 and proc.stdout == ""
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 2
    assert "error: argument --distiller: invalid choice: 'nope'" in proc.stderr


_TINY_FORECAST = ["forecast", "--dataset", "seasonal", "--distiller", "mtt", "--length", "200",
                  "--seq-len", "48", "--pred-len", "24", "--eval", "dlinear", "--seeds", "0,1",
                  "--recipe", '{"epochs": 1}', "--protocol", "v1",
                  "--params", '{"max_iter": 2, "n_experts": 1, "expert_epochs": 2}']


def test_progress_bars_on_a_terminal(capsys, monkeypatch):
    import sys

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert main(_TINY_FORECAST) == 0
    captured = capsys.readouterr()
    # the runner's bar over the seeds, and the distiller's own loop bar under it
    assert "forecast seasonal mtt" in captured.err and "2/2" in captured.err
    assert "ForecastingMTTDistiller" in captured.err
    assert "MSE" in captured.out and "%|" not in captured.out
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert main([*_TINY_FORECAST, "--quiet"]) == 0
    assert "%|" not in capsys.readouterr().err


def test_no_progress_bars_when_stderr_is_not_a_terminal(capsys):
    assert main(_TINY_FORECAST) == 0
    captured = capsys.readouterr()
    assert "%|" not in captured.err and "MSE" in captured.out


def test_task_bars_count_rows_times_seeds(capsys):
    from tqdm import tqdm

    from skdd.benchmarks._progress import task_progress, track

    assert list(track([0, 1], None, "silent")) == [0, 1]
    assert capsys.readouterr().err == ""
    assert list(track([0, 1, 2], True, "one row")) == [0, 1, 2]
    assert "one row" in capsys.readouterr().err
    # an enclosing task (the demo) spans every row's seeds with one bar
    with task_progress(True, 4, "two rows") as bar:
        for row in ("a", "b"):
            for _ in track([0, 1], bar, row):
                pass
        assert isinstance(bar, tqdm) and bar.n == 4
    assert "4/4" in capsys.readouterr().err


def test_protocol_v2_uses_the_dataset_recipes(data_home, tmp_path):
    """v2 (the default) takes ETTh1's table entry: Random its own recipe, a distilled row
    the distilled one; --recipe overrides single fields."""
    from conftest import require_file

    from skdd.forecasting import get_recipe

    require_file(data_home, "ett/ETTh1.csv.gz")
    out = tmp_path / "etth1.json"
    main(["forecast", "--dataset", "ETTh1", "--distiller", "random", "--eval", "xpatch",
          "--seeds", "0", "--data-home", str(data_home), "--recipe", '{"epochs": 1}',
          "--json", str(out)])
    res = json.loads(out.read_text())
    assert res["protocol"] == "v2"
    random_recipe = get_recipe("xpatch", "random", protocol="v2", dataset="ETTh1")
    assert res["recipes"]["xpatch"]["lr"] == random_recipe.lr
    assert res["recipes"]["xpatch"]["epochs"] == 1
    assert random_recipe != get_recipe("xpatch", protocol="v2", dataset="ETTh1")


def test_protocol_v2_without_recipes_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["forecast", "--dataset", "seasonal", "--distiller", "random", "--eval", "dlinear"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "argument --protocol: dataset='seasonal' has no protocol v2 recipes" in err
    assert "ETTh1" in err and "Traceback" not in err


def test_protocol_v2_model_missing_from_a_datasets_table_names_eval(data_home, capsys):
    """ETTm2's table has no PatchTST line yet: the usage error names --eval and the models
    that have a recipe, before anything is distilled."""
    from conftest import require_file

    require_file(data_home, "ett/ETTm2.csv.gz")
    with pytest.raises(SystemExit) as exc:
        main(["forecast", "--dataset", "ETTm2", "--distiller", "random", "--eval",
              "dlinear,patchtst", "--data-home", str(data_home)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "argument --eval: model='patchtst' has no protocol v2 recipe for ETTm2" in err
    assert "'dlinear', 'itransformer', 'xpatch'" in err and "Traceback" not in err
