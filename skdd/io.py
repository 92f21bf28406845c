"""Save and load distilled sets without pickle: one ``.npz`` with JSON metadata inside."""
from __future__ import annotations

import json
import os
import platform
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


def save_distilled(estimator, path):
    """Write a fitted distiller's synthetic set to ``path`` (``.npz`` appended if missing).

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
    for name, arr in arrays.items():
        if arr.dtype == object:
            raise ValueError(f"array {name!r} has dtype object and cannot be saved without pickle.")
    metadata = {
        "format_version": FORMAT_VERSION,
        "estimator": type(estimator).__name__,
        "params": _jsonable(estimator.get_params(deep=False)),
        "seed": _jsonable(getattr(estimator, "seed_", None)),
        "versions": _versions(),
        "arrays": sorted(arrays),
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
    """
    path = Path(os.fspath(path))
    if not path.exists():
        raise FileNotFoundError(f"no distilled set at {str(path)!r}.")
    with np.load(path, allow_pickle=False) as npz:
        if _META_KEY not in npz.files:
            raise ValueError(f"{str(path)!r} is not a distilled set written by skdd "
                             "(its JSON metadata is missing).")
        metadata = json.loads(bytes(npz[_META_KEY]).decode("utf-8"))
        arrays = {k: npz[k] for k in npz.files if k != _META_KEY}
    if "X_syn" not in arrays:
        raise ValueError(f"{str(path)!r} holds no 'X_syn' array.")
    return DistilledSet(X_syn=arrays["X_syn"], y_syn=arrays.get("y_syn"),
                        metadata=metadata, arrays=arrays)
