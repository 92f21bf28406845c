"""Every script in examples/ runs with its small default settings."""
import runpy
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
# optional packages each example needs
NEEDS = {
    "imblearn_pipeline.py": ["imblearn"],
    "plot_distilled.py": ["matplotlib"],
    "skorch_nets.py": ["skorch"],
    "sktime_forecasting.py": ["sktime"],
    "sklearn_meta_estimators.py": [],
    "distilled_search.py": [],
}


def test_every_example_is_listed():
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(NEEDS)


@pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::UserWarning")
@pytest.mark.parametrize("name", sorted(NEEDS))
def test_example_runs(name, tmp_path, capsys, monkeypatch):
    for module in NEEDS[name]:
        pytest.importorskip(module)
    monkeypatch.setenv("SKDD_NUM_THREADS", "1")
    path = EXAMPLES / name
    namespace = runpy.run_path(str(path))  # defines main() without running it
    assert namespace["__doc__"] and len(namespace["__doc__"].strip()) > 100
    argv = ["--out", str(tmp_path)] if name == "plot_distilled.py" else []
    namespace["main"](argv)
    out = capsys.readouterr().out
    assert out.strip(), f"{name} printed nothing"
    if name == "plot_distilled.py":
        pngs = sorted(p.name for p in tmp_path.glob("*.png"))
        assert pngs == ["loss_curve.png", "prototypes.png", "series.png", "series_prototypes.png",
                        "spectrum.png"]
        assert all((tmp_path / p).stat().st_size > 5000 for p in pngs)
