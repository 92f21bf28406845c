"""The random-segment reference distiller for forecasting."""
from __future__ import annotations

import numpy as np
import torch

from ..base import BaseForecastDistiller


class RandomSegmentDistiller(BaseForecastDistiller):
    """A random contiguous segment of the training series, all channels.

    The reference every forecasting distiller is measured against: the synthetic series
    is ``X[s:s + length]`` for a start ``s`` drawn uniformly from the valid starts.

    Parameters
    ----------
    length : int, default=384
        Length M of the synthetic series.
    seq_len : int, default=96
        Look-back of the windows the synthetic series is meant for.
    pred_len : int, default=96
        Horizon of those windows; ``length >= seq_len + pred_len`` is required.
    random_state : int, Generator or None, default=None
    device : str, default="auto"
        Unused by this method (no optimisation), resolved for a uniform contract.

    Attributes
    ----------
    X_syn_ : ndarray of shape (length, n_channels)
    start_ : int
        Row of the training series where the segment starts.
    loss_curve_ : ndarray of shape (0,)
    n_iter_ : int
        Always 0.
    device_ : str
    n_features_in_ : int
    feature_names_in_ : ndarray of str (DataFrame input only)

    Examples
    --------
    >>> from skdd import RandomSegmentDistiller
    >>> from skdd.datasets import make_seasonal_series
    >>> series = make_seasonal_series(1000, 3, random_state=0)
    >>> RandomSegmentDistiller(length=200, random_state=0).fit_resample(series).shape
    (200, 3)
    """

    def __init__(self, length=384, seq_len=96, pred_len=96, random_state=None, device="auto"):
        self.length = length
        self.seq_len = seq_len
        self.pred_len = pred_len
        self.random_state = random_state
        self.device = device

    def _fit(self, series, device):
        n_starts = series.shape[0] - self.length + 1
        self.start_ = int(torch.randint(n_starts, (1,)).item())
        self.X_syn_ = series[self.start_:self.start_ + self.length].copy()
        self.loss_curve_ = np.zeros(0)
        self.n_iter_ = 0
