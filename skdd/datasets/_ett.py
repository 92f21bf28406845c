"""The Electricity Transformer Temperature (ETT) benchmark datasets."""
from __future__ import annotations

import sys
import warnings

from ._base import (
    _dedupe,
    _download,
    _first_existing,
    _not_found,
    _read_forecasting_frame,
    get_data_home,
)

__all__ = ["load_ett", "ETT_BASE_URL", "ETT_MD5", "ETT_NAMES"]

#: Folder of the canonical ETT-small CSV files (``<BASE>NAME.csv``).
ETT_BASE_URL = "https://raw.githubusercontent.com/zhouhaoyi/ETDataset/main/ETT-small/"

#: md5 of the (decompressed) CSV files; None when not known.
ETT_MD5 = {
    "ETTh1": "8381763947c85f4be6ac456c508460d6",
    "ETTh2": "51a229a3fc13579dd939364fefe9c7ab",
    "ETTm1": None,
    "ETTm2": "7687e47825335860bf58bccb31be0c56",
}

#: Canonical dataset names accepted by :func:`load_ett`.
ETT_NAMES = ("ETTh1", "ETTh2", "ETTm1", "ETTm2")

_DEFAULTS = {"ETT_BASE_URL": ETT_BASE_URL, "ETT_MD5": ETT_MD5}


def _setting(attr):
    """Current value of a module-level setting, read at call time.

    Honours replacement of the setting on this module and, failing that, on the
    ``skdd.datasets`` package that re-exports it (e.g. by ``monkeypatch``).
    """
    value = globals()[attr]
    if value is not _DEFAULTS[attr]:
        return value
    package = sys.modules.get(__package__)
    if package is not None:
        return getattr(package, attr, value)
    return value


def _canonical_name(name):
    if isinstance(name, str):
        for canonical in ETT_NAMES:
            if name.lower() == canonical.lower():
                return canonical
    raise ValueError(f"name={name!r} is not an ETT dataset; valid names are {list(ETT_NAMES)}.")


def load_ett(name, *, data_home=None, download=False):
    """Load one of the ETT (Electricity Transformer Temperature) datasets.

    Parameters
    ----------
    name : {"ETTh1", "ETTh2", "ETTm1", "ETTm2"}
        Dataset name; matched case-insensitively.
    data_home : str or os.PathLike, default=None
        Folder holding the data; see :func:`get_data_home`. The files
        ``ett/NAME.csv.gz``, ``ett/NAME.csv``, ``NAME.csv.gz`` and ``NAME.csv``
        are tried in that order.
    download : bool, default=False
        When no local file exists, download ``NAME.csv`` from
        ``ETT_BASE_URL`` into ``<data_home>/ett/`` and verify its md5 against
        ``ETT_MD5`` (a UserWarning is issued when no checksum is known).

    Returns
    -------
    frame : pandas.DataFrame of shape (n_timesteps, 7)
        Columns ``HUFL, HULL, MUFL, MULL, LUFL, LULL, OT`` (float64, the target
        ``OT`` last), indexed by a DatetimeIndex named ``"date"``;
        ``frame.attrs["name"]`` is the canonical dataset name.

    Raises
    ------
    ValueError
        If ``name`` is not an ETT dataset.
    FileNotFoundError
        If no local file exists and ``download=False``; the message lists
        every path looked at and how to obtain the file.
    OSError
        If the download fails or its checksum does not match.

    Examples
    --------
    >>> from skdd.datasets import load_ett
    >>> df = load_ett("etth1")  # doctest: +SKIP
    >>> df.shape, df.attrs["name"]  # doctest: +SKIP
    ((17420, 7), 'ETTh1')
    """
    name = _canonical_name(name)
    home = get_data_home(data_home)
    candidates = _dedupe(
        [
            home / "ett" / f"{name}.csv.gz",
            home / "ett" / f"{name}.csv",
            home / f"{name}.csv.gz",
            home / f"{name}.csv",
        ]
    )
    path = _first_existing(candidates)
    base_url = _setting("ETT_BASE_URL")
    url = f"{base_url.rstrip('/')}/{name}.csv"
    if path is None:
        if not download:
            raise _not_found(f"ETT dataset {name!r}", candidates, f"ett/{name}.csv(.gz)", url)
        md5 = _setting("ETT_MD5").get(name)
        path = home / "ett" / f"{name}.csv"
        _download(url, path, md5=md5)
        if md5 is None:
            warnings.warn(
                f"No md5 is known for {name}; the file downloaded from {url} to {path} "
                "could not be verified.",
                UserWarning,
                stacklevel=2,
            )
    return _read_forecasting_frame(path, name=name, date_column="date")
