"""TimeVQVAE stage 2: class-conditional bidirectional transformer priors and MaskGIT.

Two priors model the token grids of the tokenizer: the LF prior sees the (partly masked)
LF tokens, the HF prior the (partly masked) HF tokens with the complete LF tokens as a
prefix. Both get a class token first; class ``n_classes`` is the "no class" token used
for unconditional generation and, with probability ``p_unconditional`` during training,
in place of the true class (classifier-free guidance).

Training is masked token prediction: per series a ratio ``r ~ U(0, 1)`` keeps
``floor(cos(r·π/2)·n)`` random tokens (at most n - 1) and the cross-entropy is taken on the
masked ones. Sampling is MaskGIT's iterative decoding: start fully masked; at each of
``steps`` steps sample every masked token, keep the most confident ones and re-mask the
rest (``floor(n·cos(π/2·(s+1)/steps))`` tokens, chosen by confidence plus Gumbel noise
scaled by ``choice_temperature·(1 - (s+1)/steps)``); first the LF grid, then the HF grid.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ._tokenizer import _wn

__all__ = ["BidirectionalPrior", "MaskGITPrior", "mask_tokens", "iterative_decode"]


class BidirectionalPrior(nn.Module):
    """A bidirectional transformer over one token grid, optionally with a token prefix.

    Parameters
    ----------
    n_tokens : int
        Tokens per series.
    codebook_size : int
        Token values ``0..codebook_size-1``; ``codebook_size`` is the mask token.
    n_classes : int
        Classes (0 for unconditional); ``n_classes`` is the "no class" token.
    dim, n_layers, heads, ff_mult : int
    dropout : float
    n_prefix : int, default=0
        Length of a conditioning token sequence (the LF tokens of the HF prior).
    prefix_codebook_size : int, optional
    """

    def __init__(self, n_tokens, codebook_size, n_classes, dim=64, n_layers=2, heads=2,
                 ff_mult=2, dropout=0.1, n_prefix=0, prefix_codebook_size=None):
        super().__init__()
        self.n_tokens = int(n_tokens)
        self.codebook_size = int(codebook_size)
        self.n_classes = int(n_classes)
        self.n_prefix = int(n_prefix)
        self.tokens = nn.Embedding(codebook_size + 1, dim)
        self.pos = nn.Parameter(0.02 * torch.randn(1, n_tokens, dim))
        self.classes = nn.Embedding(n_classes + 1, dim)
        if self.n_prefix:
            self.prefix = nn.Embedding(prefix_codebook_size, dim)
            self.prefix_pos = nn.Parameter(0.02 * torch.randn(1, n_prefix, dim))
        layer = nn.TransformerEncoderLayer(dim, heads, dim * ff_mult, dropout, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.head = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, codebook_size))

    def forward(self, tokens, class_ids, prefix=None, where=None):
        """Logits ``(b, n_tokens, codebook_size)``, or ``(n_selected, codebook_size)`` at
        the positions where the boolean map ``where`` (b, n_tokens) is True."""
        seq = [self.classes(class_ids)[:, None]]
        if self.n_prefix:
            seq.append(self.prefix(prefix) + self.prefix_pos)
        seq.append(self.tokens(tokens) + self.pos)
        h = self.encoder(torch.cat(seq, 1))[:, -self.n_tokens:]
        return self.head(h if where is None else h[where])

    def guided_logits(self, tokens, class_ids, prefix=None, guidance_scale=1.0):
        """Logits with classifier-free guidance ``u + s (c - u)`` (plain logits for s = 1
        or for the "no class" token)."""
        logits = self(tokens, class_ids, prefix)
        if guidance_scale == 1.0 or bool((class_ids == self.n_classes).all()):
            return logits
        uncond = self(tokens, torch.full_like(class_ids, self.n_classes), prefix)
        return uncond + guidance_scale * (logits - uncond)



class _Attention(nn.Module):
    """Pre-normed multi-head self-attention with a learned null key/value, cosine-similarity
    logits (L2-normalised queries and keys with learned per-dimension scales) and a
    normed output (the reference's ``Attention``)."""

    def __init__(self, dim, heads, dim_head):
        super().__init__()
        self.heads, self.dim_head = heads, dim_head
        inner = heads * dim_head
        self.norm = nn.LayerNorm(dim)
        self.null_kv = nn.Parameter(torch.randn(2, heads, 1, dim_head))
        self.to_q = _wn(nn.Linear(dim, inner, bias=False))
        self.to_kv = _wn(nn.Linear(dim, 2 * inner, bias=False))
        self.q_scale = nn.Parameter(torch.ones(dim_head))
        self.k_scale = nn.Parameter(torch.ones(dim_head))
        self.to_out = _wn(nn.Linear(inner, dim, bias=False))
        self.norm_out = nn.LayerNorm(dim)

    def forward(self, x):
        b, n, _ = x.shape
        x = self.norm(x)
        q, k, v = (self.to_q(x), *self.to_kv(x).chunk(2, dim=-1))
        q, k, v = (t.reshape(b, n, self.heads, self.dim_head).transpose(1, 2) for t in (q, k, v))
        nk, nv = (t.expand(b, -1, -1, -1) for t in self.null_kv)
        k, v = torch.cat((nk, k), 2), torch.cat((nv, v), 2)
        q = F.normalize(q, dim=-1) * self.q_scale
        k = F.normalize(k, dim=-1) * self.k_scale
        out = F.scaled_dot_product_attention(q, k, v)
        return self.norm_out(self.to_out(out.transpose(1, 2).reshape(b, n, -1)))


def _feed_forward(dim, mult):
    inner = int(dim * mult * 2 / 3)
    return nn.Sequential(nn.LayerNorm(dim), _wn(nn.Linear(dim, inner, bias=False)), nn.GELU(),
                         _wn(nn.LayerNorm(inner)), nn.Linear(inner, dim, bias=False))


class MaskGITPrior(nn.Module):
    """The bidirectional prior in the layout of the reference TimeVQVAE code.

    Follows ML4ITS/TimeVQVAE (``models/bidirectional_transformer.py``): token embeddings
    of width ``embed_dim`` plus learned positions and a class token, a linear projection
    to ``hidden_dim``, ``n_layers`` blocks of attention (``heads`` heads of width
    ``dim_head``, learned null key/value, cosine-similarity logits) and a feed-forward
    block (inner width ``2/3 · ff_mult · hidden_dim``), each added to its input, and a
    head (weight-normalised linear, GELU, layer norm, linear to ``codebook_size``
    logits). With a prefix (the LF tokens of the HF prior) the prefix embeddings are
    up-sampled to the token count (nearest neighbour, then two weight-normalised
    width-7 convolutions, the second dilated) and concatenated to the token embeddings
    along the features, so the transformer input is ``2 · embed_dim`` wide. During
    training, embeddings of known (unmasked) tokens go through dropout
    ``emb_dropout``. Same call interface as :class:`BidirectionalPrior`.

    Parameters
    ----------
    n_tokens : int
    codebook_size : int
        Token values ``0..codebook_size-1``; ``codebook_size`` is the mask token.
    n_classes : int
        Classes (0 for unconditional); ``n_classes`` is the "no class" token.
    embed_dim : int, default=128
    hidden_dim : int, default=128
    n_layers : int, default=4
    heads : int, default=2
    ff_mult : int, default=1
    emb_dropout : float, default=0.3
    dim_head : int, default=64
    n_prefix : int, default=0
    prefix_codebook_size : int, optional

    Examples
    --------
    >>> import torch
    >>> from skdd.generative import MaskGITPrior
    >>> prior = MaskGITPrior(6, 16, 2, embed_dim=8, hidden_dim=8, n_layers=1, heads=1)
    >>> prior(torch.randint(16, (3, 6)), torch.tensor([0, 1, 2])).shape
    torch.Size([3, 6, 16])
    """

    guided_logits = BidirectionalPrior.guided_logits

    def __init__(self, n_tokens, codebook_size, n_classes, embed_dim=128, hidden_dim=128,
                 n_layers=4, heads=2, ff_mult=1, emb_dropout=0.3, dim_head=64, n_prefix=0,
                 prefix_codebook_size=None):
        super().__init__()
        self.n_tokens = int(n_tokens)
        self.codebook_size = int(codebook_size)
        self.n_classes = int(n_classes)
        self.n_prefix = int(n_prefix)
        self.emb_dropout = float(emb_dropout)
        in_dim = 2 * embed_dim if self.n_prefix else embed_dim
        self.tokens = nn.Embedding(codebook_size + 1, embed_dim)
        if self.n_prefix:
            self.prefix_codebook_size = int(prefix_codebook_size)
            self.prefix = nn.Embedding(self.prefix_codebook_size + 1, embed_dim)
            self.projector = nn.Sequential(
                _wn(nn.Conv1d(embed_dim, 2 * embed_dim, 7, padding=3)), nn.GELU(),
                nn.BatchNorm1d(2 * embed_dim),
                _wn(nn.Conv1d(2 * embed_dim, embed_dim, 7, padding=6, dilation=2)))
        self.pos = nn.Embedding(self.n_tokens + 1, in_dim)
        self.classes = nn.Embedding(n_classes + 1, in_dim)
        self.proj_in = nn.Linear(in_dim, hidden_dim)
        self.blocks = nn.ModuleList(
            nn.ModuleList([_Attention(hidden_dim, heads, dim_head),
                           _feed_forward(hidden_dim, ff_mult)]) for _ in range(n_layers))
        self.head = nn.Sequential(_wn(nn.Linear(hidden_dim, hidden_dim)), nn.GELU(),
                                  nn.LayerNorm(hidden_dim, eps=1e-12),
                                  _wn(nn.Linear(hidden_dim, codebook_size)))

    def _embed(self, table, tokens, mask_id):
        e = table(tokens)
        if self.training and self.emb_dropout:
            e = torch.where((tokens == mask_id)[..., None], e, F.dropout(e, self.emb_dropout))
        return e

    def forward(self, tokens, class_ids, prefix=None, where=None):
        """Logits ``(b, n_tokens, codebook_size)``, or ``(n_selected, codebook_size)`` at
        the positions where the boolean map ``where`` (b, n_tokens) is True."""
        e = self._embed(self.tokens, tokens, self.codebook_size)
        if self.n_prefix:
            p = self._embed(self.prefix, prefix, self.prefix_codebook_size).transpose(1, 2)
            p = self.projector(F.interpolate(p, size=self.n_tokens, mode="nearest"))
            e = torch.cat((p.transpose(1, 2), e), -1)
        h = torch.cat((self.classes(class_ids)[:, None], e + self.pos.weight[:self.n_tokens]), 1)
        h = self.proj_in(h)
        for attn, ff in self.blocks:
            h = h + attn(h)
            h = h + ff(h)
        h = h[:, 1:]
        return self.head(h if where is None else h[where])


def mask_tokens(tokens, mask_id):
    """Mask random tokens with MaskGIT's cosine schedule.

    Returns the masked tokens and the boolean map of the kept (known) ones; at least one
    token per series is masked.
    """
    b, n = tokens.shape
    ratio = torch.rand(b, device=tokens.device)
    n_known = torch.floor(torch.cos(ratio * math.pi / 2) * n).clamp(0, n - 1)
    ranks = torch.rand(b, n, device=tokens.device).argsort(1).argsort(1)
    known = ranks < n_known[:, None]
    return torch.where(known, tokens, torch.full_like(tokens, mask_id)), known


def masked_prediction_loss(prior, tokens, class_ids, prefix=None):
    """Cross-entropy of the prior on randomly masked tokens."""
    masked, known = mask_tokens(tokens, prior.codebook_size)
    return F.cross_entropy(prior(masked, class_ids, prefix, where=~known), tokens[~known])


@torch.no_grad()
def iterative_decode(prior, class_ids, steps=10, choice_temperature=4.0, prefix=None,
                     guidance_scale=1.0):
    """MaskGIT sampling of ``len(class_ids)`` token grids (torch's global RNG)."""
    b, n = class_ids.shape[0], prior.n_tokens
    mask_id = prior.codebook_size
    tokens = torch.full((b, n), mask_id, dtype=torch.long, device=class_ids.device)
    for step in range(steps):
        logits = prior.guided_logits(tokens, class_ids, prefix, guidance_scale)
        sampled = torch.distributions.Categorical(logits=logits).sample()
        unknown = tokens == mask_id
        sampled = torch.where(unknown, sampled, tokens)
        ratio = (step + 1) / steps
        n_mask = int(math.floor(n * math.cos(math.pi / 2 * ratio)))
        if n_mask > 0:
            conf = torch.log_softmax(logits, -1).gather(-1, sampled[..., None])[..., 0]
            gumbel = -torch.log(-torch.log(torch.rand_like(conf).clamp(1e-20, 1.0)).clamp_min(1e-20))
            conf = conf + choice_temperature * (1 - ratio) * gumbel
            conf = torch.where(unknown, conf, torch.full_like(conf, float("inf")))
            remask = torch.zeros_like(unknown).scatter_(
                1, conf.topk(n_mask, dim=1, largest=False).indices, True)
            tokens = torch.where(remask, torch.full_like(sampled, mask_id), sampled)
        else:
            tokens = sampled
    return tokens
