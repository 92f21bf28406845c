"""Shared fixtures: the real-data home and a few small generated series."""
import os
from pathlib import Path

import numpy as np
import pytest

_REPO = Path(__file__).resolve().parents[1]


def _find_data_home():
    env = os.environ.get("SKDD_DATA_HOME")
    if env and Path(env).is_dir():
        return Path(env)
    shared = _REPO.parent / "shared" / "data"
    if shared.is_dir():
        return shared
    return None


@pytest.fixture(scope="session")
def data_home():
    """The folder holding ``ett/`` and ``mnist/``; tests using it skip when it is absent."""
    home = _find_data_home()
    if home is None:
        pytest.skip("no data home: set SKDD_DATA_HOME or provide ../shared/data")
    return home


def require_file(home, relpath):
    path = Path(home) / relpath
    if not path.exists():
        pytest.skip(f"{relpath} is absent from the data home {home}")
    return path


@pytest.fixture
def small_series():
    """A (400, 3) float64 series with two periods, trend and noise."""
    rng = np.random.default_rng(0)
    t = np.arange(400)[:, None]
    phase = rng.uniform(0, 2 * np.pi, size=(1, 3))
    x = np.sin(2 * np.pi * t / 24 + phase) + 0.5 * np.sin(2 * np.pi * t / 7 + phase)
    return x + 0.001 * t + 0.1 * rng.standard_normal((400, 3))

