"""Independent work through joblib: experts, benchmark seeds and suite units give the same
results for every n_jobs and backend (loky, a local Dask cluster on loopback); bad input
fails fast with a message naming the parameter."""
import json

import numpy as np
import pytest
import torch

from skdd import HarmonicDistiller
from skdd.benchmarks.__main__ import main
from skdd.benchmarks._suite import SuiteSpecError, check_suite, run_suite
from skdd.classification import MTTDistiller
from skdd.datasets import make_seasonal_series
from skdd.forecasting import CondTSFDistiller, ForecastingExpertTrajectories, \
    ForecastingMTTDistiller
from skdd.utils._parallel import check_n_jobs, dask_client

#: fields that say how long or where a run took, not what it computed
_RUN_FIELDS = {"distill_seconds", "train_seconds", "resumed", "machine"}


def _strip(obj):
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if k not in _RUN_FIELDS}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


def _read(path):
    with open(path) as fh:
        return _strip(json.load(fh))


def _experts(n_jobs):
    """Two tiny DLinear experts and the global RNG state after them."""
    series = torch.as_tensor(make_seasonal_series(300, 2, random_state=0))
    torch.manual_seed(0)
    ex = ForecastingExpertTrajectories.train(
        "dlinear", series, seq_len=24, pred_len=12, n_experts=3, epochs=2, lr=0.1,
        batch_size=32, device="cpu", n_jobs=n_jobs)
    return ex.snapshots, torch.get_rng_state()


_TINY_HDT = {"max_iter": 3, "n_experts": 2, "expert_epochs": 2, "n_harmonics": 8,
             "n_subsequences": 4, "syn_steps": 2}


def _spec(tmp_path, **row_changes):
    spec = {"defaults": {"task": "forecast", "dataset": "seasonal", "protocol": "v1",
                         "eval": ["dlinear"], "length": 96, "seq_len": 24, "pred_len": 12,
                         "seeds": [0, 1], "recipe": {"epochs": 2}},
            "rows": [{"distiller": "random"},
                     {"distiller": "hdt", "params": _TINY_HDT, **row_changes}]}
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    return path


# -- n_jobs of the estimators -----------------------------------------------------------
@pytest.mark.timeout(60)
def test_experts_are_the_same_for_any_n_jobs():
    """Experts through loky with n_jobs=2 equal those trained one after the other, and
    leave torch's global RNG in the same state."""
    (a, rng_a), (b, rng_b) = _experts(None), _experts(2)
    assert torch.equal(a, b) and torch.equal(rng_a, rng_b)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("est", [HarmonicDistiller(n_jobs=0), ForecastingMTTDistiller(n_jobs=0),
                                 CondTSFDistiller(n_jobs=1.5), MTTDistiller(n_jobs=0)])
def test_bad_n_jobs_fails_before_any_work(est):
    X = make_seasonal_series(600, 2, random_state=0)
    y = None
    if isinstance(est, MTTDistiller):
        X, y = np.random.default_rng(0).normal(size=(20, 1, 16)), np.repeat([0, 1], 10)
    with pytest.raises(ValueError, match=r"n_jobs=.* must be a nonzero integer or None"):
        est.fit(X, y)
    with pytest.raises(ValueError, match="nonzero integer"):
        check_n_jobs(True)


def test_n_jobs_is_not_part_of_the_checkpoint_fingerprint():
    """A fit checkpointed with one n_jobs resumes under another."""
    for cls in (HarmonicDistiller, ForecastingMTTDistiller, CondTSFDistiller, MTTDistiller):
        assert cls(n_jobs=1)._params_fingerprint() == cls(n_jobs=4)._params_fingerprint()
    assert HarmonicDistiller(n_experts=1)._params_fingerprint() != \
        HarmonicDistiller(n_experts=2)._params_fingerprint()
    from skdd.benchmarks._cache import keep_work_in

    paths = []
    for n_jobs in (1, 2):  # the benchmark's checkpoint of the run is the same file
        est = HarmonicDistiller()
        keep_work_in(est, "cache", ["forecast", "ETTh1", "hdt", "seed0"], {"n_jobs": n_jobs})
        paths.append(est.checkpoint_path)
    assert paths[0] == paths[1]


# -- benchmark seeds and suites -------------------------------------------------------
@pytest.mark.timeout(120)
def test_forecast_seeds_in_parallel_write_the_serial_json(tmp_path):
    args = ["forecast", "--dataset", "seasonal", "--distiller", "hdt", "--protocol", "v1",
            "--eval", "dlinear", "--seeds", "0,1", "--length", "96", "--seq-len", "24",
            "--pred-len", "12", "--recipe", '{"epochs": 2}', "--params", json.dumps(_TINY_HDT),
            "--quiet"]
    assert main([*args, "--json", str(tmp_path / "serial.json")]) == 0
    assert main([*args, "--jobs", "2", "--json", str(tmp_path / "jobs2.json")]) == 0
    assert _read(tmp_path / "serial.json") == _read(tmp_path / "jobs2.json")


@pytest.mark.timeout(120)
def test_classify_seeds_in_parallel_write_the_serial_json(tmp_path):
    args = ["classify", "--dataset", "digits", "--distiller", "dm", "--ipc", "1", "--seeds",
            "0,1", "--params", '{"max_iter": 3, "net_width": 16}', "--recipe", '{"epochs": 2}',
            "--quiet"]
    assert main([*args, "--json", str(tmp_path / "serial.json")]) == 0
    assert main([*args, "--jobs", "2", "--json", str(tmp_path / "jobs2.json")]) == 0
    assert _read(tmp_path / "serial.json") == _read(tmp_path / "jobs2.json")


@pytest.mark.timeout(120)
def test_a_killed_suite_reruns_only_the_missing_units(tmp_path, capsys):
    """A unit whose result is missing (the suite was killed before it ended) is the only
    one a rerun runs, and the rows' JSON equal the serial runs' and a first full run's."""
    spec = _spec(tmp_path)
    kw = dict(out=tmp_path / "out", cache_dir=tmp_path / "cache", log=None)
    first = run_suite(spec, jobs=2, **kw)
    assert [p.name for p in first] == ["seasonal_random.json", "seasonal_hdt.json"]
    complete = [_read(p) for p in first]
    units = sorted((tmp_path / "cache" / "suite").glob("*.json"))
    assert len(units) == 4
    killed = next(u for u in units if "-hdt-" in u.name and u.name.endswith("seed1.json"))
    killed.unlink()
    first[1].unlink()
    kept = {u: u.stat().st_mtime_ns for u in units if u != killed}
    lines = []
    again = run_suite(spec, jobs=1, **dict(kw, log=lines.append))
    assert "4 units, 1 to run" in lines[0]
    assert all(u.stat().st_mtime_ns == t for u, t in kept.items())
    assert [_read(p) for p in again] == complete
    # the same JSON as the serial command
    assert main(["forecast", "--dataset", "seasonal", "--distiller", "hdt", "--protocol", "v1",
                 "--eval", "dlinear", "--seeds", "0,1", "--length", "96", "--seq-len", "24",
                 "--pred-len", "12", "--recipe", '{"epochs": 2}', "--params",
                 json.dumps(_TINY_HDT), "--quiet", "--json", str(tmp_path / "s.json")]) == 0
    assert _read(tmp_path / "s.json") == complete[1]


@pytest.mark.timeout(120)
def test_a_local_dask_cluster_gives_the_same_results(tmp_path):
    """Experts (n_jobs=2) and suite units under joblib's Dask backend, on a local cluster
    of two worker processes on 127.0.0.1, equal the in-process results."""
    pytest.importorskip("distributed")
    from joblib import parallel_config

    serial_experts, serial_rng = _experts(None)
    spec = _spec(tmp_path)
    serial = run_suite(spec, out=tmp_path / "a", cache_dir=tmp_path / "ca", log=None)
    with dask_client(2) as client, parallel_config(backend="dask", client=client):
        experts, rng = _experts(2)
        on_dask = run_suite(spec, out=tmp_path / "b", cache_dir=tmp_path / "cb", jobs=2,
                            log=None)
    assert torch.equal(experts, serial_experts) and torch.equal(rng, serial_rng)
    assert [_read(p) for p in on_dask] == [_read(p) for p in serial]


# -- bad input ------------------------------------------------------------------------
@pytest.mark.timeout(60)
def test_an_unreachable_scheduler_fails_within_its_timeout(tmp_path, capsys):
    pytest.importorskip("distributed")
    import time

    start = time.perf_counter()
    with pytest.raises(SystemExit) as exc:
        main(["suite", str(_spec(tmp_path)), "--out", str(tmp_path), "--backend", "dask",
              "--scheduler", "tcp://127.0.0.1:1", "--scheduler-timeout", "2"])
    assert exc.value.code == 1 and time.perf_counter() - start < 30
    err = capsys.readouterr().err
    assert "--scheduler" in err and "tcp://127.0.0.1:1" in err
    assert not (tmp_path / "cache").exists()  # nothing ran


@pytest.mark.parametrize("change, field", [
    ({"distiller": "hdtx"}, "'distiller'"),
    ({"datasets": ["ETTh9"]}, "'datasets'"),
    ({"learning_rate": 0.1}, "'learning_rate'"),
    ({"params": {"max_iterations": 3}}, "'params'"),
    ({"eval": ["lstm"]}, "'eval'"),
    ({"seeds": [0, 0]}, "'seeds'"),
])
def test_a_bad_spec_fails_before_anything_runs(tmp_path, capsys, change, field):
    spec = _spec(tmp_path, **change)
    with pytest.raises(SuiteSpecError, match=rf"row 1 \(hdtx?\): field {field}"):
        check_suite(json.loads(spec.read_text()))
    with pytest.raises(SystemExit) as exc:
        main(["suite", str(spec), "--out", str(tmp_path)])
    assert exc.value.code == 2 and field in capsys.readouterr().err
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize("argv", [["--jobs", "0"], ["--scheduler", "tcp://127.0.0.1:1"]])
@pytest.mark.parametrize("task", ["suite", "forecast", "classify", "fidelity"])
def test_bad_parallel_options_are_usage_errors(tmp_path, capsys, argv, task):
    first = {"suite": ["suite", "smoke", "--out", str(tmp_path)],
             "forecast": ["forecast", "--dataset", "seasonal", "--protocol", "v1"],
             "classify": ["classify", "--dataset", "digits"],
             "fidelity": ["fidelity", "--dataset", "GunPoint"]}[task]
    with pytest.raises(SystemExit) as exc:
        main([*first, *argv])
    assert exc.value.code == 2 and argv[0] in capsys.readouterr().err


def test_the_shipped_suites_are_valid():
    from skdd.benchmarks._suite import available_suites, load_suite

    names = available_suites()
    assert "smoke" in names and len(names) >= 3
    for name in names:
        spec, source = load_suite(name)
        for row in check_suite(spec, source):
            assert row.seeds and row.datasets
