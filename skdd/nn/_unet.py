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
from torch.autograd.function import once_differentiable

from ..utils import check_positive_int

__all__ = ["Snake", "UNet1D", "AttentionUNet1D"]


class _SnakeFunction(torch.autograd.Function):
    """``x + sin²(a·x) / a`` with a hand-written backward that keeps only ``x`` and ``a``:
    ``dy/dx = 1 + sin(2ax)`` and ``dy/da = x·sin(2ax)/a - sin²(ax)/a²``, recomputed in
    place (one temporary the size of ``x`` in the forward, two in the backward)."""

    @staticmethod
    def forward(ctx, x, a):
        ctx.save_for_backward(x, a)
        y = torch.sin(a * x)
        return y.square_().div_(a).add_(x)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        x, a = ctx.saved_tensors
        grad_x = grad_a = None
        ax = a * x
        if ctx.needs_input_grad[1]:
            sin2 = torch.sin(ax).square_().div_(a * a)  # sin²(ax)/a²
        s2 = ax.mul_(2).sin_()  # sin(2ax), in the buffer of ax
        if ctx.needs_input_grad[1]:
            grad_a = (s2 * x).div_(a).sub_(sin2).mul_(grad).sum_to_size(a.shape)
        if ctx.needs_input_grad[0]:
            grad_x = s2.mul_(grad).add_(grad)
        return grad_x, grad_a


def snake(x, a):
    """The Snake activation ``x + sin²(a·x) / a`` (``a`` broadcast against ``x``), fused:
    one pass forward, a hand-written backward, no saved intermediates but ``x``."""
    return _SnakeFunction.apply(x, a)


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
        return snake(x, a.to(x.dtype))


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


class _StandardizedConv1d(nn.Conv1d):
    """Convolution with weight standardisation (zero mean, unit variance per output
    channel over its inputs and taps)."""

    def forward(self, x):
        eps = 1e-5 if x.dtype == torch.float32 else 1e-3
        w = self.weight
        mean = w.mean(dim=(1, 2), keepdim=True)
        var = w.var(dim=(1, 2), unbiased=False, keepdim=True)
        return F.conv1d(x, (w - mean) * (var + eps).rsqrt(), self.bias, self.stride,
                        self.padding, self.dilation, self.groups)


class _ChannelNorm(nn.Module):
    """Layer norm over the channels of ``(b, c, t)`` with a gain and no bias."""

    def __init__(self, channels):
        super().__init__()
        self.g = nn.Parameter(torch.ones(1, channels, 1))

    def forward(self, x):
        eps = 1e-5 if x.dtype == torch.float32 else 1e-3
        var, mean = torch.var_mean(x, dim=1, unbiased=False, keepdim=True)
        return (x - mean) * (var + eps).rsqrt() * self.g


class _ConvBlock(nn.Module):
    def __init__(self, c_in, c_out, groups, dropout):
        super().__init__()
        self.layers = nn.Sequential(_StandardizedConv1d(c_in, c_out, 3, padding=1),
                                    nn.GroupNorm(groups, c_out), Snake(c_out),
                                    nn.Dropout(dropout))

    def forward(self, x):
        return self.layers(x)


class _RefResBlock(nn.Module):
    def __init__(self, c_in, c_out, groups, dropout):
        super().__init__()
        self.block1 = _ConvBlock(c_in, c_out, groups, dropout)
        self.block2 = _ConvBlock(c_out, c_out, groups, dropout)
        self.skip = nn.Conv1d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x):
        return self.block2(self.block1(x)) + self.skip(x)


class _PreNormAttention(nn.Module):
    """``x + attention(norm(x))``; linear attention (softmax over features of q and over
    time of k, then ``k v^T`` contexts) or full softmax attention, 4 heads of width 32."""

    def __init__(self, channels, linear, heads=4, dim_head=32):
        super().__init__()
        self.linear, self.heads, self.dim_head = linear, heads, dim_head
        inner = heads * dim_head
        self.norm = _ChannelNorm(channels)
        self.qkv = nn.Conv1d(channels, 3 * inner, 1, bias=False)
        out = nn.Conv1d(inner, channels, 1)
        self.out = nn.Sequential(out, _ChannelNorm(channels)) if linear else out

    def forward(self, x):
        b, _, t = x.shape
        q, k, v = self.qkv(self.norm(x)).view(b, 3, self.heads, self.dim_head, t).unbind(1)
        if self.linear:
            q = q.softmax(dim=-2) * self.dim_head ** -0.5
            context = torch.einsum("bhdn,bhen->bhde", k.softmax(dim=-1), v)
            h = torch.einsum("bhde,bhdn->bhen", context, q)
        else:
            h = F.scaled_dot_product_attention(q.transpose(-1, -2), k.transpose(-1, -2),
                                               v.transpose(-1, -2)).transpose(-1, -2)
        return x + self.out(h.reshape(b, -1, t))


def _upsample(c_in, c_out):
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                         nn.Conv1d(c_in, c_out, 3, padding=1))


class AttentionUNet1D(nn.Module):
    """The neural mapper's U-Net in the layout of the reference code.

    Follows the 1-D U-Net of ML4ITS/TimeVQVAE's neural mapper (itself the denoising
    diffusion 1-D U-Net, without its time conditioning, which the mapper never feeds):
    a width-7 input convolution; per level two residual blocks of weight-standardised
    convolutions, group norm, Snake and dropout, pre-normed linear attention, and a
    stride-2 convolution (a plain width-3 one at the last level); full attention between
    two residual blocks at the bottleneck; the mirror path with skip connections
    (linearly interpolated to the current length), nearest-neighbour up-sampling and one
    more up-sampling at the end, the result interpolated back to the input length,
    concatenated with the input convolution's features, a last residual block and a
    1x1 then two width-3 (replicate-padded) convolutions. Maps ``(batch, C, T)`` to
    ``(batch, C, T)`` directly (no residual connection around the whole network).

    Parameters
    ----------
    in_channels : int
    dim : int, default=8
        Width of the first level; level ``i`` has ``dim * dim_mults[i]`` channels.
    dim_mults : tuple of int, default=(1, 2, 4, 8)
    groups : int, default=4
        Group-norm groups (must divide every width).
    dropout : float, default=0.5

    Examples
    --------
    >>> import torch
    >>> from skdd.nn import AttentionUNet1D
    >>> net = AttentionUNet1D(1, dim=8, dim_mults=(1, 2))
    >>> net(torch.randn(3, 1, 37)).shape
    torch.Size([3, 1, 37])
    """

    def __init__(self, in_channels, dim=8, dim_mults=(1, 2, 4, 8), groups=4, dropout=0.5):
        super().__init__()
        self.in_channels = check_positive_int(in_channels, "in_channels")
        dim = check_positive_int(dim, "dim")
        mults = tuple(check_positive_int(m, "dim_mults") for m in dim_mults)
        if not mults:
            raise ValueError("dim_mults must have at least one level.")
        groups = check_positive_int(groups, "groups")
        dims = [dim] + [dim * m for m in mults]
        if any(d % groups for d in dims):
            raise ValueError(f"groups={groups} must divide every width {dims}.")
        pairs = list(zip(dims[:-1], dims[1:]))
        self.init = nn.Conv1d(self.in_channels, dim, 7, padding=3)
        self.downs = nn.ModuleList()
        for i, (a, b) in enumerate(pairs):
            last = i == len(pairs) - 1
            self.downs.append(nn.ModuleList([
                _RefResBlock(a, a, groups, dropout), _RefResBlock(a, a, groups, dropout),
                _PreNormAttention(a, linear=True),
                nn.Conv1d(a, b, 3, padding=1) if last else nn.Conv1d(a, b, 4, 2, 1)]))
        mid = dims[-1]
        self.mid = nn.Sequential(_RefResBlock(mid, mid, groups, dropout),
                                 _PreNormAttention(mid, linear=False),
                                 _RefResBlock(mid, mid, groups, dropout))
        self.ups = nn.ModuleList()
        for i, (a, b) in enumerate(reversed(pairs)):
            last = i == len(pairs) - 1
            self.ups.append(nn.ModuleList([
                _RefResBlock(b + a, b, groups, dropout), _RefResBlock(b + a, b, groups, dropout),
                _PreNormAttention(b, linear=True),
                nn.Conv1d(b, a, 3, padding=1) if last else _upsample(b, a)]))
        self.last_up = _upsample(dim, dim)
        self.final = _RefResBlock(2 * dim, dim, groups, dropout)
        C = self.in_channels
        self.head = nn.Sequential(
            nn.Conv1d(dim, C, 1), nn.Conv1d(C, C, 3, padding=1, padding_mode="replicate"),
            nn.Conv1d(C, C, 3, padding=1, padding_mode="replicate"))

    def forward(self, x):
        if x.ndim != 3 or x.shape[1] != self.in_channels:
            raise ValueError(f"AttentionUNet1D expects input of shape (batch, "
                             f"{self.in_channels}, T), got {tuple(x.shape)}.")
        h = self.init(x)
        first, skips = h, []
        for block1, block2, attn, down in self.downs:
            h = block1(h)
            skips.append(h)
            h = attn(block2(h))
            skips.append(h)
            h = down(h)
        h = self.mid(h)
        for block1, block2, attn, up in self.ups:
            for block in (block1, block2):
                skip = F.interpolate(skips.pop(), size=h.shape[-1], mode="linear",
                                     align_corners=False)
                h = block(torch.cat((h, skip), 1))
            h = up(attn(h))
        h = F.interpolate(self.last_up(h), size=x.shape[-1], mode="linear", align_corners=False)
        return self.head(self.final(torch.cat((h, first), 1)))
