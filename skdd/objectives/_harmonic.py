"""Harmonic matching (HDT): compare the dominant frequencies of real and synthetic series."""
from __future__ import annotations

import torch


def top_k_harmonics(spectrum, k):
    """Boolean mask of the ``k`` frequencies of largest amplitude in each channel.

    Parameters
    ----------
    spectrum : complex tensor of shape (..., F, C)
        rfft along the frequency axis -2.
    k : int
        Harmonics kept per channel (ties broken by ``torch.topk``).

    Returns
    -------
    mask : bool tensor of the spectrum's shape

    Examples
    --------
    >>> import torch
    >>> from skdd.objectives import top_k_harmonics
    >>> t = torch.arange(96.0)
    >>> x = torch.sin(2 * torch.pi * t / 24)[:, None] + 0.3 * torch.sin(2 * torch.pi * t / 8)[:, None]
    >>> mask = top_k_harmonics(torch.fft.rfft(x, dim=0), 2)
    >>> torch.nonzero(mask[:, 0]).flatten().tolist()
    [4, 12]
    """
    n_freq = spectrum.shape[-2]
    if not 1 <= k <= n_freq:
        raise ValueError(f"n_harmonics={k} must be between 1 and {n_freq} (the number of "
                         "rfft frequencies).")
    amplitude = spectrum.abs()
    idx = torch.topk(amplitude, k, dim=-2).indices
    mask = torch.zeros(amplitude.shape, dtype=torch.bool, device=amplitude.device)
    return mask.scatter(-2, idx, True)


def harmonic_filter(spectrum, mask, length, norm="backward"):
    """Zero the frequencies outside ``mask`` and return to the time domain (length ``length``).

    ``norm`` is the normalisation the spectrum was computed with (as in :func:`torch.fft.rfft`).
    """
    return torch.fft.irfft(spectrum * mask, n=length, dim=-2, norm=norm)


def harmonic_loss(real_spectrum, synthetic_spectrum, mask, p=2):
    """``‖ |F̃_X| − |F̃_S| ‖_p`` over the harmonics in ``mask`` (amplitudes only).

    With several real subsequences (a leading batch axis on ``real_spectrum`` and
    ``mask``), the norm is averaged over them.
    """
    if p <= 0:
        raise ValueError(f"p must be positive, got {p}.")
    diff = (real_spectrum.abs() - synthetic_spectrum.abs()) * mask
    # vector_norm has a zero (sub)gradient at a perfect match, where |x|^p^(1/p) gives NaN
    return torch.linalg.vector_norm(diff, ord=p, dim=(-2, -1)).mean()


def subsequences(series, starts, length):
    """The length-``length`` subsequences of a ``(T, C)`` series starting at ``starts``.

    Returns a tensor of shape ``(len(starts), length, C)`` (HDT's real subsequences).

    Examples
    --------
    >>> import torch
    >>> from skdd.objectives import subsequences
    >>> subsequences(torch.arange(10.0)[:, None], torch.tensor([0, 5]), 3)[:, :, 0].tolist()
    [[0.0, 1.0, 2.0], [5.0, 6.0, 7.0]]
    """
    starts = torch.as_tensor(starts, device=series.device).long()
    return series[starts[:, None] + torch.arange(int(length), device=series.device)]


def mean_amplitude_spectrum(series, length, max_subsequences=256):
    """Mean rfft amplitude of a series' length-``length`` subsequences, per channel.

    The subsequences start at evenly spaced positions (at most ``max_subsequences`` of
    them; no randomness). Each channel's amplitudes are divided by their root mean square
    over the frequencies, and floored at 1e-3 of that, so the result is positive and of
    order one: a per-frequency scale for :class:`skdd.parametrization.FourierDomain`.

    Parameters
    ----------
    series : tensor of shape (T, C)
    length : int
        Subsequence length M (``<= T``).
    max_subsequences : int, default=256

    Returns
    -------
    tensor of shape (length // 2 + 1, C)

    Examples
    --------
    >>> import torch
    >>> from skdd.objectives import mean_amplitude_spectrum
    >>> t = torch.arange(480.0)
    >>> x = torch.sin(2 * torch.pi * t / 24)[:, None] + 0.01 * torch.randn(480, 1)
    >>> int(mean_amplitude_spectrum(x, 96)[:, 0].argmax())   # 96 / 24 = frequency 4
    4
    """
    series = torch.as_tensor(series)
    if series.ndim != 2:
        raise ValueError(f"series must be 2-D (T, C), got shape {tuple(series.shape)}.")
    n_starts = series.shape[0] - int(length) + 1
    if n_starts < 1:
        raise ValueError(f"the series ({series.shape[0]} steps) is shorter than length={length}.")
    starts = torch.linspace(0, n_starts - 1, min(int(max_subsequences), n_starts),
                            device=series.device).round().long()
    windows = subsequences(series, starts, length)
    amplitude = torch.fft.rfft(windows, dim=1).abs().mean(0)
    rms = amplitude.pow(2).mean(0, keepdim=True).sqrt().clamp_min(1e-12)
    return (amplitude / rms).clamp_min(1e-3)
