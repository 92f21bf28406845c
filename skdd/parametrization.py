"""Parametrizations: torch modules that own the learnable tensor and render the synthetic data.

A parametrization is orthogonal to the matching objective (FreD's observation): any
objective sees only ``module()`` — the rendered synthetic data — and gradients flow back to
whatever the module stores.
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["TimeDomain", "FourierDomain"]


class TimeDomain(nn.Module):
    """The synthetic data stored as is (the data domain).

    Parameters
    ----------
    init : tensor
        Initial synthetic data, any shape (copied).

    Examples
    --------
    >>> import torch
    >>> from skdd.parametrization import TimeDomain
    >>> p = TimeDomain(torch.zeros(8, 2))
    >>> p().shape
    torch.Size([8, 2])
    """

    def __init__(self, init):
        super().__init__()
        self.values = nn.Parameter(torch.as_tensor(init).detach().clone().float())

    def forward(self):
        return self.values

    @property
    def n_stored(self):
        """Number of stored floats."""
        return self.values.numel()


class FourierDomain(nn.Module):
    """A real series stored as its real FFT coefficients (HDT's parametrization).

    The learnable tensor holds the real and imaginary parts of ``rfft(series, dim=0)``;
    rendering is ``irfft`` with the original length, so every update of a coefficient moves
    the whole series. The round trip of :meth:`from_series` followed by ``forward`` is exact
    up to float rounding. Imaginary parts that must vanish for a real series (the DC term and,
    for even lengths, the Nyquist term) are ignored by ``irfft``.

    Parameters
    ----------
    length : int
        Series length M.
    coefficients : tensor of shape (M // 2 + 1, C, 2)
        Real and imaginary parts.

    Examples
    --------
    >>> import torch
    >>> from skdd.parametrization import FourierDomain
    >>> x = torch.randn(96, 3)
    >>> p = FourierDomain.from_series(x)
    >>> torch.allclose(p(), x, atol=1e-5)
    True
    """

    def __init__(self, length, coefficients):
        super().__init__()
        self.length = int(length)
        coefficients = torch.as_tensor(coefficients).detach().clone().float()
        if coefficients.ndim != 3 or coefficients.shape[0] != self.length // 2 + 1 \
                or coefficients.shape[-1] != 2:
            raise ValueError(f"coefficients must have shape ({self.length // 2 + 1}, C, 2), "
                             f"got {tuple(coefficients.shape)}.")
        self.coefficients = nn.Parameter(coefficients)

    @classmethod
    def from_series(cls, series):
        """Parametrize a ``(M, C)`` series by its rfft coefficients."""
        series = torch.as_tensor(series).detach().float()
        if series.ndim != 2:
            raise ValueError(f"series must be 2-D (M, C), got shape {tuple(series.shape)}.")
        spectrum = torch.fft.rfft(series, dim=0)
        return cls(series.shape[0], torch.view_as_real(spectrum))

    def spectrum(self):
        """The complex spectrum, shape (M // 2 + 1, C)."""
        return torch.view_as_complex(self.coefficients)

    def forward(self):
        return torch.fft.irfft(self.spectrum(), n=self.length, dim=0)

    @property
    def n_stored(self):
        """Number of stored floats."""
        return self.coefficients.numel()
