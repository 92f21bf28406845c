"""The documentation: the Sphinx site builds without warnings (skipped without the docs
extra) and covers every distiller; the README's example runs and its test command is CI's;
the results pages hold ``report``'s tables of the committed JSON and name files that exist;
no development diary anywhere."""
import importlib
import re
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


README = ROOT / "README.md"
RESULT_PAGES = sorted(DOCS.glob("results_*.md"))


def _first_python_block(text):
    start = text.index("```python\n") + len("```python\n")
    return text[start:text.index("\n```", start)]


@pytest.mark.slow
def test_readme_example_runs(tmp_path):
    """The README's first python block runs as written and prints one line per training set."""
    code = _first_python_block(README.read_text())
    env = {**__import__("os").environ, "SKDD_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-4000:]
    lines = [line for line in proc.stdout.splitlines() if "test MSE" in line]
    assert [line.split()[0] for line in lines] == ["HDT", "random", "full"], proc.stdout
    mse = [float(line.rsplit(" ", 1)[1]) for line in lines]
    assert all(0 < m < 10 for m in mse)
    assert "HarmonicDistiller" in proc.stderr  # verbose=1 shows the loop's progress bar


def test_readme_test_command_is_what_ci_runs():
    """The README's test commands install the extras .ci/run installs and run its pytest."""
    readme = README.read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    install = next(line for line in readme.splitlines()
                   if line.startswith('pip install -e ".[tests'))
    extras = install.split("[", 1)[1].split("]", 1)[0]
    assert f'-e ".[{extras}]"' in ci
    pytest_cmd = "python -m pytest -q --doctest-modules skdd tests"
    assert pytest_cmd in readme and pytest_cmd in ci


_WORD = "sess" + "ion"  # spelled apart so that this file does not match its own pattern
_DIARY = re.compile(rf"\b{_WORD}s? [0-9]|\({_WORD}|in {_WORD}|this {_WORD}|earlier {_WORD}"
                    r"|tried before|previous(ly)? (run|version)|work period", re.IGNORECASE)


def test_no_development_diary_in_docs_and_code():
    """Docs, comments and tests are reference: no numbered work periods, no "tried before"."""
    files = [README, *DOCS.glob("*.md"), *DOCS.glob("*.rst"), *DOCS.glob("*/*.rst"),
             *DOCS.glob("results/**/*.py"), *DOCS.glob("results/**/*.md"),
             *(ROOT / "skdd").rglob("*.py"), *(ROOT / "tests").glob("*.py"),
             *(ROOT / "examples").glob("*.py")]
    hits = [f"{path.relative_to(ROOT)}:{i}: {line.strip()}"
            for path in files if path != Path(__file__).resolve()
            for i, line in enumerate(path.read_text().splitlines(), 1) if _DIARY.search(line)]
    assert not hits, "\n".join(hits)


def _expand_braces(pattern):
    match = re.search(r"\{([^{}]*)\}", pattern)
    if not match:
        return [pattern]
    return [p for alt in match.group(1).split(",")
            for p in _expand_braces(pattern[:match.start()] + alt + pattern[match.end():])]


def test_result_pages_name_files_that_exist():
    """Every ``docs/results/...`` path or glob a results page names matches a file."""
    missing = []
    for page in [*RESULT_PAGES, DOCS / "benchmarks.md"]:
        for token in re.findall(r"docs/results/[\w./*{},<>-]*", page.read_text()):
            token = token.rstrip(".,")
            if "<" in token or token.endswith("/"):
                continue
            if not any(ROOT.glob(p) for p in _expand_braces(token)):
                missing.append(f"{page.name}: {token}")
    assert not missing, missing


@pytest.mark.parametrize("page, paths, report", [
    ("results_forecasting.md", ["ETT*.json"], "forecast_report"),
    ("results_forecasting.md", ["ETT*.json", "random20/*.json"], "forecast_report"),
    ("results_forecasting.md", ["val/xarch/*.json"], "forecast_report"),
    ("results_forecasting.md", ["v2/recipe_search/*_recipes.json"], "recipes_report"),
    ("results_forecasting.md", ["v2/transfer_search/*.json"], "forecast_report"),
    ("results_forecasting.md", ["v2/test/*.json", "ETTh1_full.json", "ETTh2_full.json",
                                  "ETTm2_full.json"],
     "forecast_report"),
    ("results_classification.md", ["classify/*.json"], "classify_report"),
    ("results_cfm.md", ["cfm/*.json"], "cfm_report"),
    ("results_cfm.md", ["cfm/cv_max_drift/*.json"], "cfm_report"),
])
def test_result_tables_are_what_report_prints(page, paths, report):
    """The tables of the results pages are ``python -m skdd.benchmarks report`` output."""
    from skdd.benchmarks import _report

    files = sorted(str(p) for pattern in paths for p in (DOCS / "results").glob(pattern))
    text = (DOCS / page).read_text()
    tables = [t.strip() for t in getattr(_report, report)(files).split("\n\n**") if t.strip()]
    assert tables
    for table in tables:
        body = table.split("\n\n", 1)[-1]  # the table without its heading line
        assert body in text, f"{page} lacks the table:\n{body[:600]}"
