"""The ``speed`` task of the benchmark runner (tiny settings: seconds)."""
import json

import pytest

from skdd.benchmarks.__main__ import main
from skdd.benchmarks._speed import SPEED_DISTILLERS, run_speed


def test_speed_task_writes_medians_and_peak_memory(tmp_path, capsys):
    out = tmp_path / "speed.json"
    status = main(["speed", "--distiller", "dm", "--params", '{"batch_real": 8}',
                   "--repeats", "3", "--device", "cpu", "--json", str(out)])
    assert status == 0
    result = json.loads(out.read_text())
    assert result["task"] == "speed" and result["distiller"] == "dm"
    assert result["device"] == "cpu" and result["params"] == {"batch_real": 8}
    assert len(result["cpu_seconds_all"]) == len(result["wall_seconds_all"]) == 3
    assert sorted(result["cpu_seconds_all"])[1] == result["cpu_seconds"] > 0
    assert result["wall_seconds"] > 0
    assert result["peak_memory_mb"] == result["peak_rss_mb"] > 0
    assert result["cuda_max_allocated_mb"] is None
    assert "per step" in capsys.readouterr().out


@pytest.mark.parametrize("stage", ["timevqvae-stage1", "timevqvae-stage2"])
def test_speed_times_the_requested_timevqvae_stage(stage):
    result = run_speed(stage, params={"codebook_size": 16}, repeats=2)
    assert result["distiller"] == stage and len(result["cpu_seconds_all"]) == 2


def test_speed_forecasting_distiller():
    params = {"n_experts": 1, "expert_epochs": 2}
    result = run_speed("mtt", params=params, repeats=2, length=48, seq_len=24, pred_len=12)
    assert result["dataset"] == "seasonal" and result["cpu_seconds"] > 0


def test_unknown_distiller_is_a_usage_error_listing_the_choices(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["speed", "--distiller", "nope"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert all(name in err for name in SPEED_DISTILLERS)
    with pytest.raises(SystemExit) as exc:
        main(["speed", "--distiller", "dm", "--repeats", "0"])
    assert exc.value.code == 2
    with pytest.raises(ValueError, match="distiller"):
        run_speed("nope")
    with pytest.raises(ValueError, match="repeats"):
        run_speed("dm", repeats=0)
