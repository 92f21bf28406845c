"""Benchmarks: ``python -m skdd.benchmarks forecast ...`` reproduces the papers' tables.

Distillers plug in by name through :data:`FORECAST_DISTILLERS` /
:func:`register_forecast_distiller`.
"""
from ._registry import FORECAST_DISTILLERS, register_forecast_distiller
from ._forecast import run_forecast_benchmark, format_forecast_table

__all__ = [
    "FORECAST_DISTILLERS",
    "register_forecast_distiller",
    "run_forecast_benchmark",
    "format_forecast_table",
]
