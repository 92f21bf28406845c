"""Labelled classification data: MNIST (IDX files), UCR/UEA sets bundled with sktime, digits.

Every loader returns ``X_train, X_test, y_train, y_test`` with ``X`` float32 of shape
``(n, C, H, W)`` (images) or ``(n, C, T)`` (series) and ``y`` int64 labels ``0..K-1``, the
layout the classification protocol (:mod:`skdd.classification`) and the classification
distillers expect.
"""
from __future__ import annotations

import gzip
import os
import zlib

import numpy as np

from ._base import _dedupe, _download, _first_existing, _not_found, get_data_home

__all__ = [
    "load_mnist",
    "load_ucr",
    "load_digits_images",
    "read_idx",
    "MNIST_BASE_URL",
    "MNIST_FILES",
    "UCR_BUNDLED_NAMES",
]

#: Where ``load_mnist(download=True)`` fetches the official test files (a public mirror of
#: the files first published by Y. LeCun and C. Cortes).
MNIST_BASE_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"

#: The two MNIST files skdd uses and the md5 of the gzipped files.
MNIST_FILES = {
    "images": ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
    "labels": ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
}

#: Classification sets shipped inside the sktime package (no network needed).
UCR_BUNDLED_NAMES = (
    "ACSF1",
    "ArrowHead",
    "BasicMotions",
    "GunPoint",
    "ItalyPowerDemand",
    "JapaneseVowels",
    "OSULeaf",
    "PLAID",
    "UnitTest",
)

# IDX element types: code -> (numpy dtype, big-endian)
_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


# ----------------------------------------------------------------------------------
# IDX files
def read_idx(path, *, expected_ndim=None):
    """Read an IDX file (the MNIST format), gzipped or not, into a NumPy array.

    The header is checked: two zero bytes, a known element type, the number of
    dimensions, then one big-endian 32-bit size per dimension; the payload must hold
    exactly the announced number of elements.

    Parameters
    ----------
    path : str or os.PathLike
        The file; a name ending in ``.gz`` is decompressed.
    expected_ndim : int, optional
        Raise if the file announces another number of dimensions (3 for image files,
        1 for label files).

    Returns
    -------
    array : ndarray
        In the file's element type (native byte order) and announced shape.

    Raises
    ------
    ValueError
        If the file is corrupt: not gzip data although named ``.gz``, a wrong magic
        number, a wrong number of dimensions, or a truncated/oversized payload. The
        message names the file.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from skdd.datasets import read_idx
    >>> path = os.path.join(tempfile.mkdtemp(), "toy-idx1-ubyte")
    >>> with open(path, "wb") as fh:
    ...     _ = fh.write(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9]))
    >>> read_idx(path, expected_ndim=1)
    array([7, 8, 9], dtype=uint8)
    """
    path = os.fspath(path)
    try:
        if str(path).endswith(".gz"):
            with gzip.open(path, "rb") as fh:
                raw = fh.read()
        else:
            with open(path, "rb") as fh:
                raw = fh.read()
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise ValueError(f"{path} is corrupt: it is not a readable gzip file ({exc}). "
                         "Delete it and obtain the file again.") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{path} is corrupt or not an IDX file: bad magic number "
                         f"{raw[:4].hex() or '(empty file)'}. Delete it and obtain the file "
                         "again.")
    dtype, ndim = _IDX_DTYPES[raw[2]], raw[3]
    if expected_ndim is not None and ndim != expected_ndim:
        raise ValueError(f"{path} is corrupt or the wrong file: its IDX header announces "
                         f"{ndim} dimensions, expected {expected_ndim}.")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path} is corrupt: the file ends inside its IDX header.")
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(f"{path} is corrupt: the header announces shape {shape} "
                         f"({expected} bytes of data) but the file holds {len(raw) - header}.")
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="), copy=True)


def _mnist_candidates(home, filename):
    plain = filename[:-3]
    return _dedupe([home / "mnist" / filename, home / "mnist" / plain,
                    home / filename, home / plain])


def load_mnist(*, data_home=None, test_size=2000, random_state=0, download=False):
    """Load MNIST's official 10k test set, split into train/test under the protocol.

    Only MNIST's official test files are used (``t10k-images-idx3-ubyte.gz`` and
    ``t10k-labels-idx1-ubyte.gz``); they are split with a fixed seed into 8000 training
    and 2000 test images, stratified by class (PROTOCOLS.md, classification).

    Parameters
    ----------
    data_home : str or os.PathLike, default=None
        Folder holding the data; see :func:`get_data_home`. Each file is looked up as
        ``mnist/NAME.gz``, ``mnist/NAME``, ``NAME.gz`` and ``NAME`` in that order.
    test_size : int or float, default=2000
        Test images (an int) or fraction (a float in (0, 1)), as in
        :func:`sklearn.model_selection.train_test_split`.
    random_state : int, default=0
        Seed of the stratified split.
    download : bool, default=False
        When a file is missing, download it from :data:`MNIST_BASE_URL` into
        ``<data_home>/mnist/`` and verify its md5 (:data:`MNIST_FILES`).

    Returns
    -------
    X_train, X_test : ndarray of shape (n, 1, 28, 28), float32 in [0, 1]
    y_train, y_test : ndarray of shape (n,), int64 in 0..9

    Raises
    ------
    FileNotFoundError
        If a file is missing and ``download=False``; the message lists every path
        looked at and how to obtain the files.
    ValueError
        If a file is corrupt, or images and labels disagree in number.

    Examples
    --------
    >>> from skdd.datasets import load_mnist
    >>> X_train, X_test, y_train, y_test = load_mnist()  # doctest: +SKIP
    >>> X_train.shape, X_test.shape  # doctest: +SKIP
    ((8000, 1, 28, 28), (2000, 1, 28, 28))
    """
    from sklearn.model_selection import train_test_split

    home = get_data_home(data_home)
    paths = {}
    for key, (filename, md5) in MNIST_FILES.items():
        candidates = _mnist_candidates(home, filename)
        path = _first_existing(candidates)
        if path is None:
            url = f"{MNIST_BASE_URL.rstrip('/')}/{filename}"
            if not download:
                raise _not_found(f"MNIST file {filename!r}", candidates, f"mnist/{filename}",
                                 url, extra=f" (md5 {md5})")
            path = home / "mnist" / filename
            _download(url, path, md5=md5)
        paths[key] = path
    images = read_idx(paths["images"], expected_ndim=3)
    labels = read_idx(paths["labels"], expected_ndim=1)
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"MNIST files disagree: {images.shape[0]} images in "
                         f"{paths['images']} but {labels.shape[0]} labels in {paths['labels']}.")
    if images.dtype != np.uint8 or labels.dtype != np.uint8 or labels.max(initial=0) > 9:
        raise ValueError(f"MNIST files {paths['images']} / {paths['labels']} do not hold "
                         "uint8 images and labels 0..9; they are not the MNIST files.")
    X = (images.astype(np.float32) / np.float32(255.0))[:, None]
    y = labels.astype(np.int64)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, random_state=random_state, stratify=y)
    return (np.ascontiguousarray(X_train), np.ascontiguousarray(X_test),
            np.ascontiguousarray(y_train), np.ascontiguousarray(y_test))


# ----------------------------------------------------------------------------------
# UCR / UEA sets bundled with sktime
def _canonical_ucr_name(name):
    if isinstance(name, str):
        for canonical in UCR_BUNDLED_NAMES:
            if name.lower() == canonical.lower():
                return canonical
    raise ValueError(f"name={name!r} is not a UCR/UEA set bundled with sktime; valid names "
                     f"are {list(UCR_BUNDLED_NAMES)}.")


def _nested_to_list(frame):
    """A sktime nested DataFrame (cells hold series) -> list of (C, T_i) float arrays."""
    cells = frame.to_numpy()
    out = []
    for row in cells:
        lengths = {len(cell) for cell in row}
        if len(lengths) != 1:
            raise ValueError("an instance has channels of different lengths; skdd needs "
                             "every channel of an instance to have the same length.")
        out.append(np.stack([np.asarray(cell, dtype=np.float64) for cell in row]))
    return out


def _class_order(labels):
    """Sorted unique labels; numerically when every label reads as a number."""
    unique = np.unique(labels.astype(str))
    try:
        keys = unique.astype(np.float64)
    except ValueError:
        return unique
    return unique[np.argsort(keys, kind="stable")]


def load_ucr(name, *, split=None, unequal_length="raise", return_classes=False):
    """Load a UCR/UEA classification set bundled with sktime, with its official split.

    No network is needed: the sets in :data:`UCR_BUNDLED_NAMES` ship inside the sktime
    package (``pip install skdd[sktime]``).

    Parameters
    ----------
    name : str
        One of :data:`UCR_BUNDLED_NAMES` (matched case-insensitively): ACSF1, ArrowHead,
        BasicMotions, GunPoint, ItalyPowerDemand, JapaneseVowels, OSULeaf, PLAID,
        UnitTest.
    split : {None, "train", "test"}, default=None
        None returns both official splits; "train" or "test" only that one.
    unequal_length : {"raise", "pad"}, default="raise"
        What to do with variable-length sets (JapaneseVowels, PLAID). "raise" refuses
        them with a ValueError; "pad" right-pads every series with zeros to the longest
        length found in *both* official splits (so train and test share ``T``, whichever
        ``split`` is asked for). Series are never truncated.
    return_classes : bool, default=False
        Also return the original class labels: ``classes[k]`` is the label (a string, as
        written in the data file) encoded as ``k``.

    Returns
    -------
    X_train, X_test, y_train, y_test
        When ``split=None``; ``X`` float32 of shape (n, C, T), ``y`` int64 in 0..K-1.
        Classes are ordered numerically when every label reads as a number ("1" < "2" <
        "10"), else lexicographically; the encoding is shared by both splits.
    X, y
        When ``split`` is "train" or "test".
    classes : ndarray of str
        Appended to the tuple when ``return_classes=True``.

    Raises
    ------
    ImportError
        If sktime is not installed.
    ValueError
        For an unknown ``name``, a bad ``split`` or ``unequal_length``, or a
        variable-length set with ``unequal_length="raise"``.

    Examples
    --------
    >>> from skdd.datasets import load_ucr
    >>> X_train, X_test, y_train, y_test = load_ucr("GunPoint")  # doctest: +SKIP
    >>> X_train.shape, X_test.shape, sorted(set(y_train))  # doctest: +SKIP
    ((50, 1, 150), (150, 1, 150), [0, 1])
    """
    canonical = _canonical_ucr_name(name)
    if split is not None and (not isinstance(split, str) or split.lower() not in ("train", "test")):
        raise ValueError(f"split={split!r} must be None, 'train' or 'test'.")
    if unequal_length not in ("raise", "pad"):
        raise ValueError(f"unequal_length={unequal_length!r} must be 'raise' or 'pad'.")
    try:
        from sktime.datasets import load_UCR_UEA_dataset
    except ImportError as exc:
        raise ImportError("load_ucr needs sktime, which ships the UCR/UEA sets: "
                          "pip install skdd[sktime]") from exc

    parts = {}
    for part in ("train", "test"):
        X, y = load_UCR_UEA_dataset(canonical, split=part, return_X_y=True,
                                    return_type="nested_univ")
        parts[part] = (_nested_to_list(X), np.asarray(y).astype(str))
    lengths = {x.shape[1] for part in parts.values() for x in part[0]}
    if len(lengths) > 1 and unequal_length == "raise":
        raise ValueError(f"{canonical} has series of unequal lengths ({min(lengths)} to "
                         f"{max(lengths)} time steps); pass unequal_length='pad' to right-pad "
                         "them with zeros to the longest length.")
    T = max(lengths)
    classes = _class_order(np.concatenate([parts["train"][1], parts["test"][1]]))
    code = {label: k for k, label in enumerate(classes)}
    out = {}
    for part, (series, labels) in parts.items():
        X = np.zeros((len(series), series[0].shape[0], T), dtype=np.float32)
        for i, x in enumerate(series):  # one copy per instance; lengths differ
            X[i, :, :x.shape[1]] = x
        if not np.isfinite(X).all():
            raise ValueError(f"{canonical} ({part}) contains missing or infinite values.")
        y = np.array([code[label] for label in labels], dtype=np.int64)
        out[part] = (X, y)
    if split is None:
        result = (out["train"][0], out["test"][0], out["train"][1], out["test"][1])
    else:
        result = out[split.lower()]
    return result + (classes,) if return_classes else result


# ----------------------------------------------------------------------------------
def load_digits_images(*, test_size=450, random_state=0):
    """scikit-learn's 8x8 digits as single-channel images, split with a fixed seed.

    A small real image set for fast tests: 1797 images, 10 classes, pixel values 0..16
    scaled to [0, 1]; split 1347/450, stratified.

    Parameters
    ----------
    test_size : int or float, default=450
        As in :func:`sklearn.model_selection.train_test_split`.
    random_state : int, default=0
        Seed of the stratified split.

    Returns
    -------
    X_train, X_test : ndarray of shape (n, 1, 8, 8), float32 in [0, 1]
    y_train, y_test : ndarray of shape (n,), int64 in 0..9

    Examples
    --------
    >>> from skdd.datasets import load_digits_images
    >>> X_train, X_test, y_train, y_test = load_digits_images()
    >>> X_train.shape, X_test.shape, y_train.dtype
    ((1347, 1, 8, 8), (450, 1, 8, 8), dtype('int64'))
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    X = (digits.images.astype(np.float32) / np.float32(16.0))[:, None]
    y = digits.target.astype(np.int64)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, random_state=random_state, stratify=y)
    return (np.ascontiguousarray(X_train), np.ascontiguousarray(X_test),
            np.ascontiguousarray(y_train), np.ascontiguousarray(y_test))
