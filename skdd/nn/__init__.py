"""Neural backbones used for distillation and evaluation.

Forecasting backbones map a batch of input windows ``(B, seq_len, C)`` to forecasts
``(B, pred_len, C)``; none of them fixes a device.
"""
from ._convnet import CLASSIFICATION_BACKBONES, ConvNet, convnet_depth, make_classification_backbone
from ._fcn import FCN
from ._unet import AttentionUNet1D, Snake, UNet1D
from ._forecasting import (
    DLinear,
    ITransformer,
    XPatch,
    PatchTST,
    WindowNormalized,
    FORECASTING_BACKBONES,
    make_forecasting_backbone,
    check_forecasting_backbone,
    check_forecasting_backbones,
)

__all__ = [
    "DLinear",
    "ITransformer",
    "XPatch",
    "PatchTST",
    "WindowNormalized",
    "FORECASTING_BACKBONES",
    "make_forecasting_backbone",
    "check_forecasting_backbone",
    "check_forecasting_backbones",
    "ConvNet",
    "CLASSIFICATION_BACKBONES",
    "make_classification_backbone",
    "convnet_depth",
    "FCN",
    "Snake",
    "UNet1D",
    "AttentionUNet1D",
]
