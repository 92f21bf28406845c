"""TimeVQVAE stage 1: the time-frequency tokenizer.

A series ``(batch, C, T)`` goes through a short-time Fourier transform (``n_fft = 4``,
hop 1, Hann window: 3 frequency bins by ``T + 1`` frames, real and imaginary parts as
``2C`` channels). Bin 0 is the low-frequency (LF) part, bins 1-2 the high-frequency (HF)
part. Each part has its own encoder (1-D convolutions over the frames, with the part's
bins stacked as channels, that halve the time axis; Snake activations; an L2-normalised
output), vector quantiser and decoder
(transposed convolutions back to the frames, then the inverse STFT of that part alone).
The reconstruction ``x̂ = x̂_LF + x̂_HF`` is trained with MSE on the LF part and L1 on the
HF part (each against the inverse STFT of the true part), plus the commitment loss.

``arch="reference"`` (the "paper" preset of :class:`TimeVQVAE`) keeps the bins as rows
and convolves in 2-D in the layout of the reference code instead (one token per bin and
down-sampled frame).

The vector quantiser projects to small codes (8-dim) and keeps a codebook of 1024 entries
updated by exponential moving averages (decay 0.8, Laplace smoothing, k-means
initialisation on the first batch), with straight-through gradients. ``tau`` turns it
into stochastic VQ: a code is drawn from ``softmax(-||z - e_k||² / tau)`` instead of the
nearest one (NM-VQTSG), among the codes in use (see ``live_threshold``); ``tau=None``
(or 0) is the deterministic arg-min.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..nn import Snake

__all__ = ["VectorQuantizer", "Tokenizer", "stft", "istft"]


def stft(x, n_fft):
    """``(b, C, T)`` -> ``(b, 2C, n_fft // 2 + 1, T // hop + 1)`` (real, imaginary channels)."""
    b, C, T = x.shape
    z = torch.stft(x.reshape(b * C, T), n_fft, window=torch.hann_window(n_fft, device=x.device),
                   center=True, normalized=True, return_complex=True)
    z = torch.view_as_real(z)  # (bC, bins, frames, 2)
    return z.reshape(b, C, *z.shape[1:]).permute(0, 1, 4, 2, 3).reshape(b, 2 * C, *z.shape[1:3])


def istft(u, n_fft, length):
    """Inverse of :func:`stft` for ``u`` of shape ``(b, 2C, bins, frames)``."""
    b, c2, bins, frames = u.shape
    z = u.reshape(b, c2 // 2, 2, bins, frames).permute(0, 1, 3, 4, 2).contiguous()
    z = torch.view_as_complex(z.reshape(b * c2 // 2, bins, frames, 2))
    x = torch.istft(z, n_fft, window=torch.hann_window(n_fft, device=u.device), center=True,
                    normalized=True, length=length)
    return x.reshape(b, c2 // 2, length)


class VectorQuantizer(nn.Module):
    """Vector quantisation with an EMA codebook and optional stochastic code draws.

    Parameters
    ----------
    dim : int
        Width of the encoder output (projected to ``codebook_dim`` and back).
    codebook_size : int, default=1024
    codebook_dim : int, default=8
    decay : float, default=0.8
        EMA decay of the cluster sizes and sums.
    eps : float, default=1e-5
        Laplace smoothing of the cluster sizes.
    kmeans_iters : int, default=10
        Iterations of the k-means initialisation on the first training batch.
    live_threshold : float, default=1e-3
        Stochastic VQ draws only among codes whose EMA usage (assignments per batch) is at
        least this. On small training sets most of the 1024 codes are never chosen and
        the EMA update drives them to the origin; drawing those would make even
        ``tau = 0.1`` replace most tokens by codes the prior never emits. (The reference
        implementation draws among all codes.)

    Examples
    --------
    >>> import torch
    >>> from skdd.generative import VectorQuantizer
    >>> vq = VectorQuantizer(4, codebook_size=16, codebook_dim=2)
    >>> zq, codes, commit = vq(torch.randn(3, 4, 5))
    >>> zq.shape, codes.shape
    (torch.Size([3, 4, 5]), torch.Size([3, 5]))
    """

    def __init__(self, dim, codebook_size=1024, codebook_dim=8, decay=0.8, eps=1e-5,
                 kmeans_iters=10, live_threshold=1e-3):
        super().__init__()
        self.live_threshold = float(live_threshold)
        self.codebook_size = int(codebook_size)
        self.decay = float(decay)
        self.eps = float(eps)
        self.kmeans_iters = int(kmeans_iters)
        self.project_in = nn.Linear(dim, codebook_dim)
        self.project_out = nn.Linear(codebook_dim, dim)
        embed = torch.randn(codebook_size, codebook_dim)
        self.register_buffer("embed", embed)
        self.register_buffer("embed_avg", embed.clone())
        self.register_buffer("cluster_size", torch.zeros(codebook_size))
        self.register_buffer("initted", torch.zeros((), dtype=torch.bool))

    def distances(self, flat):
        """Squared distances ``(N, K)`` from projected vectors ``(N, codebook_dim)`` to codes."""
        return (flat.pow(2).sum(1, keepdim=True) - 2 * flat @ self.embed.T
                + self.embed.pow(2).sum(1)[None])

    def live_codes(self):
        """Codes in use: EMA assignments per batch >= ``live_threshold`` (all when none is)."""
        live = self.cluster_size >= self.live_threshold
        return live if bool(live.any()) else torch.ones_like(live)

    def codes(self, flat, tau=None):
        """Nearest codes (``tau`` None or 0), or stochastic VQ: draws from
        ``softmax(-distance / tau)`` over the live codes."""
        d = self.distances(flat)
        if tau is None or tau == 0:
            return d.argmin(1)
        logits = (-d / float(tau)).masked_fill(~self.live_codes(), float("-inf"))
        return torch.distributions.Categorical(logits=logits).sample()

    @torch.no_grad()
    def _kmeans_init(self, flat):
        n = flat.shape[0]
        if n >= self.codebook_size:
            means = flat[torch.randperm(n, device=flat.device)[:self.codebook_size]]
        else:
            means = flat[torch.randint(n, (self.codebook_size,), device=flat.device)]
        bins = torch.zeros(self.codebook_size, device=flat.device)
        for _ in range(self.kmeans_iters):
            dist = (flat.pow(2).sum(1, keepdim=True) - 2 * flat @ means.T
                    + means.pow(2).sum(1)[None])
            buckets = dist.argmin(1)
            bins = torch.bincount(buckets, minlength=self.codebook_size).to(flat.dtype)
            sums = torch.zeros_like(means).index_add_(0, buckets, flat)
            means = torch.where(bins[:, None] > 0, sums / bins.clamp_min(1)[:, None], means)
        self.embed.copy_(means)
        self.embed_avg.copy_(means)
        self.cluster_size.copy_(bins)
        self.initted.fill_(True)

    @torch.no_grad()
    def _ema_update(self, flat, codes):
        onehot = F.one_hot(codes, self.codebook_size).to(flat.dtype)
        self.cluster_size.mul_(self.decay).add_(onehot.sum(0), alpha=1 - self.decay)
        self.embed_avg.mul_(self.decay).add_(onehot.T @ flat, alpha=1 - self.decay)
        total = self.cluster_size.sum()
        smoothed = (self.cluster_size + self.eps) / (total + self.codebook_size * self.eps) * total
        self.embed.copy_(self.embed_avg / smoothed[:, None])

    def forward(self, z, tau=None):
        """Quantise ``z`` of shape ``(b, dim, W)`` (``W`` token positions).

        Returns
        -------
        zq : tensor (b, dim, W)
            Straight-through quantised features (gradients reach the encoder).
        codes : long tensor (b, W)
        commit : scalar tensor
            ``MSE(sg(q), z_projected)`` in training mode, else 0.
        """
        b, dim, W = z.shape
        flat = self.project_in(z.transpose(1, 2).reshape(-1, dim))
        if self.training and not bool(self.initted):
            self._kmeans_init(flat.detach())
        codes = self.codes(flat.detach(), tau)
        q = self.embed[codes]
        if self.training:
            self._ema_update(flat.detach(), codes)
            commit = F.mse_loss(q, flat)
            q = flat + (q - flat).detach()
        else:
            commit = flat.new_zeros(())
        zq = self.project_out(q).reshape(b, W, dim).transpose(1, 2)
        return zq, codes.reshape(b, W), commit

    def decode_codes(self, codes):
        """Features ``(b, dim, W)`` of code indices ``(b, W)``."""
        return self.project_out(self.embed[codes]).transpose(1, 2)


class _ResBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.body = nn.Sequential(Snake(c), nn.Conv1d(c, c, 3, padding=1), nn.GroupNorm(1, c),
                                  Snake(c), nn.Conv1d(c, c, 3, padding=1))

    def forward(self, x):
        return x + self.body(x)


class _Branch(nn.Module):
    """Encoder and decoder of one frequency part over the STFT frames.

    The part's bins are stacked with the real/imaginary channels, so the convolutions
    run over time only (1-D, much faster on CPU than 2-D) and one token covers all the
    part's bins at one (down-sampled) time position.
    """

    def __init__(self, in_channels, hidden, n_down, n_res):
        super().__init__()
        enc = [nn.Conv1d(in_channels, hidden, 3, padding=1)]
        for _ in range(n_down):
            enc += [nn.Conv1d(hidden, hidden, 4, stride=2, padding=1), nn.GroupNorm(1, hidden),
                    Snake(hidden)]
            enc += [_ResBlock(hidden) for _ in range(n_res)]
        enc.append(nn.Conv1d(hidden, hidden, 1))
        self.encoder = nn.Sequential(*enc)
        dec = [nn.Conv1d(hidden, hidden, 1)]
        for _ in range(n_down):
            dec += [_ResBlock(hidden) for _ in range(n_res)]
            dec += [nn.ConvTranspose1d(hidden, hidden, 4, stride=2, padding=1),
                    nn.GroupNorm(1, hidden), Snake(hidden)]
        self.decoder = nn.Sequential(*dec)
        self.head = nn.Sequential(Snake(hidden), nn.Conv1d(hidden, in_channels, 3, padding=1))

    def encode(self, u):
        return F.normalize(self.encoder(u), dim=1)

    def decode(self, zq, frames):
        h = self.decoder(zq)
        if h.shape[-1] != frames:
            h = F.interpolate(h, size=frames, mode="linear", align_corners=False)
        return self.head(h)



def _wn(module):
    """Weight normalisation (``w = g v / ||v||``), as the reference layers use it."""
    return nn.utils.parametrizations.weight_norm(module)


class _SepResBlock2d(nn.Module):
    """Residual block of the reference tokenizer: Snake, depthwise + pointwise conv
    (weight-normalised), batch norm, Snake, depthwise + pointwise conv, dropout; a 1x1
    conv on the skip path when the widths differ."""

    def __init__(self, c_in, c_out, kernel, dropout):
        super().__init__()
        pad = (kernel[0] // 2, kernel[1] // 2)
        self.body = nn.Sequential(
            Snake(c_in), _wn(nn.Conv2d(c_in, c_in, kernel, padding=pad, groups=c_in)),
            _wn(nn.Conv2d(c_in, c_out, 1)), nn.BatchNorm2d(c_out), Snake(c_out),
            _wn(nn.Conv2d(c_out, c_out, kernel, padding=pad, groups=c_out)),
            _wn(nn.Conv2d(c_out, c_out, 1)), nn.Dropout(dropout))
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x):
        return self.skip(x) + self.body(x)


def _sep_resample(c_in, c_out, kernel, up):
    """Stride-2 (in time) depthwise + pointwise conv, batch norm and Snake."""
    if up:
        depthwise = nn.ConvTranspose2d(c_in, c_in, kernel, stride=(1, 2),
                                       padding=(kernel[0] // 2, 1), groups=c_in)
        pointwise = nn.ConvTranspose2d(c_in, c_out, 1)
    else:
        depthwise = nn.Conv2d(c_in, c_in, kernel, stride=(1, 2), padding=(kernel[0] // 2, 1),
                              padding_mode="replicate", groups=c_in)
        pointwise = nn.Conv2d(c_in, c_out, 1)
    return nn.Sequential(_wn(depthwise), _wn(pointwise), nn.BatchNorm2d(c_out), Snake(c_out))


class _ReferenceBranch(nn.Module):
    """Encoder and decoder of one frequency part in the layout of the reference code
    (ML4ITS/TimeVQVAE, ``models/vq_vae_encdec.py``).

    The part ``(b, 2C, rows, frames)`` is convolved in 2-D (kernels ``(1, k)`` for the LF
    part, ``(3, k)`` for the HF part), with depthwise-separable, weight-normalised
    convolutions, batch norm, Snake and dropout-regularised residual blocks. The encoder
    starts at ``init_dim`` channels and doubles them at each of its ``n_down`` halvings,
    then a residual block widens to ``hidden``; the decoder mirrors it and up-samples
    once more than the encoder down-sampled (its output length is interpolated back).
    One token per (row, down-sampled frame).
    """

    def __init__(self, in_channels, hidden, n_down, n_res, init_dim, rows, dropout=0.3):
        super().__init__()
        kh = 1 if rows == 1 else 3
        k3, k4 = (kh, 3), (kh, 4)
        d = init_dim
        enc = [_sep_resample(in_channels, d, k4, up=False)]
        d *= 2
        for _ in range(n_down - 1):
            enc.append(_sep_resample(d // 2, d, k4, up=False))
            enc += [_SepResBlock2d(d, d, k3, dropout) for _ in range(n_res)]
            d *= 2
        enc.append(_SepResBlock2d(d // 2, hidden, k3, dropout))
        self.encoder = nn.Sequential(*enc)
        d = init_dim * 2 ** max(n_down - 1, 0)
        dec = [_SepResBlock2d(hidden, d, k3, dropout)]
        for _ in range(n_down - 1):
            dec += [_SepResBlock2d(d, d, k3, dropout) for _ in range(n_res)]
            d //= 2
            dec.append(_sep_resample(2 * d, d, k4, up=True))
        pad = (kh // 2, 1)
        dec.append(nn.Sequential(
            nn.ConvTranspose2d(d, d, k4, stride=(1, 2), padding=pad, groups=d),
            nn.ConvTranspose2d(d, in_channels, 1)))
        dec.append(nn.Sequential(
            nn.ConvTranspose2d(in_channels, in_channels, k4, stride=(1, 2), padding=pad),
            nn.ConvTranspose2d(in_channels, in_channels, 1)))
        self.decoder = nn.Sequential(*dec)
        self.rows = rows

    def encode(self, u):
        return F.normalize(self.encoder(u), dim=1).flatten(2)

    def decode(self, zq, frames):
        b, dim, _ = zq.shape
        return self.decoder(zq.reshape(b, dim, self.rows, -1))


class Tokenizer(nn.Module):
    """The LF/HF tokenizer of TimeVQVAE for series ``(batch, C, length)``.

    Parameters
    ----------
    in_channels : int
    length : int
        Series length (at least 4).
    n_fft : int, default=4
    hidden : int, default=64
        Channels of the encoders and decoders.
    n_res : int, default=1
        Residual blocks per resolution.
    codebook_size, codebook_dim : int, default=1024, 8
    lf_width, hf_width : int, default=8, 32
        Target token widths: each encoder halves the frames ``round(log2(frames / width))``
        times (at least 0).
    decay : float, default=0.8
        EMA decay of the codebooks.
    arch : {"compact", "reference"}, default="compact"
        "compact": 1-D convolutions of width ``hidden`` over the frames, the part's bins
        stacked as channels (one token per down-sampled frame). "reference": the layout
        of the reference code (ML4ITS/TimeVQVAE): 2-D depthwise-separable,
        weight-normalised convolutions over (bins, frames) that start at ``init_dim``
        channels and double at each halving, batch norm, ``n_res`` residual blocks per
        resolution, ``hidden`` channels at the bottleneck; one token per (bin, down-sampled
        frame), and ``round(log2(round(length / width)))`` halvings (at least one).
    init_dim : int, default=4
        First encoder width of the "reference" layout.

    Attributes
    ----------
    n_tokens_lf, n_tokens_hf : int
        Tokens per series of each part (one per down-sampled frame).

    Examples
    --------
    >>> import torch
    >>> from skdd.generative import Tokenizer
    >>> tok = Tokenizer(1, 64, hidden=8, codebook_size=32)
    >>> tok.n_tokens_lf, tok.n_tokens_hf
    (8, 32)
    >>> loss, x_hat = tok.loss(torch.randn(4, 1, 64))
    >>> x_hat.shape
    torch.Size([4, 1, 64])
    """

    def __init__(self, in_channels, length, n_fft=4, hidden=64, n_res=1, codebook_size=1024,
                 codebook_dim=8, lf_width=8, hf_width=32, decay=0.8, arch="compact",
                 init_dim=4):
        super().__init__()
        if length < 4:
            raise ValueError(f"length must be at least 4 for the STFT, got {length}.")
        if arch not in ("compact", "reference"):
            raise ValueError(f"arch must be 'compact' or 'reference', got {arch!r}.")
        self.arch = arch
        self.in_channels = int(in_channels)
        self.length = int(length)
        self.n_fft = int(n_fft)
        self.bins = self.n_fft // 2 + 1
        self.frames = self.length // (self.n_fft // 4 or 1) + 1
        tokens, branches, quantizers = {}, {}, {}
        for name, rows, width in (("lf", 1, lf_width), ("hf", self.bins - 1, hf_width)):
            if arch == "reference":  # the reference's rule, on the series length
                rate = 1 if self.length < width else round(
                    self.length / (math.log2(self.n_fft) - 1) / width)
                n_down = max(1, round(math.log2(max(rate, 1))))
            else:
                n_down = max(0, round(math.log2(self.frames / width)))
            w = self.frames
            for _ in range(n_down):
                w //= 2
            if arch == "reference":
                tokens[name] = rows * w
                branches[name] = _ReferenceBranch(2 * self.in_channels, hidden, n_down, n_res,
                                                  int(init_dim), rows)
            else:
                tokens[name] = w
                branches[name] = _Branch(2 * self.in_channels * rows, hidden, n_down, n_res)
            quantizers[name] = VectorQuantizer(hidden, codebook_size, codebook_dim, decay)
        self.n_tokens_lf, self.n_tokens_hf = tokens["lf"], tokens["hf"]
        self.branches = nn.ModuleDict(branches)
        self.quantizers = nn.ModuleDict(quantizers)

    def _parts(self, u):
        """(b, 2C, bins, frames) -> each part with its bins stacked as channels (kept as
        rows in the "reference" layout)."""
        b, frames = u.shape[0], u.shape[-1]
        if self.arch == "reference":
            return {"lf": u[:, :, :1], "hf": u[:, :, 1:]}
        return {"lf": u[:, :, :1].reshape(b, -1, frames), "hf": u[:, :, 1:].reshape(b, -1, frames)}

    def _to_time(self, name, part):
        b, frames = part.shape[0], part.shape[-1]
        c2 = 2 * self.in_channels
        part = part.reshape(b, c2, -1, frames)
        full = part.new_zeros(b, c2, self.bins, frames)
        if name == "lf":
            full[:, :, :1] = part
        else:
            full[:, :, 1:] = part
        if frames == self.frames:
            return istft(full, self.n_fft, self.length)
        # the "reference" decoder's own frame count: its series, interpolated to the length
        x = istft(full, self.n_fft, (frames - 1) * (self.n_fft // 4 or 1))
        return F.interpolate(x, size=self.length, mode="linear", align_corners=False)

    def split(self, x):
        """The LF and HF parts of ``x`` in the time domain (they sum to ``x``)."""
        parts = self._parts(stft(x, self.n_fft))
        return self._to_time("lf", parts["lf"]), self._to_time("hf", parts["hf"])

    def loss(self, x):
        """Training loss (MSE on LF + L1 on HF + commitment) and the reconstruction."""
        parts = self._parts(stft(x, self.n_fft))
        total, x_hat = 0.0, 0.0
        for name, part in parts.items():
            branch = self.branches[name]
            zq, _, commit = self.quantizers[name](branch.encode(part))
            rec = self._to_time(name, branch.decode(zq, self.frames))
            target = self._to_time(name, part)
            err = F.mse_loss(rec, target) if name == "lf" else F.l1_loss(rec, target)
            total = total + err + commit
            x_hat = x_hat + rec
        return total, x_hat

    def encode(self, x, tau=None):
        """Token indices ``(codes_lf (b, n_lf), codes_hf (b, n_hf))`` of ``x`` (eval mode)."""
        parts = self._parts(stft(x, self.n_fft))
        out = []
        for name in ("lf", "hf"):
            _, codes, _ = self.quantizers[name](self.branches[name].encode(parts[name]), tau)
            out.append(codes)
        return tuple(out)

    def decode(self, codes_lf, codes_hf):
        """Series ``(b, C, length)`` from token indices."""
        x = 0.0
        for name, codes in (("lf", codes_lf), ("hf", codes_hf)):
            zq = self.quantizers[name].decode_codes(codes)
            x = x + self._to_time(name, self.branches[name].decode(zq, self.frames))
        return x
