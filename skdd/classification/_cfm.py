"""CFM (UniDD's curriculum frequency matching) and an SRe²L-style baseline.

Both follow the squeeze / recover / relabel pipeline of SRe²L:

1. **squeeze** — a teacher network is trained on the real training set with the
   full-data recipe (:func:`skdd.classification.fit_classifier`), optionally cached on
   disk (``teacher_cache``; it is trained from its own seed derived from the fit's, so
   the cache never changes a result);
2. **recover** — the synthetic set is ``ipc`` batches of one sample per class,
   initialised from real samples, optimised through the frozen teacher with Adam
   (lr 0.25, betas 0.5/0.9, cosine schedule): cross-entropy of the teacher on the
   (optionally augmented) samples plus a statistics loss on the input of every
   convolution — UniDD's spectral filter and signal losses for CFM
   (:class:`skdd.objectives._spectral.SpectralMatching`), per-channel mean and variance
   for SRe²L
   (:func:`skdd.objectives._spectral.moment_matching_loss`);
3. **relabel** — the teacher's soft labels of the synthetic samples at temperature
   ``temperature`` (``y_soft_``), for knowledge-distillation evaluation.

The recover step runs in the one loop, :meth:`skdd.base.BaseDistiller._optimize`: every
iteration renders all ``ipc`` batches and one forward pass of the teacher serves them
all. The loss is the mean of the batches' losses, each of which depends only on its own
batch's samples (the earlier batches enter CFM's running average detached); Adam being
element-wise, every batch is optimised exactly as if it had its own optimiser and its own
cosine schedule over ``max_iter`` iterations, as in the papers, while checkpoints,
resumption and the progress bar come from the shared loop.
"""
from __future__ import annotations

import numbers
from dataclasses import replace

import numpy as np
import torch
import torch.nn.functional as F

from ..base import data_fingerprint, thread_tag
from ..nn import CLASSIFICATION_BACKBONES, make_classification_backbone
from ..objectives._spectral import (
    SPECTRAL_FILTERS,
    ConvInputs,
    LayerStatistics,
    SpectralFilter,
    SpectralMatching,
    conv_input_statistics,
    curriculum_betas,
    feature_moments,
    moment_matching_loss,
    running_mean,
)
from ..parametrization import TimeDomain
from ..utils import check_option, check_positive_float, check_positive_int, disk_cache, seeded
from ._augment import AUGMENTATIONS, _augment_mode, augment_samples
from ._base import BaseClassDistiller
from ._matching import _ClassSampler, _reset_parameters
from ._protocol import evaluate_classifier, fit_classifier, get_recipe

__all__ = ["CFMDistiller", "SRe2LDistiller", "augment_samples", "intra_class_similarity"]

# Adam's betas of SRe²L / CFM's recover step.
_ADAM_BETAS = (0.5, 0.9)


class _StandardizedInput(torch.nn.Module):
    """A network that standardises its input per channel first: the fitted teacher as a
    model of the data in its original units (those of ``X_syn_``)."""

    def __init__(self, net, mean, scale):
        super().__init__()
        self.net = net
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float32))

    def forward(self, x):
        return self.net((x - self.mean) / self.scale)


def intra_class_similarity(X, y):
    """Mean cosine similarity between distinct samples of the same class.

    Samples are flattened; the mean is over classes of the mean over their pairs of
    distinct samples. UniDD reports it to compare the diversity of synthetic sets
    (low-pass filters raise it, high-pass filters lower it).

    Parameters
    ----------
    X : array-like of shape (n, ...)
    y : array-like of shape (n,)

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> from skdd.classification import intra_class_similarity
    >>> X = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    >>> intra_class_similarity(X, [0, 0, 1, 1])
    0.5
    """
    X = np.asarray(X, dtype=np.float64)
    X = X.reshape(X.shape[0], -1)
    y = np.asarray(y)
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have one label per sample ({X.shape[0]}), got shape {y.shape}.")
    unit = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
    sims = []
    for c in np.unique(y):
        z = unit[y == c]
        if len(z) > 1:
            gram = z @ z.T
            sims.append((gram.sum() - np.trace(gram)) / (len(z) * (len(z) - 1)))
    if not sims:
        raise ValueError("intra_class_similarity needs a class with at least two samples.")
    return float(np.mean(sims))


def check_max_drift(value):
    """Return ``max_drift`` as a float, or None; anything but a finite number > 0 or None
    raises a ValueError naming the parameter."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) \
            or not np.isfinite(float(value)) or float(value) <= 0:
        raise ValueError(f"max_drift must be None or a finite number > 0, got {value!r}.")
    return float(value)


def sample_drift(X, X0):
    """Relative drift of each sample from its initialisation: ``rms(X - X0) / rms(X0)``
    per sample (over all its values), in the units of the tensors given (the recover step
    measures it on the per-channel standardised data). Torch tensors of shape (n, ...)."""
    delta = (X - X0).flatten(1)
    base = X0.flatten(1).pow(2).mean(1).sqrt()
    return delta.pow(2).mean(1).sqrt() / base.clamp_min(1e-12)


def project_drift(values, init, max_drift):
    """Project every sample of ``values`` (in place) onto the ball of radius
    ``max_drift · rms(init_i)`` around its initialisation ``init_i`` (RMS over the
    sample's values): the trust region of the recover step."""
    delta = (values - init).flatten(1)
    radius = float(max_drift) * init.flatten(1).pow(2).mean(1).sqrt()
    norm = delta.pow(2).mean(1).sqrt()
    scale = torch.where(norm > radius, radius / norm.clamp_min(1e-12), torch.ones_like(norm))
    values.copy_(init + (delta * scale[:, None]).reshape(values.shape))


def _store(estimator, params):
    """Store ``__init__``'s arguments as attributes (scikit-learn's convention)."""
    for name, value in params.items():
        if name not in ("self", "__class__"):
            setattr(estimator, name, value)


class _RecoverDistiller(BaseClassDistiller):
    """Squeeze (teacher), recover (``_optimize``) and relabel (soft labels)."""

    _run_only_params = BaseClassDistiller._run_only_params | {"teacher_cache"}

    # -- parameters -------------------------------------------------------------------
    def _check_params(self):
        super()._check_params()
        for name in ("max_iter", "stats_batch_size", "net_width", "batch_real"):
            check_positive_int(getattr(self, name), name)
        check_option(self.stats_network, "stats_network", ("teacher", "random"))
        check_option(self.optimizer, "optimizer", ("adam", "sgd"))
        if self.teacher_epochs is not None:
            check_positive_int(self.teacher_epochs, "teacher_epochs")
        for name in ("lr", "temperature"):
            check_positive_float(getattr(self, name), name)
        check_option(self.init, "init", ("real", "noise"))
        check_option(self.augment, "augment", AUGMENTATIONS)
        check_option(self.backbone, "backbone", tuple(CLASSIFICATION_BACKBONES))
        check_max_drift(self.max_drift)

    def _validate_fit_input(self, X, y):
        data = super()._validate_fit_input(X, y)
        _augment_mode(self.augment, data["X"].ndim)
        return data

    def _stats_loss(self, real_stats, n_groups, device):  # pragma: no cover - abstract
        """A function of the synthetic :class:`LayerStatistics` -> loss per batch (G,)."""
        raise NotImplementedError

    def _use_ce(self):
        return True

    # -- squeeze ----------------------------------------------------------------------
    def _teacher_kwargs(self):
        if self.backbone != "convnet":
            return {}
        return {"width": self.net_width, "depth": self.net_depth_, "norm": self.net_norm}

    def _teacher(self, real, y, n_classes, device):
        """Train the teacher (or load it from ``teacher_cache``); frozen, in eval mode."""
        recipe = get_recipe("convnet", "full")
        if self.teacher_epochs is not None:
            recipe = replace(recipe, epochs=int(self.teacher_epochs))
        kwargs = self._teacher_kwargs()
        seed = (self.seed_ * 104729 + 31) % (2 ** 63)
        spec = (data_fingerprint(real.cpu().numpy(), y.cpu().numpy()), self.backbone,
                sorted(kwargs.items()), recipe, seed) + thread_tag(self)
        trained = {}

        def build(partial):  # the teacher's training resumes from ``partial``
            trained["net"], _ = fit_classifier(
                real, y, n_classes=n_classes, recipe=recipe, model=self.backbone,
                model_kwargs=kwargs, device=device, random_state=seed, n_threads=self.n_threads,
                checkpoint_path=partial)
            return trained["net"].state_dict()

        state = disk_cache(self.teacher_cache, "teacher", spec, build, map_location=device,
                           resumable=True)
        net = trained.get("net")
        if net is None:  # loaded from the cache
            with seeded(seed, device):  # building draws an initialisation: keep it local
                net = make_classification_backbone(self.backbone, real.shape[1], n_classes,
                                                   tuple(real.shape[2:]), **kwargs).to(device)
            net.load_state_dict(state)
            net.eval()
        for p in net.parameters():
            p.requires_grad_(False)
        return net

    # -- the fit ----------------------------------------------------------------------
    def _fit(self, data, device):
        self._check_params()
        self._resolve_net_depth(data["X"])
        X, scaling = self._standardize(data["X"])
        real = torch.as_tensor(X, device=device)
        y = torch.as_tensor(data["y"], device=device)
        n_classes, ipc = data["n_classes"], int(self.ipc)
        augment = _augment_mode(self.augment, real.ndim)

        teacher = self._teacher(real, y, n_classes, device)
        self.teacher_accuracy_ = evaluate_classifier(teacher, real, y)["acc"]
        if self.init == "real":
            synthetic = TimeDomain.from_data(real, y, ipc, n_classes=n_classes)
            self.init_indices_ = synthetic.init_indices_.cpu().numpy().astype(np.int64)
        else:
            labels = torch.arange(n_classes, device=device).repeat_interleave(ipc)
            synthetic = TimeDomain(torch.randn(n_classes * ipc, *real.shape[1:],
                                               device=device), labels)
            self.init_indices_ = None
        stats_batch = int(self.stats_batch_size)
        if self.stats_network == "teacher":
            stats_net = teacher
            stats_loss = self._stats_loss(
                conv_input_statistics(teacher, real, y, n_classes, batch_size=stats_batch),
                ipc, device)
        else:  # a fresh random network per iteration, with a fresh real batch per class
            stats_net = make_classification_backbone(
                self.backbone, real.shape[1], n_classes, tuple(real.shape[2:]),
                **self._teacher_kwargs()).to(device)
            for p in stats_net.parameters():
                p.requires_grad_(False)
            sampler, batch_real = _ClassSampler(y, n_classes), int(self.batch_real)
            stats_loss = None

        # synthetic rows are ordered by class; batch b holds sample b of every class
        order = torch.arange(n_classes * ipc, device=device).reshape(n_classes, ipc).T.flatten()
        batch_labels = synthetic.labels[order]
        use_ce = self._use_ce()
        init = synthetic.values.detach().clone()
        max_drift = check_max_drift(self.max_drift)
        after_step = None
        if max_drift is not None:
            def after_step(iteration):
                project_drift(synthetic.values, init, max_drift)

        def loss_fn(iteration):
            x = augment_samples(synthetic()[order], augment)
            matching = stats_loss
            if stats_net is not teacher:
                _reset_parameters(stats_net)
                idx = sampler.sample_all(batch_real)
                matching = self._stats_loss(
                    conv_input_statistics(stats_net, real[idx], y[idx], n_classes,
                                          batch_size=stats_batch), ipc, device)
            with ConvInputs(stats_net) as recorder:
                logits = stats_net(x)
            stats = [LayerStatistics.from_moments(
                feature_moments(f, batch_labels, n_classes, groups=ipc))
                for f in recorder.inputs]
            per_batch = matching(stats)
            if use_ce:
                if stats_net is not teacher:
                    logits = teacher(x)
                ce = F.cross_entropy(logits, batch_labels, reduction="none")
                per_batch = per_batch + ce.reshape(ipc, n_classes).mean(1)
            return per_batch.mean()

        self.n_stored_ = int(synthetic.n_stored)
        self.loss_curve_ = self._optimize(
            synthetic, loss_fn, data_fingerprint=data_fingerprint(data["X"], data["y"]),
            lr=float(self.lr), max_iter=int(self.max_iter), optimizer=self.optimizer,
            betas=_ADAM_BETAS, schedule="cosine", after_step=after_step)
        with torch.no_grad():
            X_syn = synthetic().detach()
            self.drift_ = sample_drift(X_syn, init).cpu().numpy().astype(np.float64)
            soft = torch.softmax(teacher(X_syn) / float(self.temperature), dim=1)
        self.X_syn_ = self._unstandardize(X_syn.cpu().numpy(), scaling)
        self.y_syn_ = synthetic.labels.cpu().numpy().astype(np.int64)
        self.y_soft_ = soft.cpu().numpy().astype(np.float32)
        self.teacher_ = _StandardizedInput(teacher, *scaling[:2]).cpu().eval()

    def _distilled_arrays(self):
        return dict(super()._distilled_arrays(), y_soft=self.y_soft_)


_COMMON_DOC = """
    max_iter : int, default=500
        Iterations of the recover step; every iteration updates all ``ipc`` batches
        (the papers run 1000 per batch; 500 is CPU-sized).
    lr : float, default=0.25
        The recover step's learning rate (cosine schedule), for data standardised per
        channel.
    optimizer : {"adam", "sgd"}, default="adam"
        Adam with betas 0.5 / 0.9 (the papers): every value moves by about ``lr`` per
        update whatever the size of its gradient; or SGD with momentum 0.5, whose steps
        follow the gradient's size (its ``lr`` is on another scale: lr 10 moves GunPoint's
        samples by about 9% of their RMS in 500 updates, docs/cfm.md).
    max_drift : float or None, default=None
        Trust region of the recover step: after every update each sample's change from
        its initialisation is projected back onto the ball of radius
        ``max_drift · rms(x0)`` (``x0`` the sample's initial values, RMS over all of them,
        data standardised per channel), so ``drift_ <= max_drift``. None (the papers'
        recover step) leaves the samples free.
    init : {"real", "noise"}, default="real"
        Start from random real samples of each class, or from Gaussian noise.
    stats_network : {"teacher", "random"}, default="teacher"
        The network whose convolution inputs give the matched statistics: the frozen
        teacher (the papers; real statistics computed once over the whole real set), or
        a freshly initialised network of the teacher's architecture at every iteration,
        as distribution matching does, with the real statistics of ``batch_real``
        random real samples per class through that network. The cross-entropy term
        always uses the teacher.
    batch_real : int, default=256
        Real samples per class per iteration with ``stats_network="random"`` (all of a
        class when it has fewer); unused with the teacher.
    augment : {"none", "auto", "crop", "flip", "roll"}, default="none"
        Augmentation of the synthetic samples before the teacher
        (:func:`augment_samples`): random resized crops, plus horizontal flips for
        images ("flip") or circular shifts for series ("roll"); "auto" is "roll" for
        series and "crop" for images (flips change the class of digits). The default
        teacher is trained without augmentation (the full-data recipe), and on the
        validation splits of digits and GunPoint augmenting only hurt (docs/cfm.md).
    temperature : float, default=4.0
        Temperature of the soft labels ``y_soft_`` (use the same temperature for
        knowledge distillation, :class:`ClassificationRecipe`'s ``temperature``).
    teacher_epochs : int, optional
        Epochs of the teacher (default: the full-data recipe's, 30).
    teacher_cache : str or path, optional
        Folder where teachers are stored and reused by later fits with the same data,
        network, recipe and seed (a run-only setting: results do not depend on it). A
        teacher's training also keeps its progress there, so a fit killed while training
        the teacher continues it when run again.
    stats_batch_size : int, default=256
        Batch size of the pass over the real set that computes its statistics.
    backbone : str, default="convnet"
        The teacher (:data:`skdd.nn.CLASSIFICATION_BACKBONES`; its convolutions are
        hooked).
    net_width : int, default=128
    net_depth : int, default=None
        Depth of the teacher ConvNet; None picks it from the sample size
        (:func:`skdd.nn.convnet_depth`: 3, or 2 on 8x8 digits). The depth used is
        ``net_depth_``.
    net_norm : {"instance", "batch", "none"}, default="instance"
    device : str, default="auto"
    random_state : int, Generator or None, default=None
    verbose : int or bool, default=0
        ``>= 1`` shows a progress bar with the loss. A bool or an int >= 0 (None is
        rejected: use 0).
    checkpoint_path : str or path, optional
        Save the state every ``checkpoint_every`` iterations, at least every
        :data:`skdd.base.CHECKPOINT_SECONDS` seconds, and on interruption; resume from it.
    checkpoint_every : int, default=100
    n_threads : int, optional
        Torch CPU threads (default: ``SKDD_NUM_THREADS`` or 1; -1: all cores). Results
        can differ in the last bits between thread counts (torch's CPU reductions), so a
        checkpoint records the count and is resumed only under it, and the teacher cache
        keeps teachers trained under another count apart."""

_ATTRS_DOC = """
    Attributes
    ----------
    X_syn_ : ndarray, float32
        The synthetic samples, ordered by class (``ipc`` per class), same number of
        dimensions as ``X``.
    y_syn_ : ndarray
        Their labels (original label space).
    y_soft_ : ndarray of shape (n_syn, n_classes), float32
        The teacher's soft labels at ``temperature`` (columns in ``classes_`` order).
    classes_ : ndarray
    teacher_accuracy_ : float
        The teacher's accuracy on the training set.
    teacher_ : torch.nn.Module
        The frozen teacher (on CPU, eval mode), taking samples in the units of ``X``
        (it standardises them as the fit did): for knowledge distillation queried on
        augmented batches (``teacher`` of :func:`fit_classifier`).
    init_indices_ : ndarray of shape (n_syn,) or None
        The rows of ``X`` the synthetic samples start from (``init="real"``; None for
        noise), in ``X_syn_`` order: ``X[init_indices_]`` is the random real subset that
        the recover step refines.
    drift_ : ndarray of shape (n_syn,)
        Each synthetic sample's drift from its initialisation,
        ``rms(x − x0) / rms(x0)`` on the per-channel standardised data (rows in
        ``X_syn_`` order).
    n_stored_ : int
    loss_curve_ : ndarray of shape (n_iter_,)
    n_iter_ : int
    device_ : str
"""


def _fill_doc(cls):
    cls.__doc__ = cls.__doc__.format(common=_COMMON_DOC, attributes=_ATTRS_DOC)
    return cls


@_fill_doc
class CFMDistiller(_RecoverDistiller):
    """Curriculum frequency matching (CFM, UniDD: "Understanding Dataset Distillation via
    Spectral Filtering").

    A teacher trained on the real data gives, for the input of each convolution, the
    channel covariance ``Ψ`` (trace-normalised) and the feature-label correlation ``Φ``
    of the real set. The synthetic set, ``ipc`` batches of one sample per class, is
    optimised so that a spectral filter ``f`` of its statistics matches the real one:
    filter loss ``‖f(Ψ) − f(Ψ_s)‖``, signal loss ``‖f(Ψ)Φ − f(Ψ_s)Φ_s‖``, summed over
    layers, plus the teacher's cross-entropy:
    ``loss = CE + eta · (filter + signal)``. Batch ``b`` (from 0) uses the running average
    of the statistics of batches ``0..b`` (weight ``1 / (b + 1)``; the earlier ones
    fixed) and, with ``filter="cfm"``, the filter ``β_b (Ψ + β_b I)^-1`` with the
    curriculum ``β_b = beta (1 + cos(π b / ipc)) / 2``: the first batches match low and
    high frequencies alike, the later ones ever finer detail. See ``docs/cfm.md``.

    Parameters
    ----------
    ipc : int, default=1
        Samples per class (= batches of the recover step).
    filter : {{"cfm", "frepo", "mtt", "dc", "dm", "lowpass"}}, default="cfm"
        The spectral filter (:class:`skdd.objectives._spectral.SpectralFilter`):
        ``β(λ + β_b)^-1`` with the curriculum, ``β(λ + β)^-1`` with fixed ``beta``,
        ``(1 − αλ)^p``, ``{{1, λ}}``, ``1`` (DM: class means only) or the low-pass
        ``λ(λ + β)^-1``.
    beta : float, default=0.001
        ``β`` of the filter (the curriculum's start for "cfm"). Chosen on validation
        splits over {{0.1, 0.01, 0.001, 0.0001}} (docs/cfm.md): accuracy rises as the
        curriculum starts sharper on GunPoint and ItalyPowerDemand.
    eta : float, default=0.1
        Weight of the filter and signal losses (``>= 0``; 0 leaves the cross-entropy).
    use_signal : bool, default=True
        Include the signal loss (False: the "filter only" ablation).
    use_ce : bool, default=True
        Include the teacher's cross-entropy.
    alpha : float, default=1.0
        ``α`` of the "mtt" filter, in (0, 1].
    power : int, default=10
        ``p`` of the "mtt" filter.{common}
{attributes}
    Examples
    --------
    >>> from skdd.classification import CFMDistiller
    >>> from skdd.datasets import load_digits_images
    >>> X, _, y, _ = load_digits_images()
    >>> cfm = CFMDistiller(ipc=2, max_iter=5, teacher_epochs=2, net_width=16, net_depth=2,
    ...                    random_state=0)
    >>> X_syn, y_syn = cfm.fit_resample(X, y)
    >>> X_syn.shape, cfm.y_soft_.shape
    ((20, 1, 8, 8), (20, 10))
    """

    def __init__(self, ipc=1, filter="cfm", beta=0.001, eta=0.1, use_signal=True, use_ce=True,
                 alpha=1.0, power=10, max_iter=500, lr=0.25, max_drift=None, init="real",
                 optimizer="adam", stats_network="teacher", batch_real=256,
                 augment="none", temperature=4.0, teacher_epochs=None, teacher_cache=None,
                 stats_batch_size=256, backbone="convnet", net_width=128, net_depth=None,
                 net_norm="instance", device="auto", random_state=None, verbose=0,
                 checkpoint_path=None, checkpoint_every=100, n_threads=None):
        _store(self, locals())

    def _check_params(self):
        super()._check_params()
        check_option(self.filter, "filter", SPECTRAL_FILTERS)
        check_positive_float(self.eta, "eta", allow_zero=True)
        for name in ("use_signal", "use_ce"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}.")
        spectral = SpectralFilter(self.filter, self.beta, self.alpha, self.power)
        statistics = self.eta > 0 and (self.use_signal or self.filter != "dm")
        if not (statistics or self.use_ce):
            raise ValueError(
                f"CFMDistiller(filter={self.filter!r}, eta={self.eta}, "
                f"use_signal={self.use_signal}, use_ce={self.use_ce}) has nothing to "
                "optimise: the DM filter's filter loss is identically zero; enable "
                "use_signal or use_ce, or use eta > 0.")
        return spectral

    def _use_ce(self):
        return bool(self.use_ce)

    def _stats_loss(self, real_stats, n_groups, device):
        spectral = self._check_params()
        betas = None
        if self.filter == "cfm":
            betas = curriculum_betas(self.beta, n_groups).to(device)
        matching = SpectralMatching(real_stats, spectral, betas=betas)
        eta, use_signal = float(self.eta), bool(self.use_signal)

        def loss(stats):
            averaged = [LayerStatistics(s.mean, running_mean(s.cov), running_mean(s.class_means))
                        for s in stats]
            filter_loss, signal_loss = matching.loss(averaged)
            return eta * (filter_loss + signal_loss) if use_signal else eta * filter_loss

        return loss


@_fill_doc
class SRe2LDistiller(_RecoverDistiller):
    """An SRe²L-style baseline (Yin et al. 2023, "Squeeze, Recover and Relabel").

    The same squeeze / recover / relabel pipeline as :class:`CFMDistiller`, with
    batch-norm style statistics: each synthetic batch (one sample per class) matches,
    at the input of every convolution, the per-channel mean and variance of the real
    set, ``loss = CE + eta · Σ_l (‖μ_s − μ‖₂ + ‖σ²_s − σ²‖₂)``. SRe²L reads these
    statistics from a ResNet's batch-norm running averages; with the instance-normalised
    ConvNet they are computed exactly over the real set
    (:func:`skdd.objectives._spectral.moment_matching_loss`).

    Parameters
    ----------
    ipc : int, default=1
        Samples per class (= batches of the recover step).
    eta : float, default=1.0
        Weight of the statistics loss (SRe²L's ``r_bn``; ``>= 0``).{common}
{attributes}
    Examples
    --------
    >>> from skdd.classification import SRe2LDistiller
    >>> from skdd.datasets import load_digits_images
    >>> X, _, y, _ = load_digits_images()
    >>> sre2l = SRe2LDistiller(ipc=1, max_iter=5, teacher_epochs=2, net_width=16,
    ...                        net_depth=2, random_state=0)
    >>> sre2l.fit_resample(X, y)[0].shape
    (10, 1, 8, 8)
    """

    def __init__(self, ipc=1, eta=1.0, max_iter=500, lr=0.25, max_drift=None, init="real",
                 optimizer="adam", stats_network="teacher", batch_real=256,
                 augment="none", temperature=4.0, teacher_epochs=None, teacher_cache=None,
                 stats_batch_size=256, backbone="convnet", net_width=128, net_depth=None,
                 net_norm="instance", device="auto", random_state=None, verbose=0,
                 checkpoint_path=None, checkpoint_every=100, n_threads=None):
        _store(self, locals())

    def _check_params(self):
        super()._check_params()
        check_positive_float(self.eta, "eta", allow_zero=True)

    def _stats_loss(self, real_stats, n_groups, device):
        eta = float(self.eta)

        def loss(stats):
            return eta * moment_matching_loss(real_stats, stats)

        return loss
