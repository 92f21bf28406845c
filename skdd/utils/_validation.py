"""Input validation with messages that name the offending parameter or array."""
from __future__ import annotations

import numbers

import numpy as np


def check_positive_int(value, name, minimum=1):
    """Return ``value`` as int if it is an integer >= ``minimum``, else raise ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}.")
    return int(value)


def check_positive_float(value, name, allow_zero=False):
    """Return ``value`` as float if it is finite and > 0 (>= 0 with ``allow_zero``)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}.") from None
    if not np.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be finite and {bound}, got {value!r}.")
    return v


def check_interval(value, name, low, high, *, closed="both"):
    """Return ``value`` as float if it is a finite number inside an interval, else raise.

    Parameters
    ----------
    value : object
        The value to check; bools and non-numbers are rejected.
    name : str
        The parameter's name, used in the message.
    low, high : float
        The interval's bounds.
    closed : {"both", "left", "right", "neither"}, default="both"
        Which bounds belong to the interval: ``"left"`` is ``[low, high)``, ``"right"``
        is ``(low, high]``.

    Examples
    --------
    >>> from skdd.utils import check_interval
    >>> check_interval(0.5, "dropout", 0, 1, closed="left")
    0.5
    >>> check_interval(1, "dropout", 0, 1, closed="left")
    Traceback (most recent call last):
    ...
    ValueError: dropout must be a number in [0, 1), got 1.
    """
    check_option(closed, "closed", ("both", "left", "right", "neither"))
    left = "[" if closed in ("both", "left") else "("
    right = "]" if closed in ("both", "right") else ")"
    message = f"{name} must be a number in {left}{low:g}, {high:g}{right}, got {value!r}."
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(message)
    v = float(value)
    above = v >= low if left == "[" else v > low
    below = v <= high if right == "]" else v < high
    if not (np.isfinite(v) and above and below):
        raise ValueError(message)
    return v


def check_option(value, name, options):
    """Raise ValueError naming ``name`` unless ``value`` is one of ``options``."""
    if value not in options:
        raise ValueError(f"{name}={value!r} is not supported; choose one of {sorted(options)}.")
    return value


def check_series(series, *, name="series", min_length=1, dtype=np.float32):
    """Validate a (T, C) time series; return it as a C-contiguous array of ``dtype``.

    A 1-D array is read as one channel. NaN/inf, object data, a wrong number of
    dimensions and a series shorter than ``min_length`` raise ValueError naming ``name``.
    """
    values = series.to_numpy() if hasattr(series, "to_numpy") else series
    try:
        arr = np.asarray(values)
    except Exception as exc:  # pragma: no cover - exotic inputs
        raise ValueError(f"{name} could not be converted to an array: {exc}") from exc
    if arr.dtype.kind not in "biuf":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"{name} must hold numbers, got dtype {arr.dtype}: {exc}"
            ) from exc
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D (n_timesteps, n_channels) or 1-D, got an array with "
            f"{arr.ndim} dimensions of shape {arr.shape}."
        )
    if arr.shape[1] < 1:
        raise ValueError(f"{name} has no channels (shape {arr.shape}); need at least one.")
    if arr.shape[0] < min_length:
        raise ValueError(
            f"{name} has n_samples = {arr.shape[0]} time steps; at least {min_length} are needed."
        )
    if not np.isfinite(arr).all():
        bad = "NaN" if np.isnan(arr).any() else "inf"
        raise ValueError(f"{name} contains {bad} values; distillation needs finite data.")
    return np.ascontiguousarray(arr, dtype=dtype)


def select_recipe(tables, model, data):
    """Look up the fixed training recipe of ``model`` for ``data`` in ``tables``.

    ``tables`` maps a data kind ("synthetic", "full") to ``{model name: recipe}``; unknown
    kinds or models raise ValueError naming the parameter.
    """
    table = tables.get(data)
    if table is None:
        raise ValueError(f"data={data!r} must be one of {sorted(tables)}.")
    key = str(model).lower()
    if key not in table:
        raise ValueError(f"model={model!r} has no training recipe; choose one of {sorted(table)}.")
    return table[key]


def check_bool(value, name):
    """Raise ValueError naming ``name`` unless ``value`` is a bool (numpy's included)."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name}={value!r} must be True or False.")
    return bool(value)
