"""The Sphinx site builds without warnings and covers every distiller (skipped without the
docs extra)."""
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def test_every_distiller_has_a_user_guide_page():
    guide = "\n".join(p.read_text() for p in (DOCS / "guide").glob("*.rst"))
    missing = []
    for module in ("skdd.forecasting", "skdd.classification"):
        mod = importlib.import_module(module)
        for name in mod.__all__:
            if name.endswith("Distiller") and not name.startswith("Base") \
                    and f"{module}.{name}" not in guide and f"skdd.{name}" not in guide:
                missing.append(f"{module}.{name}")
    assert not missing, f"no page in docs/guide/ mentions {missing}"


@pytest.mark.slow
def test_sphinx_build_has_no_warnings(tmp_path):
    for package in ("sphinx", "numpydoc", "myst_parser"):
        pytest.importorskip(package)
    for package in ("sktime", "skorch", "matplotlib"):  # autodoc imports every module
        pytest.importorskip(package)
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
           "-d", str(tmp_path / "doctrees"), str(DOCS), str(tmp_path / "html")]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    html = tmp_path / "html"
    pages = ["index", "guide/compatibility", "api/sktime", "guide/harmonic"]
    pages += [p.stem for p in DOCS.glob("*.md")]  # benchmarks, forecasting, ...
    for page in pages:
        assert (html / f"{page}.html").exists(), page
    assert "DistilledForecaster" in (html / "api" / "sktime.html").read_text()
