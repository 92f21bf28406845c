"""Matching objectives: losses comparing real and synthetic data through a backbone."""
from ._trajectory import (
    parameters_of,
    unroll_sgd,
    normalized_parameter_distance,
    TrajectoryMatching,
)
from ._harmonic import top_k_harmonics, harmonic_filter, harmonic_loss

__all__ = [
    "parameters_of",
    "unroll_sgd",
    "normalized_parameter_distance",
    "TrajectoryMatching",
    "top_k_harmonics",
    "harmonic_filter",
    "harmonic_loss",
]
