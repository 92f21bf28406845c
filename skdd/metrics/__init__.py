"""Metrics: spectral and correlation gaps between real and synthetic series, and the
fidelity of synthetic series (FID on MiniRocket features, inception score, conditional FID)."""
from ._fidelity import (
    FidelityEvaluator,
    conditional_fid,
    fid_score,
    fit_fidelity_classifier,
    frechet_distance,
    inception_score,
)
from ._rocket import MiniRocketFeatures
from ._spectral import autocorrelation, autocorrelation_gap, power_spectrum, power_spectrum_gap

__all__ = [
    "autocorrelation",
    "autocorrelation_gap",
    "power_spectrum",
    "power_spectrum_gap",
    "MiniRocketFeatures",
    "frechet_distance",
    "fid_score",
    "inception_score",
    "conditional_fid",
    "fit_fidelity_classifier",
    "FidelityEvaluator",
]
