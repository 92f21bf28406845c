"""Data-parallel distillation under a torch.distributed process group.

A distiller whose loss per iteration is a mean over independent *matches* (each with its
own random draws: real subsequences, an expert point, batches) splits those matches
across the ranks of an initialised default process group. Every rank draws the same
per-match seeds from torch's global RNG, computes the gradients of the matches
``rank, rank + world, ...``, and one all-reduce gathers every match's gradient, so every
rank takes the same optimiser step and ends with the same synthetic set: bit for bit the
one a single process computes with the same number of matches.
"""
from __future__ import annotations

import hashlib

import torch

from ._torch import seeded

__all__ = ["process_group", "is_distributed", "sharded_mean", "sharded_sum", "MatchGradients",
           "check_same_on_ranks", "is_main_process"]


def process_group():
    """``(rank, world_size)`` of the initialised default process group, else ``(0, 1)``."""
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def is_distributed():
    """True under an initialised default process group of more than one rank."""
    return process_group()[1] > 1


def is_main_process():
    """True on rank 0, and always without a process group (the rank that writes files)."""
    return process_group()[0] == 0


class MatchGradients:
    """This rank's share of an iteration's loss terms: their values and gradients.

    Returned by :func:`sharded_mean` and :func:`sharded_sum` in place of a loss tensor;
    the shared optimisation loop calls :meth:`reduce` instead of ``backward``. Row ``j``
    of ``grads`` holds term ``j``'s gradient (flattened over ``params``) on the rank that
    computed it and zeros elsewhere, so the all-reduce only adds zeros and the rows are
    then summed in term order: the result is bit for bit the same for any number of ranks.
    """

    def __init__(self, params, values, grads, scale=1.0):
        self.params = params
        self.values = values
        self.grads = grads
        self.scale = scale

    def reduce(self):
        """Sum over the ranks, set each parameter's ``grad`` to ``scale`` times the sum
        over the terms and return the loss (a detached scalar tensor)."""
        values, grads = self.values, self.grads
        if is_distributed():
            buffer = torch.cat([values[:, None], grads], dim=1)
            torch.distributed.all_reduce(buffer)
            values, grads = buffer[:, 0], buffer[:, 1:]
        total = grads.sum(dim=0) * self.scale
        offset = 0
        for p in self.params:
            p.grad = total[offset:offset + p.numel()].view_as(p).clone()
            offset += p.numel()
        return values.sum() * self.scale


def _shares(term_loss, n_terms, params, device, seeds, scale, name):
    rank, world = process_group()
    if n_terms < world:
        raise ValueError(
            f"{name}={n_terms} is smaller than the {world} ranks of the torch.distributed "
            f"process group; every rank needs at least one term: set {name} to a multiple "
            f"of {world}.")
    params = [p for p in params if p.requires_grad]
    dtype = params[0].dtype
    values = torch.zeros(n_terms, dtype=dtype, device=device)
    grads = torch.zeros(n_terms, sum(p.numel() for p in params), dtype=dtype, device=device)
    for j in range(rank, n_terms, world):
        if seeds is None:
            loss = term_loss(j)
        else:
            with seeded(seeds[j], device):
                loss = term_loss(j)
        parts = torch.autograd.grad(loss, params, allow_unused=True)
        grads[j] = torch.cat([torch.zeros(p.numel(), dtype=dtype, device=device)
                              if g is None else g.reshape(-1) for p, g in zip(params, parts)])
        values[j] = loss.detach()
    return MatchGradients(params, values, grads, scale)


def sharded_mean(match_loss, n_matches, params, device, *, name="n_matches"):
    """The mean of ``n_matches`` independent losses, computed as this rank's share.

    Draws ``n_matches`` seeds from torch's global RNG (identically on every rank), then
    computes ``match_loss(j)`` and its gradient for this rank's matches
    ``j = rank, rank + world, ...``, each inside :func:`skdd.utils.seeded` with its own
    seed. The returned :class:`MatchGradients` is reduced by the optimisation loop to the
    mean loss and mean gradient over all matches: bit for bit the same as one process
    computing all of them.

    Parameters
    ----------
    match_loss : callable
        ``match_loss(j) -> scalar tensor``; draws its randomness from torch's global RNG.
    n_matches : int
        At least the number of ranks, so that every rank has work.
    params : iterable of torch.nn.Parameter
        The learnable tensors the gradients are taken for.
    device : torch.device
        Where ``match_loss`` draws random numbers (its CUDA RNG is seeded too).
    name : str
        The parameter that sets ``n_matches``, for the error message.

    Examples
    --------
    >>> import torch
    >>> from skdd.utils import sharded_mean
    >>> w = torch.nn.Parameter(torch.ones(2))
    >>> shares = sharded_mean(lambda j: (w * torch.rand(2)).sum(), 3, [w], "cpu")
    >>> loss = shares.reduce()  # sets w.grad to the mean gradient of the 3 matches
    >>> tuple(w.grad.shape)
    (2,)
    """
    n_matches = int(n_matches)
    seeds = torch.randint(2 ** 62, (n_matches,)).tolist()
    return _shares(match_loss, n_matches, params, device, seeds, 1.0 / n_matches, name)


def sharded_sum(term_loss, n_terms, params, device, *, name="n_classes"):
    """The sum of ``n_terms`` loss terms (e.g. one per class), as this rank's share.

    Unlike :func:`sharded_mean` no seeds are drawn: the caller draws every random number
    of the iteration before (identically on every rank) and ``term_loss(j)`` is
    deterministic. The sum over the ranks equals one process computing every term, up to
    the order of floating-point sums.
    """
    return _shares(term_loss, int(n_terms), params, device, None, 1.0, name)


def check_same_on_ranks(text, what):
    """Raise ValueError unless every rank passes the same ``text`` (e.g. a fingerprint of
    the training data and the parameters): data-parallel ranks must fit the same problem.
    """
    if not is_distributed():
        return
    digest = hashlib.sha1(str(text).encode()).hexdigest()
    gathered = [None] * torch.distributed.get_world_size()
    torch.distributed.all_gather_object(gathered, digest)
    differ = [r for r, d in enumerate(gathered) if d != gathered[0]]
    if differ:
        raise ValueError(
            f"the ranks {differ} of the torch.distributed process group hold other {what} "
            "than rank 0; data-parallel distillation needs the same data and parameters on "
            "every rank.")
