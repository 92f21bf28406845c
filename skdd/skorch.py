"""skorch factories: skdd's networks as scikit-learn estimators.

:func:`make_forecasting_net` returns a skorch ``NeuralNetRegressor`` around a forecasting
backbone (DLinear, iTransformer, xPatch) that fits input windows ``(n, seq_len, C)`` to
target windows ``(n, pred_len, C)``, e.g. those of :func:`skdd.forecasting.make_windows`;
:func:`make_convnet_classifier` returns a ``NeuralNetClassifier`` around
:class:`skdd.nn.ConvNet` for images ``(n, C, H, W)`` or series ``(n, C, T)``. Both start
from skdd's fixed training recipes for synthetic data, so a model trained on a distilled
set can sit in a :class:`~sklearn.pipeline.Pipeline`, a grid search or a
:class:`skdd.DistilledClassifier`.

The nets cast floating inputs to float32 (and integer labels to int64) and make array
views contiguous, so float64 data and the read-only windows of ``make_windows`` can be
passed directly. skorch trains in the caller's torch RNG and thread settings: call
``torch.manual_seed`` for reproducible fits, and mind skdd's thread advice (README).

skorch is an optional dependency (``pip install "skdd[skorch]"``); ``import skdd`` never
imports it.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import torch

from .classification import get_recipe as _classification_recipe
from .forecasting import backbone_kwargs, get_recipe as _forecasting_recipe
from .nn import FORECASTING_BACKBONES, ConvNet, check_forecasting_backbone
from .utils import check_positive_int

__all__ = ["make_forecasting_net", "make_convnet_classifier", "SkddNetRegressor",
           "SkddNetClassifier"]

try:
    from skorch import NeuralNetClassifier, NeuralNetRegressor
    from skorch.callbacks import LRScheduler
except ImportError as _exc:  # pragma: no cover - exercised only without skorch
    _SKORCH_ERROR = _exc
    NeuralNetClassifier = NeuralNetRegressor = None


def _require_skorch():
    if NeuralNetRegressor is None:  # pragma: no cover - exercised only without skorch
        raise ImportError("skdd.skorch needs skorch, which is not installed; install it with "
                          "pip install 'skdd[skorch]'.") from _SKORCH_ERROR


def _as_float32(a):
    """Floating NumPy arrays -> contiguous float32 (a writable copy of read-only views)."""
    if isinstance(a, np.ndarray) and a.dtype.kind == "f":
        if a.dtype != np.float32 or not a.flags.c_contiguous or not a.flags.writeable:
            return np.array(a, dtype=np.float32, order="C")
    return a


def _as_int64(a):
    if isinstance(a, np.ndarray) and a.dtype.kind in "iu" and a.dtype != np.int64:
        return a.astype(np.int64)
    return a


if NeuralNetRegressor is not None:
    class SkddNetRegressor(NeuralNetRegressor):
        """``NeuralNetRegressor`` that casts float inputs and targets to float32."""

        def get_dataset(self, X, y=None):
            return super().get_dataset(_as_float32(X), None if y is None else _as_float32(y))

    class SkddNetClassifier(NeuralNetClassifier):
        """``NeuralNetClassifier`` that casts float inputs to float32, labels to int64."""

        def get_dataset(self, X, y=None):
            return super().get_dataset(_as_float32(X), None if y is None else _as_int64(y))
else:  # pragma: no cover
    SkddNetRegressor = SkddNetClassifier = None


def _net_params(params, recipe, device, net_kwargs):
    """The module-specific ``params`` plus the recipe's shared settings, then the caller's."""
    return {**params, "lr": recipe.lr, "max_epochs": recipe.epochs,
            "batch_size": recipe.batch_size, "iterator_train__shuffle": True,
            "train_split": None, "device": device, "verbose": 0, **net_kwargs}


def make_forecasting_net(backbone="dlinear", *, seq_len, pred_len, n_channels, recipe=None,
                         model_kwargs=None, dataset=None, device="cpu", **net_kwargs):
    """A skorch ``NeuralNetRegressor`` around a forecasting backbone, on windows.

    Parameters
    ----------
    backbone : {"dlinear", "itransformer", "xpatch"}, default="dlinear"
    seq_len, pred_len, n_channels : int
        Window sizes and channels: ``fit(X, y)`` takes ``X`` of shape
        ``(n, seq_len, n_channels)`` and ``y`` of shape ``(n, pred_len, n_channels)``.
    recipe : skdd.forecasting.TrainingRecipe, optional
        Default: the backbone's recipe for synthetic data (epochs, learning rate, batch
        size, optimizer; a "halve" decay becomes a StepLR callback). Recipes with early
        stopping are refused (use skorch's ``EarlyStopping`` with a ``train_split``).
    model_kwargs : dict, optional
        Backbone arguments (on top of :func:`skdd.forecasting.backbone_kwargs`).
    dataset : str, optional
        Dataset name for the per-dataset backbone size (iTransformer on ETTh1).
    device : str, default="cpu"
    **net_kwargs
        Any ``NeuralNetRegressor`` argument; overrides the recipe (``max_epochs``, ``lr``,
        ``callbacks`` ...). ``train_split`` defaults to None (no internal validation split:
        a distilled set has no real validation data) and ``verbose`` to 0.

    Returns
    -------
    SkddNetRegressor
        A ``NeuralNetRegressor``; its trained backbone is ``net.module_``.

    Examples
    --------
    >>> import torch
    >>> from skdd.datasets import make_seasonal_series
    >>> from skdd.forecasting import make_windows
    >>> from skdd.skorch import make_forecasting_net
    >>> series = make_seasonal_series(300, 2, random_state=0)
    >>> X, Y = make_windows(series, seq_len=48, pred_len=12)
    >>> net = make_forecasting_net("dlinear", seq_len=48, pred_len=12, n_channels=2,
    ...                            max_epochs=2)
    >>> _ = torch.manual_seed(0)
    >>> net.fit(X, Y).predict(X[:5]).shape
    (5, 12, 2)
    """
    _require_skorch()
    name = check_forecasting_backbone(backbone)
    recipe = recipe if recipe is not None else _forecasting_recipe(name, "synthetic")
    if recipe.patience is not None:
        raise ValueError(f"recipe={recipe!r} early-stops on validation data; pass a recipe "
                         "without patience and add skorch's EarlyStopping callback instead.")
    module_kwargs = dict(backbone_kwargs(name, dataset), **(model_kwargs or {}))
    params = {
        "module": FORECASTING_BACKBONES[name],
        "module__seq_len": check_positive_int(seq_len, "seq_len"),
        "module__pred_len": check_positive_int(pred_len, "pred_len"),
        "module__n_channels": check_positive_int(n_channels, "n_channels"),
        **{f"module__{k}": v for k, v in module_kwargs.items()},
        "criterion": torch.nn.MSELoss,
        "optimizer": torch.optim.SGD if recipe.optimizer == "sgd" else torch.optim.Adam,
    }
    if recipe.lr_decay == "halve":
        params["callbacks"] = [("lr_halving", LRScheduler(policy="StepLR", step_size=1,
                                                          gamma=0.5))]
    return SkddNetRegressor(**_net_params(params, recipe, device, net_kwargs))


def make_convnet_classifier(in_channels, n_classes, input_size, *, dims=2, recipe=None,
                            model_kwargs=None, device="cpu", **net_kwargs):
    """A skorch ``NeuralNetClassifier`` around :class:`skdd.nn.ConvNet`.

    Parameters
    ----------
    in_channels : int
        Channels C of the images ``(n, C, H, W)`` or series ``(n, C, T)``.
    n_classes : int
        Labels must be ``0..n_classes - 1``.
    input_size : int or tuple of int
        (H, W) for images, T for series.
    dims : {1, 2}, default=2
        2 for images, 1 for series.
    recipe : skdd.classification.ClassificationRecipe, optional
        Default: the protocol's recipe for synthetic data (SGD with momentum and weight
        decay, its learning rate, batch size and epochs, the step decay at mid-training
        as a MultiStepLR callback, at half of ``max_epochs`` when that is given; SGD's
        momentum is not restarted at the decay, unlike
        :func:`skdd.classification.fit_classifier`).
    model_kwargs : dict, optional
        ConvNet arguments (``width``, ``depth``, ``norm`` ...).
    device : str, default="cpu"
    **net_kwargs
        Any ``NeuralNetClassifier`` argument; overrides the recipe. ``train_split``
        defaults to None and ``verbose`` to 0.

    Returns
    -------
    SkddNetClassifier
        A ``NeuralNetClassifier`` (with ``predict_proba``); the ConvNet is ``net.module_``.

    Examples
    --------
    >>> import torch
    >>> from skdd.datasets import load_digits_images
    >>> from skdd.skorch import make_convnet_classifier
    >>> X, X_test, y, y_test = load_digits_images()
    >>> net = make_convnet_classifier(1, 10, (8, 8), model_kwargs={"width": 16, "depth": 2},
    ...                               max_epochs=3, batch_size=64, lr=0.05)
    >>> _ = torch.manual_seed(0)
    >>> net.fit(X[:300], y[:300]).predict_proba(X_test[:4]).shape
    (4, 10)
    """
    _require_skorch()
    recipe = recipe if recipe is not None else _classification_recipe("convnet", "synthetic")
    if "max_epochs" in net_kwargs:  # the decay stays at mid-training
        recipe = dataclasses.replace(recipe, epochs=net_kwargs["max_epochs"])
    params = {
        "module": ConvNet,
        "module__in_channels": check_positive_int(in_channels, "in_channels"),
        "module__n_classes": check_positive_int(n_classes, "n_classes"),
        "module__input_size": input_size,
        "module__dims": dims,
        **{f"module__{k}": v for k, v in (model_kwargs or {}).items()},
        "criterion": torch.nn.CrossEntropyLoss,
        "optimizer": torch.optim.SGD,
        "optimizer__momentum": recipe.momentum,
        "optimizer__weight_decay": recipe.weight_decay,
    }
    if recipe.decay_epoch is not None:
        params["callbacks"] = [("lr_step", LRScheduler(
            policy="MultiStepLR", milestones=[recipe.decay_epoch], gamma=recipe.lr_decay_factor))]
    return SkddNetClassifier(**_net_params(params, recipe, device, net_kwargs))
