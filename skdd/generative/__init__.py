"""Generative models of series and their refinement: TimeVQVAE and the neural mapper.

:class:`TimeVQVAE` (stage 1 tokenizer, stage 2 bidirectional prior, MaskGIT sampling) is a
generator with the distillers' ``fit``/``fit_resample`` contract; :class:`NeuralMapper`
(NM-VQTSG) is a scikit-learn transformer that refines its samples. The building blocks
(:class:`Tokenizer`, :class:`VectorQuantizer`, :class:`BidirectionalPrior`,
:class:`MaskGITPrior`) are torch modules.
"""
from ._mapper import MAPPER_PRESETS, TAU_GRID, NeuralMapper
from ._prior import BidirectionalPrior, MaskGITPrior, iterative_decode, mask_tokens
from ._timevqvae import TIMEVQVAE_PRESETS, TimeVQVAE
from ._tokenizer import Tokenizer, VectorQuantizer

__all__ = [
    "TimeVQVAE",
    "NeuralMapper",
    "TIMEVQVAE_PRESETS",
    "MAPPER_PRESETS",
    "TAU_GRID",
    "Tokenizer",
    "VectorQuantizer",
    "BidirectionalPrior",
    "MaskGITPrior",
    "mask_tokens",
    "iterative_decode",
]
