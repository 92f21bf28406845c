"""Dataset loaders (ETT, forecasting CSVs) and synthetic series generators.

Real data is read from a data home (see :func:`get_data_home`): the
``data_home`` argument, else the ``SKDD_DATA_HOME`` environment variable, else
``~/.cache/skdd``. Nothing is downloaded unless ``download=True`` is passed.
"""
from ._base import get_data_home, load_forecasting_csv
from ._classification import (
    MNIST_BASE_URL,
    MNIST_FILES,
    UCR_BUNDLED_NAMES,
    load_digits_images,
    load_mnist,
    load_ucr,
    read_idx,
)
from ._ett import ETT_BASE_URL, ETT_MD5, ETT_NAMES, load_ett
from ._generators import make_seasonal_series

__all__ = [
    "get_data_home",
    "load_ett",
    "load_forecasting_csv",
    "make_seasonal_series",
    "ETT_BASE_URL",
    "ETT_MD5",
    "ETT_NAMES",
    "load_mnist",
    "load_ucr",
    "load_digits_images",
    "read_idx",
    "MNIST_BASE_URL",
    "MNIST_FILES",
    "UCR_BUNDLED_NAMES",
]
