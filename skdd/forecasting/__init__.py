"""Forecasting: the protocol (splits, windows, recipes, trainer, evaluator) and distillers."""
from ._windows import make_windows, n_windows, sample_window_batches
from ._protocol import (
    ForecastingSplits,
    split_borders,
    make_splits,
    load_forecasting_splits,
    TrainingRecipe,
    SYNTHETIC_RECIPES,
    FULL_DATA_RECIPES,
    SYNTHETIC_RECIPES_V2,
    RECIPE_EPOCHS,
    RECIPE_LRS,
    PROTOCOLS,
    get_recipe,
    backbone_kwargs,
    train_forecaster,
    fit_forecaster,
    evaluate_forecaster,
)
from ._random import RandomSegmentDistiller
from ._experts import ExpertPool, ForecastingExpertTrajectories
from ._harmonic import HarmonicDistiller
from ._trajectory import ForecastingMTTDistiller, CondTSFDistiller

__all__ = [
    "make_windows",
    "n_windows",
    "sample_window_batches",
    "ForecastingSplits",
    "split_borders",
    "make_splits",
    "load_forecasting_splits",
    "TrainingRecipe",
    "SYNTHETIC_RECIPES",
    "FULL_DATA_RECIPES",
    "SYNTHETIC_RECIPES_V2",
    "RECIPE_EPOCHS",
    "RECIPE_LRS",
    "PROTOCOLS",
    "get_recipe",
    "backbone_kwargs",
    "train_forecaster",
    "fit_forecaster",
    "evaluate_forecaster",
    "RandomSegmentDistiller",
    "ExpertPool",
    "ForecastingExpertTrajectories",
    "HarmonicDistiller",
    "ForecastingMTTDistiller",
    "CondTSFDistiller",
]
