"""A 1-D U-Net with self-attention and Snake activations (the NM-VQTSG neural mapper).

NM-VQTSG refines synthetic series with a U-Net over time: convolutional residual blocks
with group norm and the Snake activation ``x + sin²(a·x)/a`` (learnable per-channel
frequency ``a``, suited to periodic signals), a self-attention block at the bottleneck,
and skip connections. :class:`UNet1D` maps ``(batch, C, T)`` to ``(batch, C, T)`` for any
length T >= 1 (down-sampling rounds up, up-sampling interpolates back to the skip's
length); by default it predicts a residual added to its input, with a zero-initialised
output layer, so an untrained mapper is the identity.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..utils import check_positive_int

__all__ = ["Snake", "UNet1D"]


class Snake(nn.Module):
    """Snake activation ``x + sin²(a·x) / a`` with a learnable frequency per channel.

    Works on any input ``(batch, channels, ...)``. The frequencies start uniform in
    ``[a_min, a_max]`` (drawn from torch's RNG); ``|a|`` is used, floored at 1e-4.

    Examples
    --------
    >>> import torch
    >>> from skdd.nn import Snake
    >>> Snake(3)(torch.zeros(2, 3, 5)).abs().max().item()
    0.0
    """

    def __init__(self, channels, a_min=0.2, a_max=0.5):
        super().__init__()
        channels = check_positive_int(channels, "channels")
        self.a = nn.Parameter(a_min + (a_max - a_min) * torch.rand(channels))

    def forward(self, x):
        a = self.a.abs().clamp_min(1e-4).view(1, -1, *([1] * (x.ndim - 2)))
        return x + torch.sin(a * x) ** 2 / a


def _norm(channels, groups):
    return nn.GroupNorm(math.gcd(groups, channels), channels)


class _ResBlock(nn.Module):
    """Two conv-3 → group norm → Snake layers with a residual (1x1 conv when widths differ)."""

    def __init__(self, c_in, c_out, groups, dropout):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv1d(c_in, c_out, 3, padding=1), _norm(c_out, groups), Snake(c_out),
            nn.Dropout(dropout),
            nn.Conv1d(c_out, c_out, 3, padding=1), _norm(c_out, groups), Snake(c_out))
        self.skip = nn.Conv1d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x):
        return self.skip(x) + self.body(x)


class _SelfAttention(nn.Module):
    """Multi-head self-attention over time, pre-normed, with a residual connection."""

    def __init__(self, channels, heads, groups):
        super().__init__()
        self.heads = check_positive_int(heads, "attn_heads")
        if channels % self.heads:
            raise ValueError(f"attn_heads={heads} must divide the bottleneck width {channels}.")
        self.norm = _norm(channels, groups)
        self.qkv = nn.Conv1d(channels, 3 * channels, 1, bias=False)
        self.out = nn.Conv1d(channels, channels, 1)

    def forward(self, x):
        b, c, t = x.shape
        q, k, v = self.qkv(self.norm(x)).view(b, 3, self.heads, c // self.heads, t).unbind(1)
        h = F.scaled_dot_product_attention(q.transpose(-1, -2), k.transpose(-1, -2),
                                           v.transpose(-1, -2))  # (b, heads, t, c/heads)
        return x + self.out(h.transpose(-1, -2).reshape(b, c, t))


class UNet1D(nn.Module):
    """1-D U-Net mapping ``(batch, C, T)`` to ``(batch, C, T)``.

    Parameters
    ----------
    in_channels : int
        Channels C of the input (and, unless ``out_channels`` is given, the output).
    dim : int, default=16
        Width of the first level; level ``i`` has ``dim * dim_mults[i]`` channels.
    dim_mults : tuple of int, default=(1, 2, 4)
        One entry per level; each level but the last halves the length (rounding up).
    out_channels : int, optional
    groups : int, default=4
        Group-norm groups (reduced to a divisor of each width).
    attn_heads : int, default=4
        Heads of the bottleneck self-attention (must divide its width).
    dropout : float, default=0.0
    residual : bool, default=True
        Return ``x + f(x)`` (needs ``out_channels == in_channels``); the last layer starts
        at zero so the untrained network is the identity.

    Examples
    --------
    >>> import torch
    >>> from skdd.nn import UNet1D
    >>> net = UNet1D(2, dim=8)
    >>> x = torch.randn(3, 2, 37)
    >>> net(x).shape
    torch.Size([3, 2, 37])
    >>> bool(torch.equal(net(x), x))  # identity before training
    True
    """

    def __init__(self, in_channels, dim=16, dim_mults=(1, 2, 4), out_channels=None, groups=4,
                 attn_heads=4, dropout=0.0, residual=True):
        super().__init__()
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.out_channels = (self.in_channels if out_channels is None
                             else check_positive_int(out_channels, "out_channels"))
        dim = check_positive_int(dim, "dim")
        mults = tuple(check_positive_int(m, "dim_mults") for m in dim_mults)
        if not mults:
            raise ValueError("dim_mults must have at least one level.")
        groups = check_positive_int(groups, "groups")
        self.residual = bool(residual)
        if self.residual and self.out_channels != self.in_channels:
            raise ValueError("residual=True needs out_channels == in_channels.")
        widths = [dim] + [dim * m for m in mults]
        self.init = nn.Conv1d(self.in_channels, dim, 7, padding=3)
        self.down_blocks = nn.ModuleList(
            _ResBlock(widths[i], widths[i + 1], groups, dropout) for i in range(len(mults)))
        self.downsample = nn.ModuleList(
            nn.Conv1d(widths[i + 1], widths[i + 1], 3, stride=2, padding=1)
            for i in range(len(mults) - 1))
        mid = widths[-1]
        self.mid = nn.ModuleList([_ResBlock(mid, mid, groups, dropout),
                                  _SelfAttention(mid, attn_heads, groups),
                                  _ResBlock(mid, mid, groups, dropout)])
        self.up_blocks = nn.ModuleList(
            _ResBlock(2 * widths[i + 1], widths[i], groups, dropout) for i in range(len(mults)))
        self.final = _ResBlock(2 * dim, dim, groups, dropout)
        self.head = nn.Conv1d(dim, self.out_channels, 1)
        if self.residual:
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)

    def forward(self, x):
        if x.ndim != 3 or x.shape[1] != self.in_channels:
            raise ValueError(f"UNet1D expects input of shape (batch, {self.in_channels}, T), "
                             f"got {tuple(x.shape)}.")
        h = self.init(x)
        first = h
        skips = []
        for i, block in enumerate(self.down_blocks):
            h = block(h)
            skips.append(h)
            if i < len(self.downsample):
                h = self.downsample[i](h)
        for layer in self.mid:
            h = layer(h)
        for block, skip in zip(reversed(self.up_blocks), reversed(skips)):
            if h.shape[-1] != skip.shape[-1]:
                h = F.interpolate(h, size=skip.shape[-1], mode="nearest")
            h = block(torch.cat([h, skip], 1))
        out = self.head(self.final(torch.cat([h, first], 1)))
        return x + out if self.residual else out
