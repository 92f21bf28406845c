"""Matching objectives: losses comparing real and synthetic data through a backbone."""
from ._trajectory import (
    parameters_of,
    unroll_sgd,
    normalized_parameter_distance,
    TrajectoryMatching,
    ExpertTrajectories,
    check_expert_schedule,
)
from ._matching import gradient_distance, GradientMatching, class_means, DistributionMatching
from ._harmonic import (top_k_harmonics, harmonic_filter, harmonic_loss,
                        mean_amplitude_spectrum, subsequences)
from ._spectral import (
    ConvInputs,
    LayerStatistics,
    feature_moments,
    conv_input_statistics,
    running_mean,
    SPECTRAL_FILTERS,
    SpectralFilter,
    curriculum_betas,
    SpectralMatching,
    moment_matching_loss,
)

__all__ = [
    "parameters_of",
    "unroll_sgd",
    "normalized_parameter_distance",
    "TrajectoryMatching",
    "ExpertTrajectories",
    "check_expert_schedule",
    "gradient_distance",
    "GradientMatching",
    "class_means",
    "DistributionMatching",
    "top_k_harmonics",
    "harmonic_filter",
    "harmonic_loss",
    "mean_amplitude_spectrum",
    "subsequences",
    "ConvInputs",
    "LayerStatistics",
    "feature_moments",
    "conv_input_statistics",
    "running_mean",
    "SPECTRAL_FILTERS",
    "SpectralFilter",
    "curriculum_betas",
    "SpectralMatching",
    "moment_matching_loss",
]
