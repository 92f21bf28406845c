"""Public names: no two distinct public classes of skdd share a name."""
import importlib
import inspect
import pkgutil
from collections import defaultdict

import skdd


def public_modules():
    """``skdd`` and every submodule whose dotted path has no part starting with ``_``."""
    names = ["skdd"]
    for info in pkgutil.walk_packages(skdd.__path__, "skdd."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return names


def public_classes(module):
    """Classes defined in skdd and exported by ``module`` (its ``__all__`` or public names)."""
    exported = getattr(module, "__all__", None)
    if exported is None:
        exported = [n for n in vars(module) if not n.startswith("_")]
    for name in exported:
        obj = getattr(module, name, None)
        if inspect.isclass(obj) and obj.__module__.split(".")[0] == "skdd":
            yield obj


def test_public_modules_are_walked():
    modules = public_modules()
    for expected in ("skdd.forecasting", "skdd.classification", "skdd.compose",
                     "skdd.generative", "skdd.nn", "skdd.sktime", "skdd.skorch"):
        assert expected in modules


def test_no_two_public_classes_share_a_name():
    by_name = defaultdict(set)
    for module_name in public_modules():
        module = importlib.import_module(module_name)
        for cls in public_classes(module):
            by_name[cls.__name__].add(f"{cls.__module__}.{cls.__qualname__}")
    clashes = {name: sorted(where) for name, where in by_name.items() if len(where) > 1}
    assert not clashes, f"public classes sharing a name: {clashes}"
    # the two random baselines carry their kind in their names
    assert {"RandomSegmentDistiller", "RandomPerClassDistiller"} <= set(by_name)
    assert "RandomDistiller" not in by_name
