"""Metrics: spectral and correlation gaps between real and synthetic series."""
from ._spectral import autocorrelation, autocorrelation_gap, power_spectrum, power_spectrum_gap

__all__ = ["autocorrelation", "autocorrelation_gap", "power_spectrum", "power_spectrum_gap"]
