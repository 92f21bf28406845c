"""skdd: dataset distillation as scikit-learn estimators."""
__version__ = "0.1.0.dev0"

from .forecasting import HarmonicDistiller, RandomSegmentDistiller
from .classification import CFMDistiller, FreDDistiller
from .compose import DistilledClassifier, DistilledRegressor
from .io import load_distilled

__all__ = ["HarmonicDistiller", "FreDDistiller", "CFMDistiller", "RandomSegmentDistiller",
           "DistilledClassifier", "DistilledRegressor", "load_distilled", "__version__"]
