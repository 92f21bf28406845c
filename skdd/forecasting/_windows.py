"""The one window maker: (input, target) windows of a series, as views, never copies."""
from __future__ import annotations

import numpy as np
import torch

from ..utils import check_positive_int


def n_windows(n_timesteps, seq_len, pred_len, stride=1):
    """Number of windows ``make_windows`` yields for a series of ``n_timesteps`` steps."""
    span = seq_len + pred_len
    return 0 if n_timesteps < span else (n_timesteps - span) // stride + 1


def make_windows(series, seq_len, pred_len, stride=1):
    """Sliding (input, target) windows of a ``(T, C)`` series, as views of its memory.

    Parameters
    ----------
    series : ndarray or torch.Tensor of shape (T, C), or (B, T, C) for a batch of series
    seq_len : int
        Look-back length L.
    pred_len : int
        Horizon H.
    stride : int, default=1

    Returns
    -------
    X : view of shape (n_windows, seq_len, C) (``(B, n_windows, seq_len, C)`` for a batch)
    Y : view of shape (n_windows, pred_len, C) (``(B, n_windows, pred_len, C)``)
        ``n_windows = (T - L - H) // stride + 1``. NumPy input gives read-only
        ``sliding_window_view`` views; a tensor gives ``unfold`` views.

    Examples
    --------
    >>> import numpy as np
    >>> from skdd.forecasting import make_windows
    >>> X, Y = make_windows(np.arange(10.0)[:, None], seq_len=3, pred_len=2)
    >>> X.shape, Y.shape
    ((6, 3, 1), (6, 2, 1))
    >>> X[1, :, 0], Y[1, :, 0]
    (array([1., 2., 3.]), array([4., 5.]))
    """
    seq_len = check_positive_int(seq_len, "seq_len")
    pred_len = check_positive_int(pred_len, "pred_len")
    stride = check_positive_int(stride, "stride")
    if series.ndim not in (2, 3):
        raise ValueError(f"series must be 2-D (n_timesteps, n_channels) or 3-D (batch, "
                         f"n_timesteps, n_channels), got shape {tuple(series.shape)}.")
    span = seq_len + pred_len
    axis = series.ndim - 2
    if series.shape[axis] < span:
        raise ValueError(
            f"series has {series.shape[axis]} time steps, too short for one window of "
            f"seq_len + pred_len = {span}.")
    if isinstance(series, torch.Tensor):
        windows = series.unfold(axis, span, stride).transpose(-1, -2)  # (..., n, span, C)
    else:
        windows = np.lib.stride_tricks.sliding_window_view(series, span, axis=axis)
        windows = windows[..., ::stride, :, :].swapaxes(-1, -2)
    return windows[..., :seq_len, :], windows[..., seq_len:, :]


def sample_window_batches(series, seq_len, pred_len, n_batches, batch_size):
    """``n_batches`` random batches of (input, target) windows of a ``(T, C)`` tensor.

    A ``(B, T, C)`` tensor is a batch of series whose windows are pooled. Window starts
    are drawn uniformly with replacement from torch's global RNG; a batch never exceeds
    the number of windows. Gradients flow back to ``series``.

    Returns
    -------
    list of (X, Y) with shapes (b, seq_len, C) and (b, pred_len, C)
    """
    X, Y = make_windows(series, seq_len, pred_len)
    if X.ndim == 4:  # pool the windows of a batch of series (copies them once)
        X, Y = X.reshape(-1, *X.shape[2:]), Y.reshape(-1, *Y.shape[2:])
    size = min(int(batch_size), X.shape[0])
    idx = torch.randint(X.shape[0], (int(n_batches), size), device=series.device)
    return [(X[i], Y[i]) for i in idx]
