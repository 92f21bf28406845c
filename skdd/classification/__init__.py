"""Classification: the evaluation protocol (recipes, trainer, evaluator) shared by the
classification distillers, the benchmarks and the tests.

Data are images ``(n, C, H, W)`` or series ``(n, C, T)`` with labels ``0..K-1``; see
:mod:`skdd.datasets` (``load_mnist``, ``load_ucr``, ``load_digits_images``) for loaders in
this layout and :class:`skdd.nn.ConvNet` for the evaluation backbone.
"""
from ._protocol import (
    FULL_DATA_RECIPES,
    SYNTHETIC_RECIPES,
    ClassificationRecipe,
    evaluate_classifier,
    fit_classifier,
    get_recipe,
    train_classifier,
)
from ._base import BaseClassDistiller
from ._random import RandomPerClassDistiller
from ._matching import DCDistiller, DMDistiller, MTTDistiller, FreDDistiller, dc_loops

__all__ = [
    "BaseClassDistiller",
    "RandomPerClassDistiller",
    "DCDistiller",
    "DMDistiller",
    "MTTDistiller",
    "FreDDistiller",
    "dc_loops",
    "ClassificationRecipe",
    "SYNTHETIC_RECIPES",
    "FULL_DATA_RECIPES",
    "get_recipe",
    "train_classifier",
    "fit_classifier",
    "evaluate_classifier",
]
from ._cfm import CFMDistiller, SRe2LDistiller, augment_samples, intra_class_similarity  # noqa: E402

__all__ += ["CFMDistiller", "SRe2LDistiller", "augment_samples", "intra_class_similarity"]
