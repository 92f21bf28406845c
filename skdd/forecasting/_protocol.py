"""The long-term forecasting protocol: splits, scaling, the training recipes, one trainer
and one evaluator, used by the benchmarks, the tests and the integrations alike.

Splits follow the DLinear / Time-Series-Library convention: ETTh 12/4/4 months, ETTm the
same in 15-minute steps, other CSVs 70/10/20 (train/val/test); validation and test start
``seq_len`` steps early so that their first window's input overlaps the previous split.
A :class:`~sklearn.preprocessing.StandardScaler` is fitted on the train split only.
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, asdict

import numpy as np
import torch
from sklearn.preprocessing import StandardScaler

from ..nn import make_forecasting_backbone
from ..utils import (check_option, check_positive_float, check_positive_int, check_series,
                     resolve_device, seeded, select_recipe, torch_threads)
from ._windows import make_windows, n_windows

__all__ = [
    "ForecastingSplits",
    "split_borders",
    "make_splits",
    "load_forecasting_splits",
    "TrainingRecipe",
    "SYNTHETIC_RECIPES",
    "FULL_DATA_RECIPES",
    "SYNTHETIC_RECIPES_V2",
    "RECIPE_EPOCHS",
    "RECIPE_LRS",
    "PROTOCOLS",
    "get_recipe",
    "backbone_kwargs",
    "train_forecaster",
    "fit_forecaster",
    "evaluate_forecaster",
]

ETT_NAMES = ("ETTh1", "ETTh2", "ETTm1", "ETTm2")


def split_borders(n_timesteps, kind, seq_len):
    """Start/end rows of the train, validation and test splits.

    Parameters
    ----------
    n_timesteps : int
        Rows in the whole series.
    kind : {"ETTh", "ETTm", "custom"}
    seq_len : int
        Look-back L: validation and test start L rows before their border.

    Returns
    -------
    list of three (start, end) tuples

    Examples
    --------
    >>> from skdd.forecasting import split_borders
    >>> split_borders(17420, "ETTh", 96)
    [(0, 8640), (8544, 11520), (11424, 14400)]
    """
    seq_len = check_positive_int(seq_len, "seq_len")
    if kind in ("ETTh", "ETTm"):
        unit = 24 * 30 if kind == "ETTh" else 4 * 24 * 30
        ends = [12 * unit, 16 * unit, 20 * unit]
        if n_timesteps < ends[-1]:
            raise ValueError(f"an {kind} series needs {ends[-1]} rows for the standard "
                             f"splits, got {n_timesteps}.")
    elif kind == "custom":
        n_train = int(n_timesteps * 0.7)
        n_test = int(n_timesteps * 0.2)
        ends = [n_train, n_timesteps - n_test, n_timesteps]
    else:
        raise ValueError(f"kind={kind!r} is not a split convention; use 'ETTh', 'ETTm' or 'custom'.")
    starts = [0, ends[0] - seq_len, ends[1] - seq_len]
    if starts[1] < 0:
        raise ValueError(f"the series ({n_timesteps} rows) is too short for seq_len={seq_len}.")
    return list(zip(starts, ends))


@dataclass
class ForecastingSplits:
    """Scaled train/validation/test arrays of one dataset under the protocol.

    Attributes
    ----------
    name : str
    train, val, test : ndarray of shape (T_split, C), float32, scaled
    scaler : StandardScaler fitted on the raw train split
    columns : list of str
    borders : list of (start, end)
    seq_len : int
    """

    name: str
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    scaler: StandardScaler
    columns: list
    borders: list
    seq_len: int

    @property
    def n_channels(self):
        return self.train.shape[1]


def make_splits(frame, kind="custom", seq_len=96, name="series"):
    """Split and scale a ``(T, C)`` series (array or DataFrame) under the protocol."""
    columns = [str(c) for c in frame.columns] if hasattr(frame, "columns") else None
    values = check_series(frame, name=name, min_length=2, dtype=np.float64)
    if columns is None:
        columns = [f"x{i}" for i in range(values.shape[1])]
    borders = split_borders(len(values), kind, seq_len)
    scaler = StandardScaler().fit(values[borders[0][0]:borders[0][1]])
    scaled = scaler.transform(values).astype(np.float32)
    parts = [np.ascontiguousarray(scaled[a:b]) for a, b in borders]
    return ForecastingSplits(name, *parts, scaler=scaler, columns=columns, borders=borders,
                             seq_len=seq_len)


def load_forecasting_splits(name, seq_len=96, data_home=None, download=False):
    """Load a dataset by name and return its protocol splits.

    ``name`` is one of ETTh1, ETTh2, ETTm1, ETTm2, or the name/path of a "custom" CSV in
    the same format (read with :func:`skdd.datasets.load_forecasting_csv`).
    """
    from ..datasets import load_ett, load_forecasting_csv

    canonical = {n.lower(): n for n in ETT_NAMES}.get(str(name).lower())
    if canonical is not None:
        frame = load_ett(canonical, data_home=data_home, download=download)
        kind = canonical[:4]
    else:
        frame = load_forecasting_csv(name, data_home=data_home)
        canonical, kind = str(name), "custom"
    return make_splits(frame, kind=kind, seq_len=seq_len, name=canonical)


# ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrainingRecipe:
    """A fixed recipe for training a forecasting model (MSE loss).

    Attributes
    ----------
    epochs : int
        Maximum number of epochs.
    lr : float
    batch_size : int
    lr_decay : {"none", "halve"}
        "halve" multiplies the learning rate by 0.5 after every epoch (the
        Time-Series-Library "type1" schedule).
    patience : int or None
        Early stopping on the validation loss (full-data training only; a recipe for
        synthetic data has None and never sees real validation data).
    optimizer : {"adam", "sgd"}
        Plain SGD is what trajectory-matching experts use (their steps are compared with
        unrolled SGD steps on synthetic data).
    """

    epochs: int
    lr: float
    batch_size: int = 32
    lr_decay: str = "none"
    patience: int | None = None
    optimizer: str = "adam"

    def __post_init__(self):
        check_positive_int(self.epochs, "epochs")
        check_positive_int(self.batch_size, "batch_size")
        check_positive_float(self.lr, "lr")
        if self.lr_decay not in ("none", "halve"):
            raise ValueError(f"lr_decay={self.lr_decay!r} must be 'none' or 'halve'.")
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer={self.optimizer!r} must be 'adam' or 'sgd'.")
        if self.patience is not None:
            check_positive_int(self.patience, "patience")

    def as_dict(self):
        return asdict(self)


# Protocol v1: one recipe per model for a synthetic series (a few hundred windows), a
# fixed number of epochs with a constant learning rate, no real data involved. Chosen once
# on the ETTh1 validation split with random 384-step train segments (3 seeds; grid lr x
# epochs in docs/forecasting.md) and used for every method and dataset alike. PatchTST,
# which v1 predates, takes iTransformer's and xPatch's recipe without a search of its own.
SYNTHETIC_RECIPES = {
    "dlinear": TrainingRecipe(epochs=20, lr=1e-3, batch_size=32),
    "itransformer": TrainingRecipe(epochs=10, lr=1e-4, batch_size=32),
    "xpatch": TrainingRecipe(epochs=10, lr=1e-4, batch_size=32),
    "patchtst": TrainingRecipe(epochs=10, lr=1e-4, batch_size=32),
}

# Protocol v2: per dataset and model, the recipe for distilled series ("distilled", one for
# every distilled row of a table) and the recipe for random segments ("random", the gap's
# reference), each the (epochs, lr) of lowest mean validation MSE over the pooled series
# (3 seeds of every distiller of the table; 3 random segments), from the grid
# RECIPE_EPOCHS x RECIPE_LRS. Regenerated with
#   python -m skdd.benchmarks recipes --dataset ETTh1 --cache-dir cache --json recipes.json
# (docs/forecasting.md has the search behind every entry).
RECIPE_EPOCHS = (5, 10, 20, 40, 80)
RECIPE_LRS = (1e-4, 3e-4, 1e-3)


def _r(epochs, lr):
    return TrainingRecipe(epochs=epochs, lr=lr, batch_size=32)


SYNTHETIC_RECIPES_V2 = {
    # distilled rows pooled: mtt, condtsf, hdt-paper (3 seeds each); JSON in
    # docs/results/v2/recipe_search/ETTh1_recipes.json (mean validation MSE after "#")
    "ETTh1": {
        "dlinear": {"distilled": _r(80, 3e-4), "random": _r(80, 3e-4)},  # 0.666 / 0.877
        "itransformer": {"distilled": _r(20, 1e-4), "random": _r(10, 1e-4)},  # 0.773 / 1.085
        "xpatch": {"distilled": _r(40, 1e-4), "random": _r(5, 1e-3)},  # 0.744 / 1.011
        "patchtst": {"distilled": _r(20, 1e-3), "random": _r(10, 3e-4)},  # 0.741 / 1.126
    },
    # the same pool; JSON in docs/results/v2/recipe_search/ETTh2_recipes.json
    "ETTh2": {
        "dlinear": {"distilled": _r(40, 1e-3), "random": _r(5, 1e-4)},  # 0.229 / 0.306
        "itransformer": {"distilled": _r(10, 3e-4), "random": _r(40, 1e-4)},  # 0.238 / 0.279
        "xpatch": {"distilled": _r(20, 1e-4), "random": _r(5, 1e-4)},  # 0.233 / 0.264
        "patchtst": {"distilled": _r(80, 1e-4), "random": _r(40, 3e-4)},  # 0.229 / 0.273
    },
    # the same pool; JSON in docs/results/v2/recipe_search/ETTm2_recipes.json. PatchTST's
    # curves cost about 400 s each on ETTm2 (its validation split holds 11.5k windows);
    # its entry follows when they are complete.
    "ETTm2": {
        "dlinear": {"distilled": _r(80, 3e-4), "random": _r(40, 3e-4)},  # 0.138 / 0.172
        "itransformer": {"distilled": _r(5, 3e-4), "random": _r(10, 1e-4)},  # 0.143 / 0.164
        "xpatch": {"distilled": _r(5, 3e-4), "random": _r(5, 1e-4)},  # 0.140 / 0.156
    },
}

# Recipes for the whole train split (thousands of windows): the Time-Series-Library
# recipe, at most 10 epochs with the learning rate halved each epoch and early stopping
# (patience 3) on the validation loss; the learning rate per model chosen on the ETTh1
# validation split from {1e-4, 5e-4, 1e-3}. The same in both protocols.
FULL_DATA_RECIPES = {
    "dlinear": TrainingRecipe(epochs=10, lr=1e-3, batch_size=32, lr_decay="halve", patience=3),
    "itransformer": TrainingRecipe(epochs=10, lr=5e-4, batch_size=32, lr_decay="halve", patience=3),
    "xpatch": TrainingRecipe(epochs=10, lr=1e-3, batch_size=32, lr_decay="halve", patience=3),
    "patchtst": TrainingRecipe(epochs=10, lr=1e-3, batch_size=32, lr_decay="halve", patience=3),
}

PROTOCOLS = ("v1", "v2")


def get_recipe(model, data="synthetic", *, protocol="v1", dataset=None):
    """The training recipe of ``model`` for ``data`` under ``protocol``.

    Parameters
    ----------
    model : str
        An evaluation model ("dlinear", "itransformer", "xpatch", "patchtst").
    data : {"synthetic", "random", "full"}, default="synthetic"
        A distilled series, a random real segment (the reference of the gap) or the whole
        train split. "random" and "synthetic" share one recipe under protocol v1.
    protocol : {"v1", "v2"}, default="v1"
        v1: one recipe per model for every dataset. v2: per dataset and model, chosen on
        the dataset's validation split (:data:`SYNTHETIC_RECIPES_V2`); needs ``dataset``.
        The full-data recipe is the same in both.
    dataset : str, optional
        Dataset name (protocol v2).

    Examples
    --------
    >>> from skdd.forecasting import get_recipe
    >>> get_recipe("dlinear").epochs
    20
    """
    check_option(protocol, "protocol", PROTOCOLS)
    check_option(data, "data", ("synthetic", "random", "full"))
    if data == "full":
        return select_recipe({"full": FULL_DATA_RECIPES}, model, "full")
    if protocol == "v1":
        return select_recipe({"synthetic": SYNTHETIC_RECIPES}, model, "synthetic")
    if dataset is None:
        raise ValueError("protocol='v2' chooses recipes per dataset: pass dataset= (one of "
                         f"{sorted(SYNTHETIC_RECIPES_V2)}).")
    table = {k.lower(): v for k, v in SYNTHETIC_RECIPES_V2.items()}.get(str(dataset).lower())
    if table is None:
        raise ValueError(
            f"dataset={dataset!r} has no protocol v2 recipes; known datasets: "
            f"{sorted(SYNTHETIC_RECIPES_V2)}. Choose them on its validation split with "
            "`python -m skdd.benchmarks recipes`, or use protocol='v1'.")
    entry = table.get(str(model).lower())
    if entry is None:
        raise ValueError(f"model={model!r} has no protocol v2 recipe for {dataset}; known "
                         f"models: {sorted(table)}.")
    return entry["random" if data == "random" else "distilled"]


def backbone_kwargs(model, dataset=None):
    """Per-dataset sizes of the evaluation models: iTransformer 256 wide on ETTh1, else
    128; PatchTST its ETTh configuration (the class defaults) except on ETTm (d_model 128,
    16 heads, d_ff 256, dropout 0.2), as in PatchTST's own scripts."""
    model = str(model).lower()
    name = "" if dataset is None else str(dataset).lower()
    if model == "itransformer":
        width = 256 if name == "etth1" else 128
        return {"d_model": width, "d_ff": width}
    if model == "patchtst" and name.startswith("ettm"):
        return {"d_model": 128, "n_heads": 16, "d_ff": 256, "dropout": 0.2}
    return {}


def _as_tensor(series, device, name):
    if isinstance(series, torch.Tensor):
        return series.to(device=device, dtype=torch.float32)
    return torch.as_tensor(check_series(series, name=name), device=device)


def train_forecaster(model, train, recipe, *, seq_len, pred_len, val=None, device="cpu",
                     on_epoch_end=None):
    """Train ``model`` in place on the windows of the series ``train`` with ``recipe``.

    Randomness (shuffling, dropout) comes from torch's global RNG: call it inside
    :func:`skdd.utils.seeded` (as :func:`fit_forecaster` does) for reproducible runs.

    Parameters
    ----------
    model : torch.nn.Module
        A forecasting backbone ``(B, seq_len, C) -> (B, pred_len, C)``.
    train : ndarray or tensor of shape (T, C)
    recipe : TrainingRecipe
    seq_len, pred_len : int
    val : ndarray or tensor of shape (T_val, C), optional
        Used only for early stopping when ``recipe.patience`` is set.
    device : str or torch.device
    on_epoch_end : callable, optional
        ``on_epoch_end(epoch, model)`` after every epoch (e.g. to record a trajectory);
        it is also called once with ``epoch=0`` before training.

    Returns
    -------
    history : dict
        ``train_loss`` (per epoch), ``val_loss`` (per epoch, if used), ``epochs`` run and
        ``best_epoch``.
    """
    device = torch.device(device)
    model.to(device)
    series = _as_tensor(train, device, "train")
    X, Y = make_windows(series, seq_len, pred_len)
    n = X.shape[0]
    use_val = recipe.patience is not None
    if use_val and val is None:
        raise ValueError("this recipe early-stops on validation data: pass val=.")
    if recipe.optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=recipe.lr)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=recipe.lr)
    if on_epoch_end is not None:
        on_epoch_end(0, model)
    history = {"train_loss": [], "val_loss": [], "epochs": 0, "best_epoch": None}
    best, best_state, bad = np.inf, None, 0
    for epoch in range(recipe.epochs):
        if recipe.lr_decay == "halve":
            for group in opt.param_groups:
                group["lr"] = recipe.lr * 0.5 ** epoch
        model.train()
        order = torch.randperm(n, device=device)
        total = torch.zeros((), device=device)
        for start in range(0, n, recipe.batch_size):
            idx = order[start:start + recipe.batch_size]
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.mse_loss(model(X[idx]), Y[idx])
            loss.backward()
            opt.step()
            total += loss.detach() * len(idx)
        history["train_loss"].append(float(total) / n)
        history["epochs"] = epoch + 1
        if on_epoch_end is not None:
            on_epoch_end(epoch + 1, model)
        if use_val:
            score = evaluate_forecaster(model, val, seq_len=seq_len, pred_len=pred_len,
                                        device=device)["mse"]
            history["val_loss"].append(score)
            if score < best:
                best, bad, history["best_epoch"] = score, 0, epoch + 1
                best_state = copy.deepcopy(model.state_dict())
            else:
                bad += 1
                if bad >= recipe.patience:
                    break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return history


def fit_forecaster(name, train, *, seq_len, pred_len, recipe=None, data="synthetic", val=None,
                   dataset=None, model_kwargs=None, device="cpu", random_state=0, n_threads=None,
                   protocol="v1", on_epoch_end=None):
    """Build the backbone ``name`` with a seeded initialisation and train it.

    The one entry point for training an evaluation model: the benchmarks, the tests and
    the integrations all use it. ``data`` ("synthetic", "random" or "full") and
    ``protocol`` pick the recipe with :func:`get_recipe` unless ``recipe`` is given;
    ``dataset`` picks the per-dataset model size (and the v2 recipe). ``on_epoch_end`` is
    passed to :func:`train_forecaster`.

    Returns
    -------
    model : torch.nn.Module (eval mode)
    history : dict (with ``train_seconds``)

    Examples
    --------
    >>> from skdd.datasets import make_seasonal_series
    >>> from skdd.forecasting import fit_forecaster, evaluate_forecaster
    >>> s = make_seasonal_series(400, 2, random_state=0).astype("float32")
    >>> model, hist = fit_forecaster("dlinear", s[:300], seq_len=24, pred_len=12)
    >>> sorted(evaluate_forecaster(model, s[300:], seq_len=24, pred_len=12))
    ['mae', 'mse']
    """
    recipe = recipe if recipe is not None else get_recipe(name, data, protocol=protocol,
                                                          dataset=dataset)
    device = resolve_device(device)
    train_t = _as_tensor(train, device, "train")
    if n_windows(train_t.shape[0], seq_len, pred_len) < 1:
        raise ValueError(f"train has {train_t.shape[0]} time steps, fewer than seq_len + "
                         f"pred_len = {seq_len + pred_len}.")
    kwargs = dict(backbone_kwargs(name, dataset), **(model_kwargs or {}))
    with torch_threads(n_threads, device), seeded(random_state, device):
        model = make_forecasting_backbone(name, seq_len, pred_len, train_t.shape[1], **kwargs)
        start = time.perf_counter()
        history = train_forecaster(model, train_t, recipe, seq_len=seq_len, pred_len=pred_len,
                                   val=val, device=device, on_epoch_end=on_epoch_end)
        history["train_seconds"] = time.perf_counter() - start
    return model, history


@torch.no_grad()
def evaluate_forecaster(model, series, *, seq_len, pred_len, batch_size=1024, device=None):
    """MSE and MAE of ``model`` over every stride-1 window of ``series``, all channels.

    Parameters
    ----------
    model : torch.nn.Module
    series : ndarray or tensor of shape (T, C), already scaled
    seq_len, pred_len : int
    batch_size : int, default=1024
    device : optional; defaults to the model's device

    Returns
    -------
    dict with "mse" and "mae" (floats)
    """
    if device is None:
        device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    X, Y = make_windows(_as_tensor(series, device, "series"), seq_len, pred_len)
    sq = torch.zeros((), dtype=torch.float64, device=device)
    ab = torch.zeros((), dtype=torch.float64, device=device)
    for start in range(0, X.shape[0], batch_size):
        err = model(X[start:start + batch_size]) - Y[start:start + batch_size]
        sq += err.double().square().sum()
        ab += err.double().abs().sum()
    count = Y.numel()
    model.train(was_training)
    return {"mse": float(sq) / count, "mae": float(ab) / count}
