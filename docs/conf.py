"""Sphinx configuration of the skdd documentation.

Build with ``python -m sphinx -W -b html docs docs/_build/html`` (needs the ``docs``
extra: ``pip install -e ".[docs,sktime,skorch,imblearn,plot]"``, so that every module
imports for autodoc).
"""
import os
import re
import sys

sys.path.insert(0, os.path.abspath(".."))
os.environ.setdefault("SKDD_NUM_THREADS", "1")

import skdd  # noqa: E402

project = "skdd"
author = "skdd developers"
copyright = "skdd developers, BSD-3-Clause"
release = skdd.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "results", "Thumbs.db", ".DS_Store"]

# autodoc / autosummary / numpydoc
autodoc_default_options = {"members": True}
autodoc_member_order = "bysource"
autodoc_typehints = "none"
autosummary_generate = False
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks = set()

# Markdown pages (docs/benchmarks.md, docs/forecasting.md) are also read on GitHub: their
# links to result files and their heading levels follow GitHub's conventions.
myst_heading_anchors = 3
suppress_warnings = ["myst.header", "myst.xref_missing"]

html_theme = "alabaster"
html_static_path = []
html_title = f"skdd {release}"
html_theme_options = {"description": "Dataset distillation as scikit-learn estimators",
                      "fixed_sidebar": True}


# -- docstring plain-text fixes ------------------------------------------------------------
# Docstrings are written for the terminal first: "ndarray of shape (n_iter_,)" or
# "(n_classes, C, *spatial)" are plain text there but reStructuredText markup (a link
# target, an unclosed emphasis) in Sphinx. Outside inline literals and roles, escape a
# trailing underscore of a name and an asterisk that opens no emphasis.
_LITERAL = re.compile(r"(``.+?``|:[\w:]+:`[^`]*`|`[^`]*`_{0,2})")
_TRAILING_UNDERSCORE = re.compile(r"(?<=[A-Za-z0-9])_(?![\w`])")
_LONE_STAR = re.compile(r"(?<![*\w\\])\*(?=[A-Za-z_(])")


def _escape_plain(text):
    text = _TRAILING_UNDERSCORE.sub(r"\\_", text)
    if text.count("*") % 2:  # an odd number of asterisks: escape the unmatched openers
        text = _LONE_STAR.sub(r"\\*", text)
    return text


def _fix_docstring(app, what, name, obj, options, lines):
    block = None  # indentation of the directive or "::" paragraph whose body is skipped
    for i, line in enumerate(lines):
        stripped = line.lstrip()
        indent = len(line) - len(stripped)
        if block is not None and (not stripped or indent > block):
            continue  # literal block / directive body
        block = None
        if stripped.startswith((">>>", "...")):
            block = indent - 1  # the example and its output, up to the next blank line
            continue
        if stripped.startswith(".. ") or line.rstrip().endswith("::"):
            block = indent
            if stripped.startswith(".. "):
                continue
        parts = _LITERAL.split(line)
        lines[i] = "".join(p if k % 2 else _escape_plain(p) for k, p in enumerate(parts))


def _skip_member(app, what, name, obj, skip, options):
    # scikit-learn generates set_*_request methods (metadata routing) on every estimator
    if re.fullmatch(r"set_\w+_request", name):
        return True
    return None


# -- top-level aliases ---------------------------------------------------------------------
# ``skdd.HarmonicDistiller`` is documented where it lives, ``skdd.forecasting``; references to
# the top-level names resolve to those pages.
_DOCUMENTED = ["forecasting", "classification", "compose", "io", "datasets", "nn",
               "objectives", "parametrization", "metrics", "generative", "base", "utils"]


def _aliases():
    import importlib

    aliases = {}
    for name in skdd.__all__:
        obj = getattr(skdd, name)
        for module in _DOCUMENTED:
            mod = importlib.import_module(f"skdd.{module}")
            if name in getattr(mod, "__all__", ()) and getattr(mod, name) is obj:
                aliases[f"skdd.{name}"] = f"skdd.{module}.{name}"
                break
    return aliases


_ALIASES = _aliases()


def _resolve_alias(app, env, node, contnode):
    canonical = _ALIASES.get(node.get("reftarget"))
    if canonical is None or node.get("refdomain") != "py":
        return None
    return env.get_domain("py").resolve_xref(env, node["refdoc"], app.builder, node["reftype"],
                                             canonical, node, contnode)


def setup(app):
    app.connect("autodoc-process-docstring", _fix_docstring, priority=400)
    app.connect("autodoc-skip-member", _skip_member)
    app.connect("missing-reference", _resolve_alias)
