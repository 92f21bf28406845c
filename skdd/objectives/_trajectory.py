"""Trajectory matching: unroll training steps functionally and compare parameters.

One implementation serves every method that matches training trajectories: the
forecasting MTT / CondTSF baselines, HDT's multi-step gradient matching, and the
classification MTT objective. A "model" is any :class:`torch.nn.Module`; parameters are
passed around as ``{name: tensor}`` dicts and the module is called with
:func:`torch.func.functional_call`, so unrolled steps stay differentiable with respect to
the data they were taken on.
"""
from __future__ import annotations

import inspect
import os
from pathlib import Path

import torch
from torch import nn
from torch.func import functional_call

from ..utils import check_positive_int


def check_expert_schedule(expert_epochs, expert_span, max_start_epoch=None):
    """Check that students starting at or before ``max_start_epoch`` and matching
    ``expert_span`` epochs stay within experts of ``expert_epochs`` epochs."""
    expert_epochs = check_positive_int(expert_epochs, "expert_epochs")
    expert_span = check_positive_int(expert_span, "expert_span")
    if expert_span > expert_epochs:
        raise ValueError(f"expert_span={expert_span} exceeds expert_epochs={expert_epochs}.")
    if max_start_epoch is not None:
        max_start_epoch = check_positive_int(max_start_epoch, "max_start_epoch", minimum=0)
        if max_start_epoch + expert_span > expert_epochs:
            raise ValueError(f"max_start_epoch + expert_span = {max_start_epoch + expert_span} "
                             f"exceeds expert_epochs={expert_epochs}.")


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


def _takes_keyword(func, name):
    """Whether ``func`` can be called with the keyword argument ``name``."""
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is inspect.Parameter.VAR_KEYWORD
                                 for p in params.values())


def _expert_files(progress_path, index):
    """Where :meth:`ExpertTrajectories.collect` keeps the unfinished expert ``index``:
    its training state and its snapshots so far."""
    progress_path = Path(progress_path)
    stem = progress_path.stem
    return (progress_path.with_name(f"{stem}.expert{index}.pt"),
            progress_path.with_name(f"{stem}.expert{index}-snapshots.pt"))


def _remove_files(*paths):
    for path in paths:
        Path(path).unlink(missing_ok=True)


class ExpertTrajectories(nn.Module):
    """Flat snapshots of expert training runs, with the template model to unflatten them.

    The stored, compact form of trajectory matching's experts: the parameters of
    ``n_experts`` training runs after every epoch, as flat float32 vectors
    (``n_experts × (epochs + 1) × n_params``). Built by :meth:`collect` from any trainer
    that calls back after each epoch; the forecasting and classification distillers
    each train theirs with the project's one trainer of their task.

    Attributes
    ----------
    snapshots : tensor of shape (n_experts, epochs + 1, n_params)
    model : torch.nn.Module
        The backbone whose parameter layout the snapshots follow.

    Examples
    --------
    >>> import torch
    >>> from skdd.objectives import ExpertTrajectories
    >>> def train(model, record):
    ...     record(0, model)
    ...     for epoch in range(3):
    ...         with torch.no_grad():
    ...             model.weight.add_(1.0)
    ...         record(epoch + 1, model)
    >>> ex = ExpertTrajectories.collect(lambda: torch.nn.Linear(2, 1), train, n_experts=2)
    >>> ex.snapshots.shape, ex.n_epochs
    (torch.Size([2, 4, 3]), 3)
    """

    def __init__(self, model, snapshots):
        super().__init__()
        self.model = model
        self.register_buffer("snapshots", snapshots)
        self._layout = [(name, p.shape, p.numel()) for name, p in model.named_parameters()
                        if p.requires_grad]

    @classmethod
    def collect(cls, make_model, train, n_experts, progress_path=None):
        """Train ``n_experts`` models and keep their parameters after every epoch.

        Parameters
        ----------
        make_model : callable
            ``make_model() -> torch.nn.Module``, a freshly initialised model.
        train : callable
            ``train(model, record)`` trains ``model`` in place and calls
            ``record(epoch, model)`` before training (epoch 0) and after every epoch.
            If it also takes a ``checkpoint_path`` keyword (as
            :func:`skdd.classification.train_classifier` does) and ``progress_path`` is
            set, it receives a path per expert where it keeps its own training state, so
            an expert interrupted mid-training resumes from its last save instead of
            starting over; a resumed ``train`` calls ``record`` only for the epochs it
            runs (the earlier snapshots are kept beside the progress file).
        n_experts : int
        progress_path : str or path-like, optional
            After each expert, save the finished trajectories and torch's RNG state there;
            when the file exists, collection continues after its last finished expert and
            ends with the same snapshots as an uninterrupted run (the caller removes the
            file once the result is stored, see :func:`skdd.utils.disk_cache`). The
            unfinished expert's files (``<stem>.expert<i>.pt`` and
            ``<stem>.expert<i>-snapshots.pt`` beside it) are removed once the expert is
            finished, the last expert's with the progress file by the caller.
        """
        from ..base import _Checkpoint, _get_rng_state, _set_rng_state

        n_experts = int(n_experts)
        if n_experts < 1:
            raise ValueError("n_experts must be at least 1.")
        progress = None if progress_path is None else _Checkpoint(
            os.fspath(progress_path), None, f"experts:{n_experts}")
        runs, template = [], None
        if progress is not None and progress.exists():
            state = progress.load()
            runs = list(state["runs"])
            with torch.random.fork_rng(devices=[]):  # a layout template, drawing nothing
                template = make_model()
            _set_rng_state(state["rng"])
        resume_inside = progress is not None and _takes_keyword(train, "checkpoint_path")
        if resume_inside and runs:  # the last finished expert's files, if a stop left them
            _remove_files(*_expert_files(progress.path, len(runs) - 1))
        for index in range(len(runs), n_experts):
            model = make_model()
            template = model if template is None else template
            snaps, kept = [], None
            if resume_inside:
                train_path, snaps_path = _expert_files(progress.path, index)
                kept = _Checkpoint(snaps_path, None, f"expert-snapshots:{n_experts}:{index}")
                if kept.exists() and train_path.exists():
                    device = next((p.device for p in model.parameters()), "cpu")
                    snaps.extend(kept.load()["snapshots"].to(device))
                else:  # neither, or a training state without its snapshots: start over
                    _remove_files(train_path, snaps_path)

            def record(epoch, m, snaps=snaps, kept=kept):
                if epoch > len(snaps):
                    raise RuntimeError(f"record() got epoch {epoch} but only {len(snaps)} "
                                       "snapshots precede it.")
                del snaps[epoch:]  # a resumed training repeats epochs after its last save
                snaps.append(torch.cat([p.detach().flatten()
                                        for p in parameters_of(m).values()]))
                if kept is not None:  # before train() saves the state of this epoch
                    kept.save({"snapshots": torch.stack(snaps).cpu()})

            if resume_inside:
                train(model, record, checkpoint_path=train_path)
            else:
                train(model, record)
            if not snaps:
                raise ValueError("train() recorded no snapshot; it must call record(epoch, model).")
            runs.append(torch.stack(snaps))
            if progress is not None and len(runs) < n_experts:
                progress.save({"runs": torch.stack(runs).cpu(), "rng": _get_rng_state()})
            if resume_inside and len(runs) < n_experts:
                _remove_files(train_path, snaps_path)
        template.train()
        return cls(template, torch.stack([r.to(runs[-1].device) for r in runs]))

    @property
    def n_experts(self):
        return self.snapshots.shape[0]

    @property
    def n_epochs(self):
        return self.snapshots.shape[1] - 1

    @property
    def nbytes(self):
        """Memory of the stored snapshots in bytes."""
        return self.snapshots.numel() * self.snapshots.element_size()

    def params(self, expert, epoch):
        """Parameters ``{name: tensor}`` of ``expert`` after ``epoch`` epochs."""
        return self.unflatten(self.snapshots[expert, epoch])

    def unflatten(self, flat):
        out, offset = {}, 0
        for name, shape, size in self._layout:
            out[name] = flat[offset:offset + size].view(shape)
            offset += size
        return out
