"""Data-home resolution, checked downloads and the shared forecasting-CSV reader."""
from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["get_data_home", "load_forecasting_csv"]

#: Environment variable naming the data home.
DATA_HOME_ENV = "SKDD_DATA_HOME"

_CHUNK = 1 << 20


class _ChecksumError(OSError, ValueError):
    """A downloaded file whose md5 does not match the expected value.

    It is both an :class:`OSError` and a :class:`ValueError`, so either can catch it.
    """


def get_data_home(data_home=None):
    """Return the folder where skdd looks for (and downloads) data files.

    The folder is not created here; downloads create it when needed.

    Parameters
    ----------
    data_home : str or os.PathLike, default=None
        Folder to use. When None, the ``SKDD_DATA_HOME`` environment variable is
        used if set, else ``$XDG_CACHE_HOME/skdd`` (``~/.cache/skdd`` when
        ``XDG_CACHE_HOME`` is unset). A leading ``~`` is expanded.

    Returns
    -------
    path : pathlib.Path
        The data home.

    Examples
    --------
    >>> from skdd.datasets import get_data_home
    >>> get_data_home("/tmp/skdd_data").as_posix()
    '/tmp/skdd_data'
    """
    if data_home is None:
        env = os.environ.get(DATA_HOME_ENV, "")
        if env:
            data_home = env
        else:
            cache = os.environ.get("XDG_CACHE_HOME", "")
            if not cache or not os.path.isabs(os.path.expanduser(cache)):
                cache = os.path.join("~", ".cache")
            data_home = os.path.join(cache, "skdd")
    return Path(os.fspath(data_home)).expanduser()


def _first_existing(candidates):
    """Return the first path in ``candidates`` that is a file, else None."""
    for path in candidates:
        if path.is_file():
            return path
    return None


def _not_found(what, candidates, holding, url=None, extra=""):
    """The FileNotFoundError of every loader: what is missing, where we looked, how to fix."""
    looked = "\n  ".join(str(p) for p in candidates)
    fetch = f", or pass download=True to fetch it from {url}{extra}" if url else ""
    return FileNotFoundError(
        f"{what} not found. Looked at:\n  {looked}\n"
        f"Point data_home=... or the {DATA_HOME_ENV} environment variable at a folder "
        f"holding {holding}{fetch}.")


def _dedupe(paths):
    seen, out = set(), []
    for path in paths:
        if path not in seen:
            seen.add(path)
            out.append(path)
    return out


def _md5(path):
    digest = hashlib.md5()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _download(url, dest, md5=None, timeout=60.0):
    """Download ``url`` to ``dest`` atomically, checking ``md5`` when given.

    The body is streamed into a temporary file next to ``dest`` which is renamed
    onto ``dest`` only once complete and verified; on any failure the temporary
    file is removed and ``dest`` is left untouched.

    Returns the md5 hex digest of the downloaded file.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        digest = hashlib.md5()
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
                for chunk in iter(lambda: resp.read(_CHUNK), b""):
                    digest.update(chunk)
                    out.write(chunk)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise OSError(
                f"Could not download {url} to {dest}: {exc}. Check the network connection, "
                f"or download the file and place it manually at {dest}."
            ) from exc
        actual = digest.hexdigest()
        if md5 is not None and actual.lower() != md5.lower():
            raise _ChecksumError(
                f"Checksum mismatch for {url}: expected md5 {md5}, got {actual}. "
                "The download was discarded."
            )
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return actual


def _strip_csv_suffix(filename):
    lower = filename.lower()
    for suffix in (".csv.gz", ".csv"):
        if lower.endswith(suffix):
            return filename[: -len(suffix)]
    return filename


def _read_forecasting_frame(path, *, name, date_column="date"):
    """Read a ``date,<numeric columns...>`` CSV (optionally gzipped) into a DataFrame.

    The result is indexed by a DatetimeIndex named ``"date"``, holds float64
    columns in file order and has ``attrs["name"] = name``.
    """
    df = pd.read_csv(path)
    if date_column not in df.columns:
        raise ValueError(
            f"{path}: date_column={date_column!r} is not a column of the file; "
            f"its columns are {list(df.columns)}."
        )
    try:
        index = pd.DatetimeIndex(pd.to_datetime(df[date_column]), name="date").as_unit("ns")
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"{path}: the date column {date_column!r} could not be parsed as dates: {exc}"
        ) from exc
    data = df.drop(columns=[date_column])
    if data.shape[1] == 0:
        raise ValueError(f"{path}: no data columns besides the date column {date_column!r}.")
    for column in data.columns:
        if not pd.api.types.is_numeric_dtype(data[column]):
            raise ValueError(
                f"{path}: column {column!r} is not numeric (dtype {data[column].dtype}); "
                "every column except the date column must hold numbers."
            )
    out = pd.DataFrame(data.to_numpy(dtype=np.float64), index=index, columns=data.columns)
    out.attrs["name"] = name
    return out


def load_forecasting_csv(path_or_name, *, data_home=None, date_column="date"):
    """Load a forecasting CSV: a date column followed by numeric columns.

    This reads the "custom" format of the long-horizon forecasting benchmarks
    (Electricity, Traffic, Weather, ... as distributed with the Autoformer and
    Time-Series-Library collections): a ``date`` column, then one column per
    channel with the target column last. Gzipped files are read transparently.

    Parameters
    ----------
    path_or_name : str or os.PathLike
        Either a path to a ``.csv`` / ``.csv.gz`` file, or a bare dataset name
        such as ``"electricity"``, looked up in the data home as
        ``NAME.csv.gz``, ``NAME.csv``, ``custom/NAME.csv.gz`` and
        ``custom/NAME.csv`` (then the same with the lowercased name).
    data_home : str or os.PathLike, default=None
        Where bare names are looked up; see :func:`get_data_home`.
    date_column : str, default="date"
        Name of the column holding the timestamps.

    Returns
    -------
    frame : pandas.DataFrame of shape (n_timesteps, n_channels)
        float64 columns in file order, indexed by a DatetimeIndex named
        ``"date"``; ``frame.attrs["name"]`` holds the dataset name (the file
        name without ``.csv``/``.csv.gz`` when a path is given).

    Raises
    ------
    FileNotFoundError
        When no file is found; the message lists every path looked at.
    ValueError
        When the date column is missing or unparsable, or a data column is not
        numeric (the column is named).

    Examples
    --------
    >>> import os, tempfile
    >>> from skdd.datasets import load_forecasting_csv
    >>> folder = tempfile.mkdtemp()
    >>> path = os.path.join(folder, "toy.csv")
    >>> with open(path, "w") as fh:
    ...     _ = fh.write("date,a,OT\\n2020-01-01 00:00:00,1,2\\n2020-01-01 01:00:00,3,4\\n")
    >>> df = load_forecasting_csv(path)
    >>> df.shape, list(df.columns), df.attrs["name"]
    ((2, 2), ['a', 'OT'], 'toy')
    >>> df2 = load_forecasting_csv("toy", data_home=folder)
    >>> bool((df2 == df).all().all())
    True
    """
    raw = os.fspath(path_or_name)
    if not isinstance(raw, str):
        raw = os.fsdecode(raw)
    looks_like_path = (
        isinstance(path_or_name, os.PathLike)
        or os.sep in raw
        or (os.altsep is not None and os.altsep in raw)
        or raw.lower().endswith((".csv", ".csv.gz"))
    )
    if looks_like_path:
        path = Path(raw).expanduser()
        if not path.is_file():
            raise FileNotFoundError(
                f"Forecasting CSV not found. Looked at:\n  {path}\n"
                "Pass the path to an existing .csv or .csv.gz file, or a bare dataset "
                "name to look it up in the data home."
            )
        return _read_forecasting_frame(
            path, name=_strip_csv_suffix(path.name), date_column=date_column
        )

    if not raw:
        raise ValueError("path_or_name must be a non-empty path or dataset name.")
    home = get_data_home(data_home)
    names = _dedupe([raw, raw.lower()])
    candidates = _dedupe(
        [
            home / sub / f"{nm}{ext}"
            for nm in names
            for sub in ("", "custom")
            for ext in (".csv.gz", ".csv")
        ]
    )
    path = _first_existing(candidates)
    if path is None:
        looked = "\n  ".join(str(p) for p in candidates)
        raise FileNotFoundError(
            f"No CSV found for dataset {raw!r} in the data home {home}. Looked at:\n  "
            f"{looked}\nPlace the file (e.g. from the Autoformer / Time-Series-Library "
            f"dataset collections) at one of these paths, pass data_home=..., set the "
            f"{DATA_HOME_ENV} environment variable, or pass a path to the file."
        )
    return _read_forecasting_frame(path, name=raw, date_column=date_column)
