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


def check_verbose(verbose, name="verbose"):
    """Return ``verbose`` as an int if it is a bool or an integer >= 0, else raise.

    scikit-learn's convention: 0 (or False) is silent, 1 (or True) and above print
    progress. None is not accepted (use 0); floats and strings raise TypeError, negative
    integers ValueError, both naming ``verbose``.

    Examples
    --------
    >>> from skdd.utils import check_verbose
    >>> check_verbose(True), check_verbose(2)
    (1, 2)
    >>> check_verbose("yes")
    Traceback (most recent call last):
    ...
    TypeError: verbose must be an int >= 0 or a bool, got str 'yes'.
    """
    if isinstance(verbose, (bool, np.bool_)):
        return int(verbose)
    if not isinstance(verbose, numbers.Integral):
        hint = " (use 0 for no output)" if verbose is None else ""
        raise TypeError(f"{name} must be an int >= 0 or a bool, got "
                        f"{type(verbose).__name__} {verbose!r}{hint}.")
    if verbose < 0:
        raise ValueError(f"{name} must be an int >= 0 or a bool, got {verbose}.")
    return int(verbose)


#: Largest magnitude a float32 holds.
FLOAT32_MAX = float(np.finfo(np.float32).max)


def check_float32_range(arr, name="X"):
    """Raise ValueError naming ``name`` if ``arr`` holds finite values beyond float32's range.

    Distillers compute in float32: a float64 value above about 3.4e38 would become inf.

    Examples
    --------
    >>> import numpy as np
    >>> from skdd.utils import check_float32_range
    >>> check_float32_range(np.array([1e300]))
    Traceback (most recent call last):
    ...
    ValueError: X has values beyond float32's range: max |X| = 1e+300, above 3.403e+38; distillers compute in float32, so rescale X (e.g. divide by a constant).
    """
    arr = np.asarray(arr)
    if arr.dtype.kind != "f" or arr.dtype.itemsize <= 4 or arr.size == 0:
        return arr
    peak = float(np.abs(arr).max())
    if peak > FLOAT32_MAX:
        raise ValueError(
            f"{name} has values beyond float32's range: max |{name}| = {peak:.4g}, above "
            f"{FLOAT32_MAX:.4g}; distillers compute in float32, so rescale {name} (e.g. "
            "divide by a constant).")
    return arr


#: Relative spread below which a channel is treated as constant: a standard deviation
#: under ``CONSTANT_TOLERANCE * max |x|`` of the channel is a few float32 rounding steps
#: (float32 holds about 7 significant digits), not a signal that standardisation could
#: recover.
CONSTANT_TOLERANCE = 4 * float(np.finfo(np.float32).eps)


def channel_scaling(X, axes, dtype=np.float64):
    """Per-channel mean and scale for standardising ``X`` over ``axes``.

    A channel whose standard deviation is below :data:`CONSTANT_TOLERANCE` times its
    largest magnitude (float32 cannot resolve its variation), or below float32's
    smallest normal number, is *constant*: its scale is 1 (it is only centred), and the
    distillers hold it at its mean in the synthetic data rather than amplify rounding
    noise. The test is made in float64; ``mean`` and ``scale`` are computed in ``dtype``.

    Returns
    -------
    mean, scale : ndarray of ``dtype`` (reduced axes kept)
    constant : ndarray of bool, same shape

    Examples
    --------
    >>> import numpy as np
    >>> from skdd.utils import channel_scaling
    >>> X = np.stack([np.arange(4.0), np.full(4, 1.0 + 1e-9 * np.arange(4))], axis=1)
    >>> mean, scale, constant = channel_scaling(X, axes=(0,))
    >>> constant.tolist()
    [[False, True]]
    """
    X = np.asarray(X)
    std64 = X.std(axis=axes, keepdims=True, dtype=np.float64)
    peak = (np.abs(X).max(axis=axes, keepdims=True).astype(np.float64) if X.size
            else std64)
    constant = ~((std64 > CONSTANT_TOLERANCE * peak)
                 & (std64 >= float(np.finfo(np.float32).tiny)))
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        mean = X.mean(axis=axes, keepdims=True, dtype=dtype)
        std = X.std(axis=axes, keepdims=True, dtype=dtype)
    # near float32's limits its sums overflow and its squares underflow: where the
    # statistics in ``dtype`` are off, the float64 ones are used
    mean = np.where(np.isfinite(mean), mean,
                    X.mean(axis=axes, keepdims=True, dtype=np.float64).astype(dtype))
    std = np.where(np.abs(std.astype(np.float64) - std64) <= 1e-3 * std64, std,
                   std64.astype(dtype))
    scale = np.where(constant, np.ones((), dtype=dtype), std)
    return mean, scale, constant


def check_folder(path, name):
    """Raise ValueError naming ``name`` unless ``path`` is a folder or can be created as one."""
    import os
    from pathlib import Path

    folder = Path(os.fspath(path))
    for part in (folder, *folder.parents):
        if part.exists():
            if not part.is_dir():
                what = "is a file" if part == folder else f"lies under the file {str(part)!r}"
                raise ValueError(f"{name}={str(path)!r} {what}; it must be a folder.")
            if not os.access(part, os.W_OK | os.X_OK):
                raise ValueError(f"{name}={str(path)!r}: the folder {str(part)!r} is not "
                                 "writable.")
            break
    return folder


def check_output_path(path, name):
    """Raise ValueError naming ``name`` unless a file can be written at ``path``.

    Checked before long work starts (a checkpoint path that fails only at the first save
    would lose that work): ``path`` must not be a folder and its folder must exist or be
    creatable, and be writable.
    """
    import os
    from pathlib import Path

    target = Path(os.fspath(path))
    if target.is_dir():
        raise ValueError(f"{name}={str(path)!r} is a folder; it must name a file.")
    check_folder(target.parent, f"the folder of {name}")
    if target.parent.is_dir() and not os.access(target.parent, os.W_OK | os.X_OK):
        raise ValueError(f"{name}={str(path)!r}: its folder is not writable.")
    return target


def check_bool(value, name):
    """Raise ValueError naming ``name`` unless ``value`` is a bool (numpy's included)."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name}={value!r} must be True or False.")
    return bool(value)
