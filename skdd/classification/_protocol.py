"""The classification protocol: the training recipes, one trainer and one evaluator.

A distilled set is judged by training a fresh ConvNet on it and testing it on the real
test split (PROTOCOLS.md, classification). The benchmarks, the tests and the distillers'
evaluations all go through :func:`fit_classifier` and :func:`evaluate_classifier`.

Inputs are images ``(n, C, H, W)`` or series ``(n, C, T)`` (float, finite) with integer
labels ``0..n_classes-1``; the trainer also takes soft labels (probabilities of shape
``(n, n_classes)``), e.g. a teacher's outputs for CFM's evaluation.
"""
from __future__ import annotations

import hashlib
import os
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..nn import make_classification_backbone
from ..utils import (check_interval, check_option, check_positive_float, check_positive_int,
                     resolve_device, seeded, select_recipe, torch_threads)
from ._augment import AUGMENTATIONS, _augment_mode, augment_samples

__all__ = [
    "ClassificationRecipe",
    "SYNTHETIC_RECIPES",
    "FULL_DATA_RECIPES",
    "get_recipe",
    "train_classifier",
    "fit_classifier",
    "evaluate_classifier",
]


@dataclass(frozen=True)
class ClassificationRecipe:
    """A fixed recipe for training a classifier with SGD (cross-entropy loss).

    Attributes
    ----------
    epochs : int
        Number of epochs (passes over the training set, shuffled each epoch, the last
        batch possibly smaller).
    lr : float
        Initial learning rate.
    batch_size : int, default=256
    momentum : float, default=0.9
    weight_decay : float, default=5e-4
    lr_decay : {"step", "none"}, default="step"
        "step" multiplies the learning rate by ``lr_decay_factor`` for the second half of
        training (from epoch ``ceil(epochs / 2)`` on, counting from 0) and restarts SGD's
        momentum there, as the DC/DM evaluation code does by re-creating its optimizer.
    lr_decay_factor : float, default=0.1
        The step's factor (0.1 in the DC/DM/MTT code).
    temperature : float, default=1.0
        Soft labels only: the student's logits are divided by ``temperature`` and the loss
        is ``temperature**2 * KL(y || softmax(logits / temperature))`` (knowledge
        distillation's scaling). Hard labels always use plain cross-entropy.
    augment : {"none", "auto", "crop", "flip", "roll"}, default="none"
        Augment every training batch with :func:`skdd.classification.augment_samples`
        (random resized crops; flips for images, circular shifts for series; "auto" is
        "crop" for images and "roll" for series). The protocol's recipes use none; CFM's
        paper evaluates with crops and the teacher's soft labels of each augmented batch
        (``teacher`` of :func:`train_classifier`).
    """

    epochs: int
    lr: float
    batch_size: int = 256
    momentum: float = 0.9
    weight_decay: float = 5e-4
    lr_decay: str = "step"
    lr_decay_factor: float = 0.1
    temperature: float = 1.0
    augment: str = "none"

    def __post_init__(self):
        check_positive_int(self.epochs, "epochs")
        check_positive_int(self.batch_size, "batch_size")
        check_positive_float(self.lr, "lr")
        check_interval(self.momentum, "momentum", 0, 1, closed="left")
        check_positive_float(self.weight_decay, "weight_decay", allow_zero=True)
        if self.lr_decay not in ("step", "none"):
            raise ValueError(f"lr_decay={self.lr_decay!r} must be 'step' or 'none'.")
        check_interval(self.lr_decay_factor, "lr_decay_factor", 0, 1, closed="right")
        check_positive_float(self.temperature, "temperature")
        check_option(self.augment, "augment", AUGMENTATIONS)

    def __repr__(self):
        # A recipe without augmentation keeps the identity it had before ``augment``
        # existed (its repr and as_dict key the teacher/expert caches and the training
        # checkpoints), so work cached by earlier versions stays valid.
        fields = self.as_dict()
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in fields.items())})"

    @property
    def decay_epoch(self):
        """First epoch (from 0) trained at the decayed rate; None without decay."""
        return (self.epochs + 1) // 2 if self.lr_decay == "step" and self.epochs > 1 else None

    def as_dict(self):
        fields = asdict(self)
        if fields["augment"] == "none":
            del fields["augment"]
        return fields


# The protocol's recipe for a synthetic set (PROTOCOLS.md): ConvNet, SGD lr 0.01, momentum
# 0.9, weight decay 5e-4, batch 256, 300 epochs, lr x0.1 for the second half (the DC/DM/MTT
# evaluation schedule: their code trains Epoch + 1 epochs and decays after epoch
# Epoch // 2 + 1; skdd trains exactly `epochs` and decays at the midpoint). No augmentation
# (the papers' DSA/ZCA variants are not part of the protocol).
SYNTHETIC_RECIPES = {
    "convnet": ClassificationRecipe(epochs=300, lr=0.01),
}

# The recipe for the whole training split (thousands of samples, many more steps per
# epoch): the same optimiser and schedule over 30 epochs (≈ 950 SGD steps on MNIST's 8000
# training images, vs 300 on a synthetic set that fits in one batch). Fixed for every
# dataset; it never looks at the test split.
FULL_DATA_RECIPES = {
    "convnet": ClassificationRecipe(epochs=30, lr=0.01),
}


def get_recipe(model="convnet", data="synthetic"):
    """The fixed training recipe for ``model`` on ``data`` ("synthetic" or "full").

    Examples
    --------
    >>> from skdd.classification import get_recipe
    >>> r = get_recipe("convnet", "synthetic")
    >>> r.epochs, r.lr, r.momentum, r.weight_decay, r.batch_size
    (300, 0.01, 0.9, 0.0005, 256)
    """
    return select_recipe({"synthetic": SYNTHETIC_RECIPES, "full": FULL_DATA_RECIPES}, model, data)


# ----------------------------------------------------------------------------------
# validation
def _as_float_tensor(a, name):
    if isinstance(a, torch.Tensor):
        t = a.detach()
    else:
        try:
            arr = np.asarray(a)
        except Exception as exc:  # pragma: no cover - exotic inputs
            raise ValueError(f"{name} could not be converted to an array: {exc}") from exc
        if arr.dtype.kind not in "biuf":
            raise ValueError(f"{name} must hold numbers, got dtype {arr.dtype}.")
        t = torch.from_numpy(np.ascontiguousarray(arr))
    if t.is_complex() or t.dtype == torch.bool:
        raise ValueError(f"{name} must hold real numbers, got dtype {t.dtype}.")
    return t


def _check_X(X, name="X"):
    t = _as_float_tensor(X, name)
    if t.ndim not in (3, 4):
        raise ValueError(f"{name} must be 3-D series (n, C, T) or 4-D images (n, C, H, W), got "
                         f"an array with {t.ndim} dimensions of shape {tuple(t.shape)}.")
    if t.shape[0] < 1 or min(t.shape[1:]) < 1:
        raise ValueError(f"{name} is empty (shape {tuple(t.shape)}).")
    t = t.float()
    if not torch.isfinite(t).all():
        bad = "NaN" if torch.isnan(t).any() else "inf"
        raise ValueError(f"{name} contains {bad} values; training needs finite data.")
    return t


def _check_y(y, n_samples, n_classes, *, name="y", allow_soft=True, require_two=True):
    """Hard labels -> int64 tensor (n,); soft labels -> float32 tensor (n, K)."""
    t = _as_float_tensor(y, name)
    if t.ndim == 2 and allow_soft:
        if t.shape[0] != n_samples:
            raise ValueError(f"{name} has {t.shape[0]} rows but X has {n_samples} samples.")
        if n_classes is not None and t.shape[1] != n_classes:
            raise ValueError(f"soft labels {name} have {t.shape[1]} columns but n_classes = "
                             f"{n_classes}.")
        t = t.float()
        if not torch.isfinite(t).all() or (t < 0).any():
            raise ValueError(f"soft labels {name} must be finite, non-negative probabilities.")
        if not torch.allclose(t.sum(1), torch.ones(1, dtype=t.dtype, device=t.device), atol=1e-3):
            raise ValueError(f"soft labels {name} must be probabilities: each row must sum to 1.")
        return t
    if t.ndim != 1:
        kinds = "1-D class labels or 2-D probabilities (n, n_classes)" if allow_soft else \
            "1-D class labels"
        raise ValueError(f"{name} must be {kinds}, got shape {tuple(t.shape)}.")
    if t.shape[0] != n_samples:
        raise ValueError(f"{name} has {t.shape[0]} labels but X has {n_samples} samples.")
    if t.is_floating_point():
        if not torch.isfinite(t).all() or (t != t.round()).any():
            raise ValueError(f"{name} must hold integer class labels 0..n_classes-1.")
    t = t.long()
    if n_classes is not None and ((t < 0).any() or (t >= n_classes).any()):
        raise ValueError(f"{name} holds labels {int(t.min())}..{int(t.max())}, outside "
                         f"0..{n_classes - 1} for n_classes = {n_classes}; encode the classes "
                         "as 0..n_classes-1.")
    if require_two and torch.unique(t).numel() < 2:
        raise ValueError(f"{name} holds a single class ({int(t[0])}); a classifier needs at "
                         "least two.")
    return t


def _model_device(model):
    try:
        return next(model.parameters()).device
    except StopIteration:  # pragma: no cover - parameter-free model
        return torch.device("cpu")


def _training_fingerprint(model, X, y, recipe, teacher=None):
    """Identify a training run: the recipe, the data, the model's parameter layout and
    the teacher's weights."""
    from ..base import data_fingerprint

    layout = [(name, tuple(p.shape)) for name, p in model.state_dict().items()]
    text = repr((sorted(recipe.as_dict().items()), type(model).__name__, layout))
    if teacher is not None:
        weights = [t.detach().cpu().numpy().ravel() for t in teacher.state_dict().values()]
        text += "teacher" + data_fingerprint(np.concatenate(weights) if weights else np.zeros(0))
    return hashlib.sha1((text + data_fingerprint(X.cpu().numpy(), y.cpu().numpy()))
                        .encode()).hexdigest()


def train_classifier(model, X, y, recipe, device="cpu", *, teacher=None, on_epoch_end=None,
                     checkpoint_path=None):
    """Train ``model`` in place on ``(X, y)`` with ``recipe`` (SGD, cross-entropy).

    Randomness (shuffling, dropout) comes from torch's global RNG: call it inside
    :func:`skdd.utils.seeded` (as :func:`fit_classifier` does) for reproducible runs.

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``X`` to logits ``(batch, n_classes)``. If it has an ``n_classes`` attribute,
        labels are checked against it.
    X : ndarray or tensor of shape (n, C, T) or (n, C, H, W)
        Detached and moved to ``device`` once.
    y : ndarray or tensor of shape (n,) or (n, n_classes)
        Integer labels, or soft labels (probabilities; rows sum to 1) trained with the
        KL divergence at ``recipe.temperature``.
    recipe : ClassificationRecipe
        With ``recipe.augment``, every batch is augmented afresh.
    device : str or torch.device, default="cpu"
    teacher : torch.nn.Module, optional
        Knowledge distillation from a teacher queried online: the targets of every
        (augmented) batch are ``softmax(teacher(batch) / recipe.temperature)``, and ``y``
        serves only the training accuracy. The teacher maps the same inputs as ``X`` to
        logits; it is used in eval mode on ``device``, not trained, and left on its
        device and in its mode afterwards. Without augmentation this
        equals training on the teacher's soft labels of ``X``.
    on_epoch_end : callable, optional
        ``on_epoch_end(epoch, model)`` after every epoch (e.g. to record a trajectory for
        trajectory matching); it is also called once with ``epoch=0`` before training.
        A resumed run calls it only for the epochs it runs.
    checkpoint_path : str or path-like, optional
        Save the training state there (model, optimizer, RNG state, history; atomically)
        after an epoch when :data:`skdd.base.CHECKPOINT_SECONDS` have passed since the last save,
        and after the last epoch. If the file exists, training resumes from it and ends
        exactly as an uninterrupted run would; a checkpoint of another run (different
        recipe, data or model) is refused. A finished checkpoint is reused without
        training. Long trainings (a teacher, the full-data row on MNIST) use it.

    Returns
    -------
    history : dict
        ``train_loss`` and ``train_acc`` (per epoch, averaged over the epoch's batches;
        accuracy against the arg-max of soft labels), ``epochs`` run.

    Examples
    --------
    >>> import torch
    >>> from skdd.classification import ClassificationRecipe, train_classifier
    >>> from skdd.nn import ConvNet
    >>> X, y = torch.randn(20, 1, 8, 8), torch.arange(20) % 2
    >>> net = ConvNet(1, 2, 8, width=8)
    >>> hist = train_classifier(net, X, y, ClassificationRecipe(epochs=2, lr=0.01))
    >>> hist["epochs"], len(hist["train_loss"])
    (2, 2)
    """
    if not isinstance(recipe, ClassificationRecipe):
        raise ValueError(f"recipe must be a ClassificationRecipe, got {type(recipe).__name__}.")
    device = resolve_device(device)
    X = _check_X(X)
    y = _check_y(y, X.shape[0], getattr(model, "n_classes", None))
    soft = y.ndim == 2 or teacher is not None
    augment = _augment_mode(recipe.augment, X.ndim)
    X, y = X.to(device), y.to(device)
    model.to(device)
    if teacher is not None:  # put back where and as it was after training
        teacher_state = (_model_device(teacher), teacher.training)
        teacher.to(device).eval()
    n = X.shape[0]
    temperature = recipe.temperature

    def make_optimizer(lr):
        return torch.optim.SGD(model.parameters(), lr=lr, momentum=recipe.momentum,
                               weight_decay=recipe.weight_decay)

    opt = make_optimizer(recipe.lr)
    history = {"train_loss": [], "train_acc": [], "epochs": 0}
    checkpoint = None
    if checkpoint_path is not None:
        from ..base import _Checkpoint, _get_rng_state, _set_rng_state

        checkpoint = _Checkpoint(os.fspath(checkpoint_path), None,
                                 _training_fingerprint(model, X, y, recipe, teacher))
    first_epoch = 0
    if checkpoint is not None and checkpoint.exists():
        state = checkpoint.load()
        first_epoch = int(state["epoch"])
        model.load_state_dict(state["model"])
        if recipe.decay_epoch is not None and first_epoch > recipe.decay_epoch:
            opt = make_optimizer(recipe.lr * recipe.lr_decay_factor)
        opt.load_state_dict(state["optimizer"])
        history = {"train_loss": list(state["train_loss"]), "train_acc": list(state["train_acc"]),
                   "epochs": first_epoch}
        _set_rng_state(state["rng"])
    elif on_epoch_end is not None:
        on_epoch_end(0, model)
    for epoch in range(first_epoch, recipe.epochs):
        if epoch == recipe.decay_epoch:
            opt = make_optimizer(recipe.lr * recipe.lr_decay_factor)
        model.train()
        order = torch.randperm(n, device=device)
        total_loss = torch.zeros((), device=device)
        correct = torch.zeros((), device=device)
        for start in range(0, n, recipe.batch_size):
            idx = order[start:start + recipe.batch_size]
            target = y[idx]
            xb = augment_samples(X[idx], augment)
            if teacher is not None:
                with torch.no_grad():
                    probs = torch.softmax(teacher(xb) / temperature, dim=1)
            else:
                probs = target
            opt.zero_grad(set_to_none=True)
            logits = model(xb)
            if probs.ndim == 2 and probs.shape[1] != logits.shape[1]:
                raise ValueError(f"teacher gives {probs.shape[1]} class scores but the model "
                                 f"has {logits.shape[1]} outputs (n_classes).")
            if soft:
                log_q = F.log_softmax(logits / temperature, dim=1)
                kl = (torch.xlogy(probs, probs) - probs * log_q).sum(1).mean()
                loss = kl * temperature ** 2
                hits = logits.argmax(1) == (target.argmax(1) if target.ndim == 2 else target)
            else:
                loss = F.cross_entropy(logits, target)
                hits = logits.argmax(1) == target
            loss.backward()
            opt.step()
            total_loss += loss.detach() * len(idx)
            correct += hits.sum()
        history["train_loss"].append(float(total_loss) / n)
        history["train_acc"].append(float(correct) / n)
        history["epochs"] = epoch + 1
        if on_epoch_end is not None:
            on_epoch_end(epoch + 1, model)
        if checkpoint is not None and (epoch + 1 == recipe.epochs or checkpoint.due(epoch + 1)):
            checkpoint.save({"epoch": epoch + 1, "model": model.state_dict(),
                             "optimizer": opt.state_dict(), "rng": _get_rng_state(),
                             "train_loss": history["train_loss"],
                             "train_acc": history["train_acc"]})
    model.eval()
    if teacher is not None:
        teacher.to(teacher_state[0]).train(teacher_state[1])
    return history


def fit_classifier(X, y, *, n_classes, recipe=None, data="synthetic", model="convnet",
                   model_kwargs=None, device="cpu", random_state=0, n_threads=None,
                   teacher=None, checkpoint_path=None):
    """Build a classifier with a seeded initialisation and train it on ``(X, y)``.

    The one entry point for training an evaluation model: the benchmarks, the tests and
    the distillers' evaluations all use it. ``data`` picks the fixed recipe ("synthetic"
    or "full") unless ``recipe`` is given. Model initialisation and shuffling both draw
    from torch's RNG seeded with ``random_state`` (locally: the caller's RNG state is
    untouched), so equal seeds give identical models on the same device.

    Parameters
    ----------
    X : ndarray or tensor of shape (n, C, H, W) or (n, C, T)
        Images give a 2-D ConvNet, series a 1-D one.
    y : ndarray or tensor of shape (n,) or (n, n_classes)
        Labels 0..n_classes-1, or soft labels (see :func:`train_classifier`).
    n_classes : int
        Number of classes (>= 2): the model's outputs. A synthetic set may hold fewer
        samples than classes, so it is not inferred from ``y``.
    recipe : ClassificationRecipe, optional
    data : {"synthetic", "full"}, default="synthetic"
    model : str, default="convnet"
        A name in :data:`skdd.nn.CLASSIFICATION_BACKBONES`.
    model_kwargs : dict, optional
        Extra arguments of the backbone (``width``, ``depth``, ``norm``, ...).
    device : str or torch.device, default="cpu"
        "auto" picks CUDA when available.
    random_state : int, default=0
    n_threads : int, optional
        Torch intra-op threads on CPU (see :func:`skdd.utils.torch_threads`; the default is
        one thread, raise it for the 128-wide ConvNet on a multi-core machine).
    teacher : torch.nn.Module, optional
        Distil from this teacher online (see :func:`train_classifier`).
    checkpoint_path : str or path-like, optional
        Make the training resumable (see :func:`train_classifier`): an interrupted call
        run again with the same arguments continues where it stopped and returns the same
        model. ``train_seconds`` then counts only this call's training.

    Returns
    -------
    model : torch.nn.Module (eval mode, on ``device``)
    history : dict
        As :func:`train_classifier`, plus ``train_seconds``.

    Examples
    --------
    >>> from skdd.datasets import load_digits_images
    >>> from skdd.classification import ClassificationRecipe, fit_classifier, evaluate_classifier
    >>> X_train, X_test, y_train, y_test = load_digits_images()
    >>> recipe = ClassificationRecipe(epochs=2, lr=0.01, batch_size=64)
    >>> net, hist = fit_classifier(X_train[:200], y_train[:200], n_classes=10, recipe=recipe,
    ...                            model_kwargs={"width": 16})
    >>> sorted(evaluate_classifier(net, X_test, y_test))
    ['acc', 'loss']
    """
    n_classes = check_positive_int(n_classes, "n_classes", minimum=2)
    recipe = recipe if recipe is not None else get_recipe(model, data)
    device = resolve_device(device)
    X = _check_X(X)
    y = _check_y(y, X.shape[0], n_classes)
    with torch_threads(n_threads, device), seeded(random_state, device):
        net = make_classification_backbone(model, X.shape[1], n_classes, tuple(X.shape[2:]),
                                           **(model_kwargs or {}))
        start = time.perf_counter()
        history = train_classifier(net, X, y, recipe, device, teacher=teacher,
                                   checkpoint_path=checkpoint_path)
        history["train_seconds"] = time.perf_counter() - start
    return net, history


@torch.no_grad()
def evaluate_classifier(model, X, y, batch_size=1024, device=None):
    """Accuracy and mean cross-entropy of ``model`` on ``(X, y)`` (real, hard labels).

    Parameters
    ----------
    model : torch.nn.Module
    X : ndarray or tensor of shape (n, C, H, W) or (n, C, T)
    y : ndarray or tensor of shape (n,)
        Integer labels 0..n_classes-1 (a single class is allowed here).
    batch_size : int, default=1024
    device : optional; defaults to the model's device

    Returns
    -------
    dict with "acc" (fraction correct) and "loss" (mean cross-entropy), floats

    Examples
    --------
    >>> import torch
    >>> from skdd.classification import evaluate_classifier
    >>> from skdd.nn import ConvNet
    >>> net = ConvNet(1, 3, 8, width=8)
    >>> scores = evaluate_classifier(net, torch.zeros(4, 1, 8, 8), [0, 1, 2, 0])
    >>> 0.0 <= scores["acc"] <= 1.0
    True
    """
    batch_size = check_positive_int(batch_size, "batch_size")
    device = _model_device(model) if device is None else resolve_device(device)
    X = _check_X(X)
    y = _check_y(y, X.shape[0], getattr(model, "n_classes", None), allow_soft=False,
                 require_two=False)
    was_training = model.training
    model.eval()
    loss = torch.zeros((), dtype=torch.float64, device=device)
    correct = torch.zeros((), dtype=torch.float64, device=device)
    for start in range(0, X.shape[0], batch_size):
        xb = X[start:start + batch_size].to(device)
        yb = y[start:start + batch_size].to(device)
        logits = model(xb)
        loss += F.cross_entropy(logits.double(), yb, reduction="sum")
        correct += (logits.argmax(1) == yb).sum()
    model.train(was_training)
    n = X.shape[0]
    return {"acc": float(correct) / n, "loss": float(loss) / n}
