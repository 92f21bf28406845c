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


def _train_expert(make_model, train, seed, device, files, tag, *, threads):
    """One expert of :meth:`ExpertTrajectories.collect`: ``make_model()`` and ``train``
    inside :func:`skdd.utils.seeded` with ``seed`` and ``threads`` torch threads.

    ``files`` (the expert's training state and snapshots so far, see
    :func:`_expert_files`) makes it resumable inside its training. Returns the stacked
    snapshots (on the CPU) and the trained model's ``state_dict`` (on the CPU).
    """
    from ..base import _Checkpoint
    from ..utils import seeded, torch_threads

    with torch_threads(int(threads)), seeded(int(seed), device):
        model = make_model()
        snaps, kept = [], None
        if files is not None:
            train_path, snaps_path = files
            kept = _Checkpoint(snaps_path, None, tag)
            if kept.exists() and Path(train_path).exists():
                snaps.extend(kept.load()["snapshots"].to(device))
            else:  # neither, or a training state without its snapshots: start over
                _remove_files(train_path, snaps_path)

        def record(epoch, m):
            if epoch > len(snaps):
                raise RuntimeError(f"record() got epoch {epoch} but only {len(snaps)} "
                                   "snapshots precede it.")
            del snaps[epoch:]  # a resumed training repeats epochs after its last save
            snaps.append(torch.cat([p.detach().flatten()
                                    for p in parameters_of(m).values()]))
            if kept is not None:  # before train() saves the state of this epoch
                kept.save({"snapshots": torch.stack(snaps).cpu()})

        if files is not None:
            train(model, record, checkpoint_path=files[0])
        else:
            train(model, record)
    if not snaps:
        raise ValueError("train() recorded no snapshot; it must call record(epoch, model).")
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    return torch.stack(snaps).cpu(), state


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
    def collect(cls, make_model, train, n_experts, progress_path=None, n_jobs=None):
        """Train ``n_experts`` models and keep their parameters after every epoch.

        Every expert trains from its own seed: the ``n_experts`` seeds are drawn from
        torch's global RNG before any training (one :func:`torch.randint` call), and each
        expert runs inside :func:`skdd.utils.seeded` with its seed and with the caller's
        torch thread count. Experts are therefore independent tasks: they run through
        :class:`joblib.Parallel` with ``n_jobs`` (None and 1 train them here, one after
        the other), under whatever joblib backend is active (e.g.
        ``joblib.parallel_config(backend="dask")``), and the snapshots, and the
        global RNG state after the call, are the same for every ``n_jobs`` and backend.
        Under an initialised torch.distributed process group the ranks share the experts
        (rank ``r`` trains experts ``r, r + R, ...``) and exchange the snapshots, so every
        rank ends with all of them, the same as one process training them all; rank 0
        alone writes ``progress_path``.

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
            runs (the earlier snapshots are kept beside the progress file). With
            ``n_jobs`` other than None or 1, ``make_model`` and ``train`` are pickled
            (cloudpickle: closures are fine) and run in worker processes.
        n_experts : int
        progress_path : str or path-like, optional
            Each time the next expert in order is finished, save the finished
            trajectories and the experts' seeds there; when the file exists, collection
            continues with the experts not yet saved and ends with the same snapshots
            as an uninterrupted run (the caller removes the file once the result is
            stored, see :func:`skdd.utils.disk_cache`). The unfinished experts' files
            (``<stem>.expert<i>.pt`` and ``<stem>.expert<i>-snapshots.pt`` beside it)
            are removed once their expert is saved, the last expert's with the progress
            file by the caller. Parallel experts write these files from their workers,
            so with a cluster backend they need a folder every worker sees.
        n_jobs : int, optional
            Experts trained at the same time (joblib's convention: None and 1 one after
            the other in this process, -1 one per core).
        """
        from ..base import _Checkpoint, _get_rng_state, _set_rng_state
        from ..utils import is_main_process, process_group
        from ..utils._parallel import check_n_jobs

        n_experts = int(n_experts)
        if n_experts < 1:
            raise ValueError("n_experts must be at least 1.")
        n_jobs = check_n_jobs(n_jobs)
        progress = None if progress_path is None else _Checkpoint(
            os.fspath(progress_path), None, f"experts:{n_experts}:seeded")
        if progress is not None and progress.exists():
            state = progress.load()
            runs, seeds = list(state["runs"]), [int(s) for s in state["seeds"]]
            _set_rng_state(state["rng"])  # as after drawing the seeds
        else:
            runs = []
            seeds = [int(s) for s in torch.randint(2 ** 62, (n_experts,))]
        rng_after = _get_rng_state()
        with torch.random.fork_rng(devices=[]):  # a layout template, drawing nothing
            template = make_model()
        device = next((p.device for p in template.parameters()), torch.device("cpu"))
        resume_inside = progress is not None and _takes_keyword(train, "checkpoint_path")
        if resume_inside and runs:  # the last saved expert's files, if a stop left them
            _remove_files(*_expert_files(progress.path, len(runs) - 1))
        tasks = []
        for index in range(len(runs), n_experts):
            files = _expert_files(progress.path, index) if resume_inside else None
            tasks.append((make_model, train, seeds[index], str(device), files,
                          f"expert-snapshots:{n_experts}:{index}"))
        threads = torch.get_num_threads()
        def train_all(chosen):
            if n_jobs in (None, 1):  # here, whatever joblib's active backend (inside a Dask
                # task it is Dask's, which would send each expert out as a task of its own)
                return (_train_expert(*task, threads=threads) for task in chosen)
            from joblib import Parallel, delayed

            return Parallel(n_jobs=n_jobs, return_as="generator")(
                delayed(_train_expert)(*task, threads=threads) for task in chosen)

        rank, world = process_group()
        if world > 1:  # data-parallel fit: each rank trains its share, all ranks get all
            mine = [k for k in range(len(tasks)) if (len(runs) + k) % world == rank]
            done = list(train_all([tasks[k] for k in mine]))
            shared = [None] * world
            torch.distributed.all_gather_object(shared, dict(zip(mine, done)))
            merged = {k: result for part in shared for k, result in part.items()}
            results = [merged[k] for k in range(len(tasks))]
        else:
            results = train_all(tasks)
        first_state = None
        for snaps, state in results:
            runs.append(snaps.to(device))
            first_state = state if first_state is None else first_state
            if progress is not None and len(runs) < n_experts and is_main_process():
                progress.save({"runs": torch.stack(runs).cpu(), "seeds": torch.tensor(seeds),
                               "rng": rng_after})
            if resume_inside and len(runs) < n_experts:
                _remove_files(*_expert_files(progress.path, len(runs) - 1))
        if first_state is not None and len(tasks) == n_experts:
            # the first expert's trained model (its buffers too) is the template
            template.load_state_dict(first_state)
        _set_rng_state(rng_after)
        template.train()
        return cls(template, torch.stack([r.to(device) for r in runs]))

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
