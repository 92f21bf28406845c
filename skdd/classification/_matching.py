"""Classification distillers that match real data through a network: DC, DM, MTT and FreD.

Each is a parametrization (the data domain, or FreD's masked DCT coefficients) composed
with one objective of :mod:`skdd.objectives` (gradient matching, distribution matching or
trajectory matching) and run by the one loop, :meth:`skdd.base.BaseDistiller._optimize`.
:class:`_MatchingDistiller` holds that composition; the public classes only choose the
parametrization and the objective and document their parameters.
"""
from __future__ import annotations


import numpy as np
import torch
import torch.nn.functional as F

from ..base import data_fingerprint, thread_tag
from ..nn import make_classification_backbone
from ..objectives import (
    DistributionMatching,
    ExpertTrajectories,
    check_expert_schedule,
    GradientMatching,
    TrajectoryMatching,
)
from ..parametrization import DCTDomain, TimeDomain, WithLearnableStep, fred_n_per_class
from ..utils import (check_option, check_positive_float, check_positive_int, disk_cache,
                     is_distributed, process_group, seeded, sharded_sum)
from ..utils._parallel import check_n_jobs
from ._base import BaseClassDistiller
from ._protocol import ClassificationRecipe, train_classifier

__all__ = ["DCDistiller", "DMDistiller", "MTTDistiller", "FreDDistiller", "dc_loops"]

_OBJECTIVES = ("dc", "dm", "tm")
# Learning rates of the synthetic data per objective (data standardised per channel; with
# the orthonormal DCT the same rates serve FreD's coefficients). DC and DM are those of
# their papers' code (SGD, momentum 0.5); TM's was chosen on a validation split of digits.
_DEFAULT_LR = {"dc": 0.1, "dm": 1.0, "tm": 100.0}
# On series, DC's input gradient is 40-370 times larger relative to the sample than on
# MNIST (docs/results/diagnostics/dc_step_size.py), and 0.1 moves a sample by more
# than half its norm in one step; this rate was chosen by 5-fold cross-validation on the
# training splits of three UCR sets (docs/classification.md). TM's pixel rate 100 takes
# series to 3.5-179 times the real standard deviation even with small-batch experts
# (docs/results/diagnostics/tm_step_size.py); 1 keeps them at 1.0-2.1 times, and 1 won
# the 5-fold cross-validation of 0.1 / 1 / 10 on the training splits of the three UCR
# sets on every set (docs/classification.md).
_DEFAULT_LR_SERIES = {"dc": 0.003, "tm": 1.0}
_DEFAULT_MAX_ITER = {"dc": 200, "dm": 1000, "tm": 500}
# MTT's expert minibatch, made smaller on small training sets (``expert_batch_size``)
_EXPERT_BATCH_SIZE = 256


def dc_loops(ipc):
    """DC's (outer_loop, inner_loop) for a budget of ``ipc`` images per class.

    The values of DC's code for ipc 1, 10, 20, 30, 40, 50; other budgets use
    ``(ipc, max(1, round(500 / ipc)))``, which reproduces 10, 20 and 50 exactly.

    Examples
    --------
    >>> from skdd.classification import dc_loops
    >>> dc_loops(1), dc_loops(10), dc_loops(50), dc_loops(5)
    ((1, 1), (10, 50), (50, 10), (5, 100))
    """
    ipc = check_positive_int(ipc, "ipc")
    table = {1: (1, 1), 10: (10, 50), 20: (20, 25), 30: (30, 20), 40: (40, 15), 50: (50, 10)}
    return table.get(ipc, (ipc, max(1, round(500 / ipc))))


def _reset_parameters(net):
    for m in net.modules():
        if m is not net and hasattr(m, "reset_parameters"):
            m.reset_parameters()


class _ClassSampler:
    """Random real batches of one class, drawn from torch's global RNG."""

    def __init__(self, y, n_classes):
        self.by_class = [torch.nonzero(y == c).flatten() for c in range(n_classes)]

    def sample(self, c, n):
        idx = self.by_class[c]
        return idx[torch.randperm(idx.numel(), device=idx.device)[:n]]

    def sample_all(self, n):
        return torch.cat([self.sample(c, n) for c in range(len(self.by_class))])


class _MatchingDistiller(BaseClassDistiller):
    """Parametrization × objective × the one loop (see the module docstring)."""

    #: "time" (the data domain) or "dct" (FreD)
    _parametrization = "time"
    # where experts are kept and how many train at once change nothing they compute
    _run_only_params = BaseClassDistiller._run_only_params | {"expert_cache", "n_jobs"}

    # -- parameters -------------------------------------------------------------------
    def _objective(self):
        return self.objective

    def _learning_rate_params(self):
        return {"dc": ("lr", "lr_net"), "dm": ("lr",),
                "tm": ("lr", "expert_lr", "lr_step")}.get(self._objective(), ("lr",))

    def _check_params(self):
        super()._check_params()
        objective = check_option(self._objective(), "objective", _OBJECTIVES)
        for name in ("batch_real", "net_width"):
            check_positive_int(getattr(self, name), name)
        if self.max_iter is not None:
            check_positive_int(self.max_iter, "max_iter")
        if self.lr is not None:
            check_positive_float(self.lr, "lr")
        check_option(self.init, "init", ("real", "noise"))
        check_n_jobs(getattr(self, "n_jobs", None))
        check_option(self.optimizer, "optimizer", ("sgd", "adam"))
        if self._parametrization == "dct":
            check_option(self.mask, "mask", ("class", "shared"))
        if objective == "dc":
            check_positive_float(self.lr_net, "lr_net")
            for name in ("outer_loop", "inner_loop"):
                if getattr(self, name) is not None:
                    check_positive_int(getattr(self, name), name)
        if objective == "tm":
            for name in ("n_experts", "expert_epochs", "syn_steps", "expert_span"):
                check_positive_int(getattr(self, name), name)
            for name in ("expert_lr", "lr_step"):
                check_positive_float(getattr(self, name), name)
            for name in ("batch_syn", "expert_batch_size"):
                if getattr(self, name) is not None:
                    check_positive_int(getattr(self, name), name)
            check_expert_schedule(self.expert_epochs, self.expert_span, self.max_start_epoch)
        return objective

    def _resolved(self, name):
        value = getattr(self, name)
        if value is not None:
            return value
        table = {"lr": _DEFAULT_LR, "max_iter": _DEFAULT_MAX_ITER}[name]
        return table[self._objective()]

    def _resolve_lr(self, X):
        """The learning rate for samples like ``X``: ``lr``, or the objective's default
        (on series, ``_DEFAULT_LR_SERIES`` where it has one). Sets ``lr_``; a series
        default is recorded in the checkpoint fingerprint (the image defaults keep the
        fingerprint they always had)."""
        lr = self._resolved("lr")
        if self.lr is None and X.ndim == 3 and self._objective() in _DEFAULT_LR_SERIES:
            lr = _DEFAULT_LR_SERIES[self._objective()]
            self._fingerprint_resolved = dict(self._fingerprint_resolved, lr=lr)
        self.lr_ = float(lr)
        return self.lr_

    def _min_per_class(self):
        # The data-domain baselines start from ipc real samples of each class; FreD's
        # instances may outnumber a class (the initial samples are then reused), but its
        # budget is still counted in real-size samples.
        return check_positive_int(self.ipc, "ipc")

    # -- building blocks --------------------------------------------------------------
    def _make_net(self, sample_shape, n_classes, device):
        net = make_classification_backbone(
            self.backbone, sample_shape[0], n_classes, sample_shape[1:],
            width=self.net_width, depth=self.net_depth_, norm=self.net_norm)
        return net.to(device)

    def _make_synthetic(self, real, y, n_classes):
        if self._parametrization == "dct":
            k = self._n_coefficients(real.shape[1:])
            n_per_class = fred_n_per_class(self.ipc, tuple(real.shape[1:]), k)
            return DCTDomain.from_data(real, y, n_per_class, k, n_classes=n_classes,
                                       init=self.init, mask=self.mask)
        if self.init == "noise":
            noise = torch.randn(n_classes * self.ipc, *real.shape[1:], device=real.device)
            labels = torch.arange(n_classes, device=real.device).repeat_interleave(self.ipc)
            return TimeDomain(noise, labels)
        return TimeDomain.from_data(real, y, self.ipc, n_classes=n_classes)

    # -- the fit ----------------------------------------------------------------------
    def _fit(self, data, device):
        objective = self._check_params()
        self._resolve_net_depth(data["X"])
        X, stats = self._standardize(data["X"])
        real = torch.as_tensor(X, device=device)
        y = torch.as_tensor(data["y"], device=device)
        n_classes = data["n_classes"]
        synthetic = self._make_synthetic(real, y, n_classes)
        self.n_stored_ = int(synthetic.n_stored)
        build = {"dc": self._dc, "dm": self._dm, "tm": self._tm}[objective]
        module, loss_fn, state_modules = build(synthetic, real, y, n_classes, device)
        lr = self._resolve_lr(data["X"])
        self.loss_curve_ = self._optimize(
            module, loss_fn, data_fingerprint=data_fingerprint(data["X"], data["y"]), lr=lr,
            max_iter=int(self._resolved("max_iter")), state_modules=state_modules,
            optimizer=self.optimizer)
        with torch.no_grad():
            X_syn = synthetic().detach().cpu().numpy()
        self.X_syn_ = self._unstandardize(X_syn, stats)
        self.y_syn_ = synthetic.labels.cpu().numpy().astype(np.int64)
        if objective == "tm":
            self.syn_lr_ = float(module.step().detach())

    def _dm(self, synthetic, real, y, n_classes, device):
        net = self._make_net(real.shape[1:], n_classes, device)
        for p in net.parameters():
            p.requires_grad_(False)
        matching = DistributionMatching(net.embed)
        sampler = _ClassSampler(y, n_classes)
        batch = int(self.batch_real)

        distributed = is_distributed()
        if distributed and n_classes < process_group()[1]:
            raise ValueError(f"the {n_classes} classes are fewer than the "
                             f"{process_group()[1]} ranks of the torch.distributed process "
                             "group; data-parallel DM gives each rank at least one class.")

        def class_loss(idx, c):  # class c's term, on this rank's share of the classes
            real_c = idx[y[idx] == c]
            mine = synthetic.labels == c
            return matching.loss(real[real_c], y[real_c], synthetic()[mine],
                                 synthetic.labels[mine], n_classes)

        def loss_fn(iteration):
            _reset_parameters(net)
            idx = sampler.sample_all(batch)  # every rank draws every class's batch
            if distributed:
                return sharded_sum(lambda c: class_loss(idx, c), n_classes,
                                   synthetic.parameters(), device, name="n_classes")
            return matching.loss(real[idx], y[idx], synthetic(), synthetic.labels, n_classes)

        return synthetic, loss_fn, ()

    def _dc(self, synthetic, real, y, n_classes, device):
        net = self._make_net(real.shape[1:], n_classes, device)
        matching = GradientMatching(net)
        sampler = _ClassSampler(y, n_classes)
        outer, inner = dc_loops(self.ipc)
        outer = int(self.outer_loop) if self.outer_loop is not None else outer
        inner = int(self.inner_loop) if self.inner_loop is not None else inner
        batch = int(self.batch_real)
        net_recipe = ClassificationRecipe(epochs=inner, lr=float(self.lr_net), momentum=0.0,
                                          weight_decay=0.0, lr_decay="none", batch_size=256)

        def loss_fn(iteration):
            if iteration % outer == 0:
                _reset_parameters(net)   # a fresh network every `outer` updates
            else:                        # train it on the current synthetic set first
                with torch.enable_grad():
                    train_classifier(net, synthetic().detach(), synthetic.labels, net_recipe,
                                     device=device)
                net.train()
            X_syn, labels = synthetic(), synthetic.labels
            total = 0.0
            for c in range(n_classes):
                idx = sampler.sample(c, batch)
                mine = labels == c
                total = total + matching.loss(real[idx], y[idx], X_syn[mine], labels[mine])
            return total

        return synthetic, loss_fn, (net,)

    def _tm(self, synthetic, real, y, n_classes, device):
        experts = self._experts(real, y, n_classes, device)
        self.expert_buffer_bytes_ = int(experts.nbytes)
        module = WithLearnableStep(synthetic, float(self.expert_lr), float(self.lr_step))
        matching = TrajectoryMatching(experts.model, loss=F.cross_entropy)
        span = int(self.expert_span)
        last_start = (experts.n_epochs - span if self.max_start_epoch is None
                      else int(self.max_start_epoch))
        n_syn = synthetic.labels.shape[0]
        batch = min(int(self.batch_syn or 256), n_syn)
        steps = int(self.syn_steps)

        def loss_fn(iteration):
            e = int(torch.randint(experts.n_experts, (1,)))
            t = int(torch.randint(last_start + 1, (1,)))
            start, target = experts.params(e, t), experts.params(e, t + span)
            X_syn, labels = module(), synthetic.labels
            n_perms = -(-steps * batch // n_syn)
            order = torch.cat([torch.randperm(n_syn, device=device) for _ in range(n_perms)])
            batches = [(X_syn[order[i * batch:(i + 1) * batch]],
                        labels[order[i * batch:(i + 1) * batch]]) for i in range(steps)]
            return matching.loss(start, target, batches, module.step())

        return module, loss_fn, ()

    def _experts(self, real, y, n_classes, device):
        """Train (or load from ``expert_cache``) the expert trajectories.

        They are trained from their own seed derived from the fit's, so the result of a
        fit does not depend on whether the experts came from the cache.
        """
        self.expert_batch_size_ = self._resolve_expert_batch_size(len(real))
        recipe = ClassificationRecipe(epochs=int(self.expert_epochs),
                                      lr=float(self.expert_lr), momentum=0.0,
                                      weight_decay=0.0, lr_decay="none",
                                      batch_size=self.expert_batch_size_)
        spec = (data_fingerprint(real.cpu().numpy(), y.cpu().numpy()), self.backbone,
                self.net_width, self.net_depth_, self.net_norm, self.n_experts, recipe,
                self.seed_, "expert-seeds") + thread_tag(self)
        template = self._make_net(real.shape[1:], n_classes, device)

        def make_model():
            return self._make_net(real.shape[1:], n_classes, device)

        def train(model, record, checkpoint_path=None):  # resumable inside an expert
            train_classifier(model, real, y, recipe, device=device, on_epoch_end=record,
                             checkpoint_path=checkpoint_path)

        def build(partial):  # finished experts are kept in ``partial`` as they come
            with seeded((self.seed_ * 7919 + 17) % (2 ** 63), device):
                return ExpertTrajectories.collect(
                    make_model, train, int(self.n_experts), progress_path=partial,
                    n_jobs=check_n_jobs(self.n_jobs)).snapshots.cpu()

        snapshots = disk_cache(self.expert_cache, "experts", spec, build, resumable=True)
        return ExpertTrajectories(template, snapshots.to(device))

    def _resolve_expert_batch_size(self, n_real):
        """``expert_batch_size``, or MTT's 256 capped so that an expert epoch has at
        least ``ceil(syn_steps / expert_span)`` SGD steps (the size is recorded in the
        checkpoint fingerprint)."""
        if self.expert_batch_size is not None:
            return int(self.expert_batch_size)
        steps_per_epoch = -(-int(self.syn_steps) // int(self.expert_span))
        size = min(_EXPERT_BATCH_SIZE, max(1, n_real // steps_per_epoch))
        resolved = getattr(self, "_fingerprint_resolved", {})
        self._fingerprint_resolved = dict(resolved, expert_batch_size=size)
        return size

    def _n_coefficients(self, sample_shape):
        n_values = int(np.prod(sample_shape[1:]))
        k = self.n_coefficients
        if k is None:
            return max(1, n_values // 4)
        if isinstance(k, float) and not isinstance(k, bool):
            if not 0 < k <= 1:
                raise ValueError(f"n_coefficients={k} as a float must be a fraction in (0, 1] "
                                 "of the DCT coefficients per channel.")
            return max(1, int(round(k * n_values)))
        k = check_positive_int(k, "n_coefficients")
        if k > n_values:
            raise ValueError(f"n_coefficients={k} exceeds the {n_values} DCT coefficients per "
                             f"channel of samples of shape {tuple(sample_shape)}.")
        return k


_COMMON_DOC = """
    ipc : int, default=1
        Budget: samples per class of the real size (every class needs at least ``ipc``
        real samples).
    max_iter : int, optional
        Updates of the synthetic data (default: DC 200, DM 1000, TM 500; CPU-sized, the
        papers run 1000 DC iterations of ``outer_loop`` updates each, 20000 for DM, 5000
        for TM).
    lr : float, optional
        Learning rate of the synthetic data, for data standardised per channel (default:
        DC 0.1 on images and 0.003 on series, DM 1.0, TM 100 on images and 1 on
        series; the rate used is ``lr_``).
    optimizer : {"sgd", "adam"}, default="sgd"
        SGD with momentum 0.5, as the papers.
    batch_real : int, default=256
        Real samples per class per iteration (DC, DM).
    init : {"real", "noise"}, default="real"
        Start from random real samples of each class, or from noise.
    backbone : str, default="convnet"
        Network the data are matched through (:data:`skdd.nn.CLASSIFICATION_BACKBONES`).
    net_width : int, default=128
    net_depth : int, default=None
        ConvNet depth; None picks it from the sample size (:func:`skdd.nn.convnet_depth`:
        3, or 2 on 8x8 digits, where depth 3 breaks gradient matching). The depth used
        is ``net_depth_``.
    net_norm : {"instance", "batch", "none"}, default="instance"
    device : str, default="auto"
    random_state : int, Generator or None, default=None
    verbose : int or bool, default=0
        ``>= 1`` shows a progress bar with the loss. A bool or an int >= 0 (None is
        rejected: use 0).
    checkpoint_path : str or path, optional
        Save the state every ``checkpoint_every`` updates, at least every
        :data:`skdd.base.CHECKPOINT_SECONDS` seconds, and on interruption; resume from it.
    checkpoint_every : int, default=100
    n_threads : int, optional
        Torch CPU threads (default: ``SKDD_NUM_THREADS`` or 1; -1: all cores). Results
        can differ in the last bits between thread counts (torch's CPU reductions), so a
        checkpoint records the count and is resumed only under it, and the expert cache
        keeps experts trained under another count apart."""

_DC_DOC = """
    lr_net : float, default=0.01
        (DC) Learning rate of the network trained on the synthetic set between updates.
    outer_loop, inner_loop : int, optional
        (DC) Updates per fresh network and network steps between updates (default
        :func:`dc_loops`)."""

_TM_DOC = """
    n_experts : int, default=5
        (TM) Expert runs on the real training set (stored compactly, float32, every
        epoch).
    expert_epochs : int, default=15
        (TM) Epochs of each expert run.
    expert_lr : float, default=0.01
        (TM) Experts' SGD learning rate (no momentum, as MTT); also the initial synthetic
        step size.
    expert_batch_size : int, optional
        (TM) Experts' minibatch size. By default MTT's 256, made smaller on small
        training sets so that the experts take at least as many SGD steps over
        ``expert_span`` epochs as the student takes per update (``syn_steps``): at most
        ``n // ceil(syn_steps / expert_span)`` for ``n`` real samples. With 256 on a set
        of 36 series an epoch is one step, and the student's 20 steps would chase 2.
        The size used is the fitted ``expert_batch_size_``.
    syn_steps : int, default=20
        (TM) Student steps on synthetic minibatches per update.
    expert_span : int, default=2
        (TM) Expert epochs the student's steps must cover.
    max_start_epoch : int, optional
        (TM) Latest expert epoch a student starts from (default
        ``expert_epochs - expert_span``).
    batch_syn : int, optional
        (TM) Synthetic minibatch size (default: the whole set, at most 256).
    lr_step : float, default=1e-3
        (TM) Learning rate of the log synthetic step size.
    expert_cache : str or path, optional
        (TM) Folder where trained experts are stored and reused by later fits with the
        same data, network, expert settings and seed. Experts finished before an
        interrupted fit are kept there and not trained again; the expert in training
        continues from its last save (at most every ``skdd.base.CHECKPOINT_SECONDS``).
    n_jobs : int, optional
        (TM) Experts trained at the same time through joblib (None and 1: one after the
        other; -1: one per core), under joblib's active backend. Each expert has its own
        seed drawn before training and the fit's thread count, so the experts, and the
        fit, are the same for every ``n_jobs`` and backend."""

_ATTRS_DOC = """
    Attributes
    ----------
    X_syn_ : ndarray, float32
        The synthetic samples, ordered by class, same number of dimensions as ``X``.
    y_syn_ : ndarray
        Their labels (original label space).
    classes_ : ndarray
    n_stored_ : int
        Floats stored by the parametrization (FreD: coefficients; others: pixels).
    loss_curve_ : ndarray of shape (n_iter_,)
    n_iter_ : int
    lr_ : float
        The learning rate of the synthetic data used.
    syn_lr_ : float
        (TM) The learned synthetic step size.
    expert_buffer_bytes_ : int
        (TM) Memory of the expert trajectories.
    expert_batch_size_ : int
        (TM) The experts' minibatch size used.
    device_ : str
"""


def _init_common(self, ipc, max_iter, lr, optimizer, batch_real, init, backbone, net_width,
                 net_depth, net_norm, device, random_state, verbose, checkpoint_path,
                 checkpoint_every, n_threads):
    self.ipc = ipc
    self.max_iter = max_iter
    self.lr = lr
    self.optimizer = optimizer
    self.batch_real = batch_real
    self.init = init
    self.backbone = backbone
    self.net_width = net_width
    self.net_depth = net_depth
    self.net_norm = net_norm
    self.device = device
    self.random_state = random_state
    self.verbose = verbose
    self.checkpoint_path = checkpoint_path
    self.checkpoint_every = checkpoint_every
    self.n_threads = n_threads


def _init_dc(self, lr_net, outer_loop, inner_loop):
    self.lr_net = lr_net
    self.outer_loop = outer_loop
    self.inner_loop = inner_loop


def _init_tm(self, n_experts, expert_epochs, expert_lr, expert_batch_size, syn_steps,
             expert_span, max_start_epoch, batch_syn, lr_step, expert_cache, n_jobs):
    self.n_experts = n_experts
    self.expert_epochs = expert_epochs
    self.expert_lr = expert_lr
    self.expert_batch_size = expert_batch_size
    self.syn_steps = syn_steps
    self.expert_span = expert_span
    self.max_start_epoch = max_start_epoch
    self.batch_syn = batch_syn
    self.lr_step = lr_step
    self.expert_cache = expert_cache
    self.n_jobs = n_jobs


def _fill_doc(cls):
    cls.__doc__ = cls.__doc__.format(common=_COMMON_DOC, dc=_DC_DOC, tm=_TM_DOC,
                                     attributes=_ATTRS_DOC)
    return cls


@_fill_doc
class DMDistiller(_MatchingDistiller):
    """Distribution matching (DM, Zhao & Bilen 2023) in the data domain.

    Every iteration a freshly initialised network embeds a real batch of every class
    and the synthetic samples; the loss is the squared distance between class-mean
    embeddings (:class:`skdd.objectives.DistributionMatching`).

    Under an initialised torch.distributed process group (e.g. started by ``torchrun``)
    the classes are split across the ranks: every rank draws the same network and real
    batches, embeds only its classes' samples, and the gradients are gathered
    (:func:`skdd.utils.sharded_sum`), so every rank ends with the same synthetic set,
    the one a single process computes up to the order of floating-point sums.
    FreDDistiller with ``objective="dm"`` splits its work the same way.

    Parameters
    ----------{common}
{attributes}
    Examples
    --------
    >>> from skdd.classification import DMDistiller
    >>> from skdd.datasets import load_digits_images
    >>> X, _, y, _ = load_digits_images()
    >>> dm = DMDistiller(ipc=1, max_iter=5, net_width=16, net_depth=2, random_state=0)
    >>> X_syn, y_syn = dm.fit_resample(X, y)
    >>> X_syn.shape, dm.n_iter_
    ((10, 1, 8, 8), 5)
    """

    def __init__(self, ipc=1, max_iter=None, lr=None, optimizer="sgd", batch_real=256,
                 init="real", backbone="convnet", net_width=128, net_depth=None,
                 net_norm="instance", device="auto", random_state=None, verbose=0,
                 checkpoint_path=None, checkpoint_every=100, n_threads=None):
        _init_common(self, ipc, max_iter, lr, optimizer, batch_real, init, backbone,
                     net_width, net_depth, net_norm, device, random_state, verbose,
                     checkpoint_path, checkpoint_every, n_threads)

    def _objective(self):
        return "dm"


@_fill_doc
class DCDistiller(_MatchingDistiller):
    """Gradient matching (DC, Zhao et al. 2021) in the data domain.

    A fresh network every ``outer_loop`` updates; at each update the per-class gradient
    of the loss on a real batch is matched by that on the synthetic samples of the class
    (:class:`skdd.objectives.GradientMatching`, DC's layer-wise distance), and between
    updates the network trains ``inner_loop`` epochs on the synthetic set.

    Parameters
    ----------{common}{dc}
{attributes}
    Examples
    --------
    >>> from skdd.classification import DCDistiller
    >>> from skdd.datasets import load_digits_images
    >>> X, _, y, _ = load_digits_images()
    >>> dc = DCDistiller(ipc=1, max_iter=3, batch_real=16, net_width=16, net_depth=2,
    ...                  random_state=0)
    >>> dc.fit_resample(X, y)[0].shape
    (10, 1, 8, 8)
    """

    def __init__(self, ipc=1, max_iter=None, lr=None, optimizer="sgd", batch_real=256,
                 lr_net=0.01, outer_loop=None, inner_loop=None, init="real",
                 backbone="convnet", net_width=128, net_depth=None, net_norm="instance",
                 device="auto", random_state=None, verbose=0, checkpoint_path=None,
                 checkpoint_every=100, n_threads=None):
        _init_common(self, ipc, max_iter, lr, optimizer, batch_real, init, backbone,
                     net_width, net_depth, net_norm, device, random_state, verbose,
                     checkpoint_path, checkpoint_every, n_threads)
        _init_dc(self, lr_net, outer_loop, inner_loop)

    def _objective(self):
        return "dc"


@_fill_doc
class MTTDistiller(_MatchingDistiller):
    """Trajectory matching (MTT, Cazenavette et al. 2022) in the data domain.

    Experts train on the real data and their parameters after every epoch are stored
    (:class:`skdd.objectives.ExpertTrajectories`). Each update starts a student at a
    random expert epoch, takes ``syn_steps`` SGD steps on synthetic minibatches with a
    learnable step size, and minimises the distance to the expert ``expert_span`` epochs
    later, normalised by the distance the expert travelled
    (:class:`skdd.objectives.TrajectoryMatching`, shared with the forecasting MTT).

    Parameters
    ----------{common}{tm}
{attributes}
    Examples
    --------
    >>> from skdd.classification import MTTDistiller
    >>> from skdd.datasets import load_digits_images
    >>> X, _, y, _ = load_digits_images()
    >>> tm = MTTDistiller(ipc=1, max_iter=3, n_experts=1, expert_epochs=2, syn_steps=2,
    ...                   expert_span=1, net_width=16, net_depth=2, random_state=0)
    >>> tm.fit_resample(X, y)[0].shape
    (10, 1, 8, 8)
    """

    def __init__(self, ipc=1, max_iter=None, lr=None, optimizer="sgd", n_experts=5,
                 expert_epochs=15, expert_lr=0.01, expert_batch_size=None, syn_steps=20,
                 expert_span=2, max_start_epoch=None, batch_syn=None, lr_step=1e-3,
                 expert_cache=None,
                 init="real", backbone="convnet", net_width=128, net_depth=None,
                 net_norm="instance", batch_real=256, device="auto", random_state=None,
                 verbose=0, checkpoint_path=None, checkpoint_every=100, n_threads=None,
                 n_jobs=None):
        _init_common(self, ipc, max_iter, lr, optimizer, batch_real, init, backbone,
                     net_width, net_depth, net_norm, device, random_state, verbose,
                     checkpoint_path, checkpoint_every, n_threads)
        _init_tm(self, n_experts, expert_epochs, expert_lr, expert_batch_size, syn_steps,
                 expert_span, max_start_epoch, batch_syn, lr_step, expert_cache, n_jobs)

    def _objective(self):
        return "tm"


@_fill_doc
class FreDDistiller(_MatchingDistiller):
    """FreD (Shin et al. 2023): synthetic samples stored as masked DCT coefficients.

    Each class keeps the ``n_coefficients`` DCT coefficients per channel of largest
    explained variance ratio over its real samples
    (:class:`skdd.parametrization.DCTDomain`, orthonormal DCT in 1-D for series and 2-D
    for images); with ``k`` coefficients instead of ``D`` values, the budget of ``ipc``
    real-size samples holds ``floor(ipc * D / k)`` instances per class
    (:func:`skdd.parametrization.fred_n_per_class`; ``n_stored_`` is at most the
    baseline's floats). The coefficients are learned with any of the three objectives:
    gradient matching (``"dc"``), distribution matching (``"dm"``) or trajectory matching
    (``"tm"``), with the settings of :class:`DCDistiller`, :class:`DMDistiller` and
    :class:`MTTDistiller` (parameters of the other objectives are ignored).

    Parameters
    ----------
    objective : {{"dc", "dm", "tm"}}, default="dm"
    n_coefficients : int or float, optional
        ``k``, kept coefficients per channel: an int, or a fraction in (0, 1] of ``D``
        (default ``D // 4``: 4 instances per budget sample). On short series at larger
        budgets fewer, sharper instances can do better (``D // 2`` on ItalyPowerDemand at
        ipc 5); choose ``k`` on the training data, e.g. with the benchmark's
        ``--eval-split cv`` (docs/results_classification.md).
    mask : {{"shared", "class"}}, default="shared"
        One explained-variance mask shared by all classes, or FreD's per-class masks
        (see :meth:`skdd.parametrization.DCTDomain.from_data`: per-class masks let a
        classifier tell the classes apart by which coefficients are present, which does
        not transfer to real data when ``k`` is a small part of the sample). Chosen on
        validation splits of digits and three UCR sets (docs/classification.md): shared
        masks with ``k = D / 4`` had the best mean accuracy, and per-class masks lost 21
        points on digits at that ``k``.{common}{dc}{tm}
{attributes}    n_per_class_ : int
        Instances per class.

    Examples
    --------
    >>> from skdd import FreDDistiller
    >>> from skdd.datasets import load_digits_images
    >>> X, _, y, _ = load_digits_images()
    >>> fred = FreDDistiller(ipc=1, objective="dm", n_coefficients=16, max_iter=5,
    ...                      net_width=16, net_depth=2, random_state=0)
    >>> X_syn, y_syn = fred.fit_resample(X, y)
    >>> X_syn.shape, fred.n_stored_ <= 10 * 64
    ((40, 1, 8, 8), True)
    """

    _parametrization = "dct"

    def __init__(self, ipc=1, objective="dm", n_coefficients=None, mask="shared", max_iter=None,
                 lr=None,
                 optimizer="sgd", batch_real=256, lr_net=0.01, outer_loop=None,
                 inner_loop=None, n_experts=5, expert_epochs=15, expert_lr=0.01,
                 expert_batch_size=None, syn_steps=20, expert_span=2, max_start_epoch=None,
                 batch_syn=None,
                 lr_step=1e-3, expert_cache=None, init="real", backbone="convnet",
                 net_width=128, net_depth=None, net_norm="instance", device="auto",
                 random_state=None, verbose=0, checkpoint_path=None, checkpoint_every=100,
                 n_threads=None, n_jobs=None):
        _init_common(self, ipc, max_iter, lr, optimizer, batch_real, init, backbone,
                     net_width, net_depth, net_norm, device, random_state, verbose,
                     checkpoint_path, checkpoint_every, n_threads)
        self.objective = objective
        self.n_coefficients = n_coefficients
        self.mask = mask
        _init_dc(self, lr_net, outer_loop, inner_loop)
        _init_tm(self, n_experts, expert_epochs, expert_lr, expert_batch_size, syn_steps,
                 expert_span, max_start_epoch, batch_syn, lr_step, expert_cache, n_jobs)

    def _fit(self, data, device):
        super()._fit(data, device)
        self.n_per_class_ = int(len(self.y_syn_) // data["n_classes"])
