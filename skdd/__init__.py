"""skdd: dataset distillation as scikit-learn estimators."""
__version__ = "0.1.0.dev0"

from .forecasting import HarmonicDistiller, RandomDistiller
from .io import load_distilled

__all__ = ["HarmonicDistiller", "RandomDistiller", "load_distilled", "__version__"]
