"""Forecasting backbones: DLinear, iTransformer, xPatch, PatchTST, and the window
normalisation wrapper used by the matching objectives.

All take ``x`` of shape ``(batch, seq_len, n_channels)`` and return
``(batch, pred_len, n_channels)``. They are plain :class:`torch.nn.Module` s, so they can
also be called functionally (``torch.func.functional_call``) by trajectory-matching
objectives.
"""
from __future__ import annotations

import math

import torch
from torch import nn
import torch.nn.functional as F

from ..utils import check_interval, check_positive_int


class MovingAverageDecomposition(nn.Module):
    """Split a series into a moving-average trend and the remainder (seasonal part).

    The ends are padded by repeating the first/last value so the trend has the input's
    length (odd ``kernel_size``).
    """

    def __init__(self, kernel_size=25):
        super().__init__()
        self.kernel_size = check_positive_int(kernel_size, "moving_avg")
        if self.kernel_size % 2 == 0:
            raise ValueError(f"moving_avg must be odd, got {kernel_size}.")

    def forward(self, x):  # x: (B, L, C)
        pad = (self.kernel_size - 1) // 2
        xt = x.transpose(1, 2)  # (B, C, L)
        xt = torch.cat([xt[..., :1].expand(-1, -1, pad), xt, xt[..., -1:].expand(-1, -1, pad)], -1)
        trend = F.avg_pool1d(xt, self.kernel_size, stride=1).transpose(1, 2)
        return x - trend, trend


class DLinear(nn.Module):
    """DLinear (Zeng et al., AAAI 2023): moving-average decomposition + two linear maps.

    Parameters
    ----------
    seq_len, pred_len : int
        Input and output window lengths.
    n_channels : int
        Number of channels (unused by the shared model, kept for a uniform signature).
    moving_avg : int, default=25
        Odd kernel of the moving-average trend.
    individual : bool, default=False
        One pair of linear maps per channel instead of shared ones.
    init : {"average", "default"}, default="average"
        "average" starts both weight matrices at ``1 / seq_len`` (every output the mean of
        the input window), as the Time-Series-Library implementation does; "default" keeps
        PyTorch's uniform initialisation. Biases keep PyTorch's initialisation.

    Examples
    --------
    >>> import torch
    >>> from skdd.nn import DLinear
    >>> DLinear(96, 24, 7)(torch.zeros(2, 96, 7)).shape
    torch.Size([2, 24, 7])
    """

    def __init__(self, seq_len, pred_len, n_channels, moving_avg=25, individual=False,
                 init="average"):
        super().__init__()
        if init not in ("average", "default"):
            raise ValueError(f"init={init!r} must be 'average' or 'default'.")
        self.seq_len = check_positive_int(seq_len, "seq_len")
        self.pred_len = check_positive_int(pred_len, "pred_len")
        self.n_channels = check_positive_int(n_channels, "n_channels")
        self.individual = bool(individual)
        self.decomposition = MovingAverageDecomposition(moving_avg)
        if self.individual:
            self.seasonal_weight = nn.Parameter(torch.empty(n_channels, pred_len, seq_len))
            self.seasonal_bias = nn.Parameter(torch.empty(n_channels, pred_len))
            self.trend_weight = nn.Parameter(torch.empty(n_channels, pred_len, seq_len))
            self.trend_bias = nn.Parameter(torch.empty(n_channels, pred_len))
            bound = 1.0 / math.sqrt(seq_len)
            for p in self.parameters():
                nn.init.uniform_(p, -bound, bound)
        else:
            self.linear_seasonal = nn.Linear(seq_len, pred_len)
            self.linear_trend = nn.Linear(seq_len, pred_len)
        if init == "average":
            with torch.no_grad():
                for name, p in self.named_parameters():
                    if "weight" in name:
                        p.fill_(1.0 / seq_len)

    def forward(self, x):
        seasonal, trend = self.decomposition(x)
        seasonal, trend = seasonal.transpose(1, 2), trend.transpose(1, 2)  # (B, C, L)
        if self.individual:
            out = (torch.einsum("bcl,chl->bch", seasonal, self.seasonal_weight) + self.seasonal_bias
                   + torch.einsum("bcl,chl->bch", trend, self.trend_weight) + self.trend_bias)
        else:
            out = self.linear_seasonal(seasonal) + self.linear_trend(trend)
        return out.transpose(1, 2)


def _check_attention(d_model, n_heads, n_layers):
    check_positive_int(n_layers, "n_layers")
    if d_model % n_heads:
        raise ValueError(f"d_model={d_model} must be divisible by n_heads={n_heads}.")


def _transformer_encoder(d_model, n_heads, d_ff, dropout, n_layers, final_norm):
    """Post-norm GELU Transformer encoder (batch first), with a final LayerNorm or not."""
    layer = nn.TransformerEncoderLayer(
        d_model, n_heads, dim_feedforward=d_ff, dropout=dropout, activation="gelu",
        batch_first=True, norm_first=False)
    return nn.TransformerEncoder(layer, n_layers,
                                 norm=nn.LayerNorm(d_model) if final_norm else None,
                                 enable_nested_tensor=False)


class ITransformer(nn.Module):
    """iTransformer (Liu et al., ICLR 2024): attention across variates, one token each.

    Each channel's whole input window is embedded as one token; a Transformer encoder
    mixes the channel tokens and a linear head maps each token to its forecast. Inputs are
    normalised per window and channel (mean/std over time) and the forecast is mapped back.
    Calendar covariate tokens are not used.

    Parameters
    ----------
    seq_len, pred_len, n_channels : int
    d_model : int, default=256
    d_ff : int, default=256
    n_layers : int, default=2
    n_heads : int, default=8
    dropout : float, default=0.1
    use_norm : bool, default=True

    Examples
    --------
    >>> import torch
    >>> from skdd.nn import ITransformer
    >>> ITransformer(96, 24, 7, d_model=32, d_ff=32)(torch.zeros(2, 96, 7)).shape
    torch.Size([2, 24, 7])
    """

    def __init__(self, seq_len, pred_len, n_channels, d_model=256, d_ff=256, n_layers=2,
                 n_heads=8, dropout=0.1, use_norm=True):
        super().__init__()
        self.seq_len = check_positive_int(seq_len, "seq_len")
        self.pred_len = check_positive_int(pred_len, "pred_len")
        self.n_channels = check_positive_int(n_channels, "n_channels")
        _check_attention(d_model, n_heads, n_layers)
        self.use_norm = bool(use_norm)
        self.embedding = nn.Linear(seq_len, d_model)
        self.embedding_dropout = nn.Dropout(dropout)
        self.encoder = _transformer_encoder(d_model, n_heads, d_ff, dropout, n_layers,
                                            final_norm=True)
        self.projection = nn.Linear(d_model, pred_len)

    def forward(self, x):
        if self.use_norm:
            mean = x.mean(1, keepdim=True).detach()
            x = x - mean
            std = torch.sqrt(x.var(1, keepdim=True, unbiased=False) + 1e-5).detach()
            x = x / std
        tokens = self.embedding_dropout(self.embedding(x.transpose(1, 2)))  # (B, C, d)
        out = self.projection(self.encoder(tokens)).transpose(1, 2)  # (B, H, C)
        if self.use_norm:
            out = out * std + mean
        return out


class RevIN(nn.Module):
    """Reversible instance normalisation with a learnable per-channel affine map."""

    def __init__(self, n_channels, eps=1e-5, affine=True):
        super().__init__()
        self.eps = eps
        self.affine = affine
        if affine:
            self.weight = nn.Parameter(torch.ones(n_channels))
            self.bias = nn.Parameter(torch.zeros(n_channels))

    def normalize(self, x):
        mean = x.mean(1, keepdim=True).detach()
        std = torch.sqrt(x.var(1, keepdim=True, unbiased=False) + self.eps).detach()
        x = (x - mean) / std
        if self.affine:
            x = x * self.weight + self.bias
        return x, (mean, std)

    def denormalize(self, x, stats):
        mean, std = stats
        if self.affine:
            x = (x - self.bias) / (self.weight + self.eps * self.eps)
        return x * std + mean


class ExponentialMovingAverage(nn.Module):
    """EMA trend ``t_0 = x_0, t_k = a x_k + (1 - a) t_{k-1}`` as one matrix product."""

    def __init__(self, seq_len, alpha=0.3):
        super().__init__()
        alpha = check_interval(alpha, "alpha", 0, 1, closed="right")
        k = torch.arange(seq_len, dtype=torch.float64)
        lag = k[:, None] - k[None, :]
        w = torch.where(lag >= 0, alpha * (1 - alpha) ** lag.clamp(min=0), torch.zeros(()))
        w[:, 0] = (1 - alpha) ** k  # the first value carries the remaining weight
        self.register_buffer("weights", w.float(), persistent=False)

    def forward(self, x):  # (B, L, C)
        return torch.einsum("tl,blc->btc", self.weights, x)


class XPatch(nn.Module):
    """xPatch (Stitsyuk & Choi, AAAI 2025): EMA decomposition into a patched non-linear
    stream for the seasonal part and an MLP stream for the trend, with RevIN.

    Parameters
    ----------
    seq_len, pred_len, n_channels : int
    patch_len : int, default=16
    stride : int, default=8
    alpha : float, default=0.3
        EMA smoothing factor of the trend.
    revin : bool, default=True

    Examples
    --------
    >>> import torch
    >>> from skdd.nn import XPatch
    >>> XPatch(96, 24, 7)(torch.zeros(2, 96, 7)).shape
    torch.Size([2, 24, 7])
    """

    def __init__(self, seq_len, pred_len, n_channels, patch_len=16, stride=8, alpha=0.3,
                 revin=True):
        super().__init__()
        self.seq_len = check_positive_int(seq_len, "seq_len")
        self.pred_len = check_positive_int(pred_len, "pred_len")
        self.n_channels = check_positive_int(n_channels, "n_channels")
        self.patch_len = check_positive_int(patch_len, "patch_len")
        self.stride = check_positive_int(stride, "stride")
        if patch_len > seq_len:
            raise ValueError(f"patch_len={patch_len} exceeds seq_len={seq_len}.")
        if pred_len < 2:
            raise ValueError(f"XPatch needs pred_len >= 2, got {pred_len}.")
        self.revin = RevIN(n_channels) if revin else None
        self.ema = ExponentialMovingAverage(seq_len, alpha)
        n_patch = (seq_len - patch_len) // stride + 2  # one extra patch from end padding
        self.n_patch = n_patch
        dim = patch_len * patch_len
        # seasonal (non-linear) stream
        self.patch_embed = nn.Linear(patch_len, dim)
        self.bn1 = nn.BatchNorm1d(n_patch)
        self.depthwise = nn.Conv1d(n_patch, n_patch, patch_len, patch_len, groups=n_patch)
        self.bn2 = nn.BatchNorm1d(n_patch)
        self.residual = nn.Linear(dim, patch_len)
        self.pointwise = nn.Conv1d(n_patch, n_patch, 1)
        self.bn3 = nn.BatchNorm1d(n_patch)
        self.head1 = nn.Linear(n_patch * patch_len, 2 * pred_len)
        self.head2 = nn.Linear(2 * pred_len, pred_len)
        # trend (linear) stream
        half = pred_len // 2
        self.trend1 = nn.Linear(seq_len, 4 * pred_len)
        self.trend_ln1 = nn.LayerNorm(2 * pred_len)
        self.trend2 = nn.Linear(2 * pred_len, pred_len)
        self.trend_ln2 = nn.LayerNorm(half)
        self.trend3 = nn.Linear(half, pred_len)
        self.combine = nn.Linear(2 * pred_len, pred_len)

    def forward(self, x):
        if self.revin is not None:
            x, stats = self.revin.normalize(x)
        trend = self.ema(x)
        seasonal = x - trend
        B, L, C = x.shape
        s = seasonal.transpose(1, 2).reshape(B * C, L)
        t = trend.transpose(1, 2).reshape(B * C, L)
        # seasonal stream: patches -> embedding -> depthwise/pointwise convs -> head
        s = torch.cat([s, s[:, -1:].expand(-1, self.stride)], dim=1)
        s = s.unfold(-1, self.patch_len, self.stride)  # (BC, n_patch, patch_len)
        s = self.bn1(F.gelu(self.patch_embed(s)))
        res = self.residual(s)
        s = self.bn2(F.gelu(self.depthwise(s))) + res
        s = self.bn3(F.gelu(self.pointwise(s)))
        s = self.head2(F.gelu(self.head1(s.flatten(1))))
        # trend stream: MLP with average pooling and layer norms
        t = self.trend_ln1(F.avg_pool1d(self.trend1(t).unsqueeze(1), 2).squeeze(1))
        t = self.trend_ln2(F.avg_pool1d(self.trend2(t).unsqueeze(1), 2).squeeze(1))
        t = self.trend3(t)
        out = self.combine(torch.cat([s, t], dim=1)).reshape(B, C, self.pred_len).transpose(1, 2)
        if self.revin is not None:
            out = self.revin.denormalize(out, stats)
        return out


class PatchTST(nn.Module):
    """PatchTST (Nie et al., ICLR 2023): channel-independent patches through a Transformer.

    Each channel is a separate sample: its input window is normalised (RevIN without the
    affine map, as PatchTST's reference configuration), cut into patches of ``patch_len``
    with ``stride`` (the last value repeated ``stride`` times at the end, one extra patch),
    each patch embedded linearly with a learnable position embedding, mixed by a
    Transformer encoder over the patches, and the flattened patch tokens mapped to the
    forecast by one linear head. The encoder uses layer normalisation (PyTorch's
    :class:`~torch.nn.TransformerEncoderLayer`) where the reference uses batch norm.

    Defaults are PatchTST's ETTh configuration (3 layers, d_model 16, 4 heads, d_ff 128,
    dropout 0.3); :func:`skdd.forecasting.backbone_kwargs` gives its ETTm configuration
    (d_model 128, 16 heads, d_ff 256, dropout 0.2).

    Parameters
    ----------
    seq_len, pred_len, n_channels : int
    patch_len : int, default=16
    stride : int, default=8
    d_model : int, default=16
    n_heads : int, default=4
    d_ff : int, default=128
    n_layers : int, default=3
    dropout : float, default=0.3
    revin : bool, default=True

    Examples
    --------
    >>> import torch
    >>> from skdd.nn import PatchTST
    >>> PatchTST(96, 24, 7)(torch.zeros(2, 96, 7)).shape
    torch.Size([2, 24, 7])
    """

    def __init__(self, seq_len, pred_len, n_channels, patch_len=16, stride=8, d_model=16,
                 n_heads=4, d_ff=128, n_layers=3, dropout=0.3, revin=True):
        super().__init__()
        self.seq_len = check_positive_int(seq_len, "seq_len")
        self.pred_len = check_positive_int(pred_len, "pred_len")
        self.n_channels = check_positive_int(n_channels, "n_channels")
        self.patch_len = check_positive_int(patch_len, "patch_len")
        self.stride = check_positive_int(stride, "stride")
        if patch_len > seq_len:
            raise ValueError(f"patch_len={patch_len} exceeds seq_len={seq_len}.")
        _check_attention(d_model, n_heads, n_layers)
        self.revin = RevIN(n_channels, affine=False) if revin else None
        self.n_patch = (seq_len - patch_len) // stride + 2
        self.patch_embed = nn.Linear(patch_len, d_model)
        self.position = nn.Parameter(torch.empty(self.n_patch, d_model))
        nn.init.uniform_(self.position, -0.02, 0.02)
        self.embedding_dropout = nn.Dropout(dropout)
        self.encoder = _transformer_encoder(d_model, n_heads, d_ff, dropout, n_layers,
                                            final_norm=False)
        self.head = nn.Linear(self.n_patch * d_model, pred_len)

    def forward(self, x):
        if self.revin is not None:
            x, stats = self.revin.normalize(x)
        B, L, C = x.shape
        s = x.transpose(1, 2).reshape(B * C, L)
        s = torch.cat([s, s[:, -1:].expand(-1, self.stride)], dim=1)
        patches = s.unfold(-1, self.patch_len, self.stride)  # (BC, n_patch, patch_len)
        tokens = self.embedding_dropout(self.patch_embed(patches) + self.position)
        out = self.head(self.encoder(tokens).flatten(1))  # (BC, H)
        out = out.reshape(B, C, self.pred_len).transpose(1, 2)
        if self.revin is not None:
            out = self.revin.denormalize(out, stats)
        return out


class WindowNormalized(nn.Module):
    """Normalise each input window per channel (mean 0, std 1 over time), forecast with
    ``model`` and map the forecast back: what iTransformer, xPatch and PatchTST do inside.

    Wrapping a matching backbone in it makes distillation see windows as those models
    see them, by their shapes; unlike those models it does not detach the window
    statistics, so gradients with respect to the data also flow through them.

    Parameters
    ----------
    model : torch.nn.Module
        A forecasting backbone ``(B, L, C) -> (B, H, C)``.
    eps : float, default=1e-5

    Examples
    --------
    >>> import torch
    >>> from skdd.nn import DLinear, WindowNormalized
    >>> WindowNormalized(DLinear(96, 24, 7))(torch.randn(2, 96, 7)).shape
    torch.Size([2, 24, 7])
    """

    def __init__(self, model, eps=1e-5):
        super().__init__()
        self.model = model
        self.eps = float(eps)

    def forward(self, x):
        mean = x.mean(1, keepdim=True)
        std = torch.sqrt(x.var(1, keepdim=True, unbiased=False) + self.eps)
        return self.model((x - mean) / std) * std + mean


FORECASTING_BACKBONES = {
    "dlinear": DLinear,
    "itransformer": ITransformer,
    "xpatch": XPatch,
    "patchtst": PatchTST,
}


def make_forecasting_backbone(name, seq_len, pred_len, n_channels, window_norm=False,
                              **kwargs):
    """Build a forecasting backbone by name ("dlinear", "itransformer", "xpatch",
    "patchtst"); ``window_norm=True`` wraps it in :class:`WindowNormalized`.

    Examples
    --------
    >>> from skdd.nn import make_forecasting_backbone
    >>> type(make_forecasting_backbone("dlinear", 96, 96, 7)).__name__
    'DLinear'
    """
    model = FORECASTING_BACKBONES[check_forecasting_backbone(name)](seq_len, pred_len,
                                                                   n_channels, **kwargs)
    return WindowNormalized(model) if window_norm else model


def check_forecasting_backbone(name):
    """Return the registry key of the forecasting backbone ``name``, or raise ValueError."""
    key = str(name).lower()
    if key not in FORECASTING_BACKBONES:
        raise ValueError(
            f"backbone={name!r} is not a known forecasting backbone; choose one of "
            f"{sorted(FORECASTING_BACKBONES)}.")
    return key


def check_forecasting_backbones(backbone):
    """Return the registry keys of ``backbone``: one name or a list of distinct names (a
    backbone pool), as a tuple; raise ValueError naming ``backbone`` otherwise.

    Examples
    --------
    >>> from skdd.nn import check_forecasting_backbones
    >>> check_forecasting_backbones(["DLinear", "xpatch"])
    ('dlinear', 'xpatch')
    """
    if isinstance(backbone, str):
        return (check_forecasting_backbone(backbone),)
    if not isinstance(backbone, (list, tuple)):
        raise ValueError(f"backbone={backbone!r} must be a backbone name or a list of names "
                         f"from {sorted(FORECASTING_BACKBONES)}.")
    if len(backbone) == 0:
        raise ValueError("backbone=[] is empty; give at least one name from "
                         f"{sorted(FORECASTING_BACKBONES)}.")
    keys = tuple(check_forecasting_backbone(name) for name in backbone)
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise ValueError(f"backbone={list(backbone)!r} names {duplicates} more than once; "
                         "each backbone of a pool must be distinct.")
    return keys
