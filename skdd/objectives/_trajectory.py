"""Trajectory matching: unroll training steps functionally and compare parameters.

One implementation serves every method that matches training trajectories: the
forecasting MTT / CondTSF baselines, HDT's multi-step gradient matching, and the
classification MTT objective. A "model" is any :class:`torch.nn.Module`; parameters are
passed around as ``{name: tensor}`` dicts and the module is called with
:func:`torch.func.functional_call`, so unrolled steps stay differentiable with respect to
the data they were taken on.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call


def parameters_of(model, detach=True):
    """The trainable parameters of ``model`` as an ordered ``{name: tensor}`` dict."""
    return {name: (p.detach().clone() if detach else p)
            for name, p in model.named_parameters() if p.requires_grad}


def unroll_sgd(model, params, batches, lr, *, loss=None, create_graph=False, buffers=None):
    """Take plain SGD steps from ``params`` through ``model`` called functionally.

    Parameters
    ----------
    model : torch.nn.Module
        Provides the architecture; its own parameters are not used or changed.
    params : dict of name -> tensor
        Starting parameters.
    batches : iterable of (inputs, targets)
        One batch per step.
    lr : float or scalar tensor
        Step size; a tensor with ``requires_grad`` (a learnable synthetic learning rate)
        receives gradients when ``create_graph`` is True.
    loss : callable, default=mean squared error
        ``loss(outputs, targets) -> scalar``.
    create_graph : bool, default=False
        Keep the graph of every step so the result is differentiable with respect to the
        batches (and ``lr``). Without it, the steps run under ``no_grad`` semantics.
    buffers : dict, optional
        Buffers to pass with the parameters (e.g. normalisation statistics).

    Returns
    -------
    dict of name -> tensor
        Parameters after the last step.
    """
    loss = loss or nn.functional.mse_loss
    names = list(params)
    current = dict(params)
    if not create_graph:
        current = {k: v.detach().requires_grad_(True) for k, v in current.items()}
    extra = dict(buffers or {})
    for inputs, targets in batches:
        outputs = functional_call(model, {**current, **extra}, (inputs,))
        value = loss(outputs, targets)
        grads = torch.autograd.grad(value, [current[k] for k in names], create_graph=create_graph)
        if create_graph:
            current = {k: current[k] - lr * g for k, g in zip(names, grads)}
        else:
            with torch.no_grad():
                current = {k: (current[k] - lr * g).requires_grad_(True)
                           for k, g in zip(names, grads)}
    if not create_graph:
        current = {k: v.detach() for k, v in current.items()}
    return current


def normalized_parameter_distance(student, target, start, eps=1e-12):
    """``‖student − target‖² / ‖start − target‖²`` summed over all parameter tensors.

    The MTT normalisation: the distance left after the synthetic steps, relative to the
    distance the real steps travelled. Differentiable with respect to ``student``.
    """
    num = sum(((student[k] - target[k]) ** 2).sum() for k in target)
    den = sum(((start[k] - target[k]) ** 2).sum() for k in target)
    return num / den.clamp_min(eps)


class TrajectoryMatching:
    """The trajectory-matching loss: synthetic steps from a start point should land where
    real steps (or a stored expert trajectory) land.

    Parameters
    ----------
    model : torch.nn.Module
        The backbone the trajectories are taken in.
    loss : callable, default=mean squared error
        Training loss of the backbone.

    Examples
    --------
    >>> import torch
    >>> from skdd.nn import DLinear
    >>> from skdd.objectives import TrajectoryMatching, parameters_of
    >>> net = DLinear(8, 4, 1)
    >>> tm = TrajectoryMatching(net)
    >>> start = parameters_of(net)
    >>> x = torch.randn(16, 8, 1); y = torch.randn(16, 4, 1)
    >>> target = tm.expert_steps(start, [(x, y)] * 3, lr=0.1)
    >>> xs = x.clone().requires_grad_(True)
    >>> value = tm.loss(start, target, [(xs, y)] * 3, lr=0.1)
    >>> value.backward(); xs.grad is not None
    True
    """

    def __init__(self, model, loss=None):
        self.model = model
        self.loss_fn = loss or nn.functional.mse_loss

    def expert_steps(self, start, batches, lr):
        """Real-data steps from ``start`` (no graph kept): the target point."""
        return unroll_sgd(self.model, start, batches, lr, loss=self.loss_fn, create_graph=False)

    def student_steps(self, start, batches, lr):
        """Synthetic-data steps from ``start``, differentiable w.r.t. the batches and ``lr``."""
        start = {k: v.detach().requires_grad_(True) for k, v in start.items()}
        return unroll_sgd(self.model, start, batches, lr, loss=self.loss_fn, create_graph=True)

    def loss(self, start, target, synthetic_batches, lr):
        """Normalised distance between the synthetic end point and ``target``."""
        student = self.student_steps(start, synthetic_batches, lr)
        return normalized_parameter_distance(student, target, start)
