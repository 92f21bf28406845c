"""Save and load distilled sets without pickle: one ``.npz`` with JSON metadata inside."""
from __future__ import annotations

import json
import os
import platform
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["DistilledSet", "save_distilled", "load_distilled"]

_META_KEY = "__metadata_json__"
FORMAT_VERSION = 1


@dataclass
class DistilledSet:
    """A distilled set read back by :func:`load_distilled`.

    Attributes
    ----------
    X_syn : ndarray
        The synthetic data ((M, C) series, or (n, ...) samples).
    y_syn : ndarray or None
        Labels of the synthetic samples (classification), else None.
    metadata : dict
        Estimator class and parameters, seed, library versions, channel names, labels.
    arrays : dict
        Every array stored in the file, by name.
    """

    X_syn: np.ndarray
    y_syn: np.ndarray | None
    metadata: dict
    arrays: dict = field(default_factory=dict)

    def to_frame(self):
        """The synthetic series as a DataFrame with the stored channel names."""
        import pandas as pd

        if self.X_syn.ndim != 2:
            raise ValueError(f"to_frame needs a 2-D synthetic series, got shape {self.X_syn.shape}.")
        return pd.DataFrame(self.X_syn, columns=self.metadata.get("channel_names"))


def _versions():
    import sklearn
    import torch

    from . import __version__

    return {"skdd": __version__, "numpy": np.__version__, "torch": torch.__version__,
            "scikit-learn": sklearn.__version__, "python": platform.python_version()}


def _jsonable(value):
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return repr(value)


def _strings(name, arr):
    """An object array of strings as a unicode array (saved without pickle)."""
    kinds = {type(v).__name__ for v in arr.ravel() if not isinstance(v, str)}
    if kinds:
        raise ValueError(
            f"array {name!r} has dtype object holding {sorted(kinds)} values, which cannot be "
            "saved without pickle; use numbers or strings (e.g. labels as str).")
    return arr.astype(str)


def save_distilled(estimator, path):
    """Write a fitted distiller's synthetic set to ``path`` (``.npz`` appended if missing).

    String labels in object arrays (e.g. from a pandas Series of str) are stored as
    unicode arrays and read back as object arrays of str; other objects raise ValueError.

    Parameters
    ----------
    estimator : fitted skdd distiller
    path : str or path-like

    Returns
    -------
    path : pathlib.Path
        The file written.

    Examples
    --------
    >>> import tempfile, os
    >>> from skdd import RandomSegmentDistiller, load_distilled
    >>> from skdd.datasets import make_seasonal_series
    >>> d = RandomSegmentDistiller(length=48, seq_len=12, pred_len=12, random_state=0)
    >>> d = d.fit(make_seasonal_series(300, 2, random_state=0))
    >>> p = d.save_distilled(os.path.join(tempfile.mkdtemp(), "syn.npz"))
    >>> load_distilled(p).X_syn.shape
    (48, 2)
    """
    path = Path(os.fspath(path))
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    arrays = {k: np.asarray(v) for k, v in estimator._distilled_arrays().items()}
    object_arrays = []
    for name, arr in arrays.items():
        if arr.dtype == object:
            arrays[name] = _strings(name, arr)
            object_arrays.append(name)
    metadata = {
        "format_version": FORMAT_VERSION,
        "estimator": type(estimator).__name__,
        "params": _jsonable(estimator.get_params(deep=False)),
        "seed": _jsonable(getattr(estimator, "seed_", None)),
        "versions": _versions(),
        "arrays": sorted(arrays),
        # arrays of Python strings, stored as unicode arrays and restored as object arrays
        "object_arrays": object_arrays,
    }
    metadata.update(_jsonable(estimator._distilled_metadata()))
    payload = np.frombuffer(json.dumps(metadata).encode("utf-8"), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays, **{_META_KEY: payload})
    return path


def load_distilled(path):
    """Read a distilled set written by ``save_distilled``; never unpickles.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    DistilledSet

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ValueError
        The file is not a distilled set skdd can read (empty, truncated, not a zip of
        arrays, a plain ``.npy``, metadata that is not JSON, no ``X_syn``, channel names
        or labels that do not match ``X_syn``); the message names the file and the problem.
    """
    path = Path(os.fspath(path))
    if not path.exists():
        raise FileNotFoundError(f"no distilled set at {str(path)!r}.")

    def bad(problem):
        return ValueError(f"{str(path)!r} is not a readable distilled set: {problem}.")

    if path.is_dir():
        raise bad("it is a folder")
    if path.stat().st_size == 0:
        raise bad("the file is empty")
    with open(path, "rb") as f:
        head = f.read(6)
    if head == b"\x93NUMPY":
        raise bad("it holds one array (a plain .npy file), not the arrays and metadata that "
                  "save_distilled writes")
    if not head.startswith(b"PK"):
        raise bad("it is not a zip file (save_distilled writes an .npz, a zip of arrays)")
    damaged = (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile)
    try:
        npz = np.load(path, allow_pickle=False)
    except damaged as exc:
        raise bad(f"the zip is truncated or corrupted ({type(exc).__name__}: {exc})") from exc
    if not isinstance(npz, np.lib.npyio.NpzFile):  # pragma: no cover - guarded above
        raise bad("it is not a zip of arrays")
    with npz:
        if _META_KEY not in npz.files:
            raise bad("its JSON metadata is missing (not written by skdd's save_distilled)")
        try:
            raw = npz[_META_KEY]
            arrays = {k: npz[k] for k in npz.files if k != _META_KEY}
        except damaged as exc:
            raise bad(f"the file is truncated or corrupted ({type(exc).__name__}: {exc})") \
                from exc
    try:
        metadata = json.loads(bytes(raw).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise bad(f"its metadata is not valid JSON ({exc})") from exc
    if not isinstance(metadata, dict):
        raise bad(f"its metadata is a JSON {type(metadata).__name__}, not an object")
    if "X_syn" not in arrays:
        raise bad("it holds no 'X_syn' array")
    X_syn, y_syn = arrays["X_syn"], arrays.get("y_syn")
    names = metadata.get("channel_names")
    if names is not None:
        n_channels = X_syn.shape[-1] if X_syn.ndim == 2 else None
        if not isinstance(names, list) or (n_channels is not None and len(names) != n_channels):
            got = len(names) if isinstance(names, list) else type(names).__name__
            raise bad(f"its metadata names {got} channels, but X_syn has "
                      f"{n_channels} (shape {X_syn.shape})")
    if y_syn is not None and (y_syn.ndim < 1 or y_syn.shape[0] != X_syn.shape[0]):
        raise bad(f"y_syn has shape {y_syn.shape}, not one label per row of X_syn "
                  f"({X_syn.shape[0]})")
    for name in metadata.get("object_arrays", ()):
        if name in arrays:
            arrays[name] = arrays[name].astype(object)
    y_syn = arrays.get("y_syn")
    return DistilledSet(X_syn=X_syn, y_syn=y_syn, metadata=metadata, arrays=arrays)
