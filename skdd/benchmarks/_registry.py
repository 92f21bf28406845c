"""Name -> distiller factory registries used by the benchmark runner."""
from __future__ import annotations

FORECAST_DISTILLERS = {}


def register_forecast_distiller(name, factory):
    """Register ``factory(length, seq_len, pred_len, random_state, device, **params)``.

    The factory returns an unfitted forecasting distiller. ``name`` becomes a valid
    ``--distiller`` value of ``python -m skdd.benchmarks forecast``. The name ``full``
    is reserved for the full-data reference.
    """
    key = str(name).lower()
    if key == "full":
        raise ValueError("'full' is reserved for the full-data reference.")
    FORECAST_DISTILLERS[key] = factory
    return factory


def _random_factory(length, seq_len, pred_len, random_state, device, **params):
    from ..forecasting import RandomDistiller

    return RandomDistiller(length=length, seq_len=seq_len, pred_len=pred_len,
                           random_state=random_state, device=device, **params)


register_forecast_distiller("random", _random_factory)
