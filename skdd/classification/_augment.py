"""Random, differentiable data augmentation shared by the recover step of CFM /
SRe²L-style distillation and by the classification trainer (``ClassificationRecipe.augment``)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..utils import check_option

__all__ = ["AUGMENTATIONS", "augment_samples"]

#: the augmentation modes of :func:`augment_samples`
AUGMENTATIONS = ("auto", "crop", "flip", "roll", "none")

# Random resized crops keep at least this fraction of an image's area (of a series'
# length); circular shifts of series move by at most this fraction of the length.
_MIN_CROP = 0.5
_MAX_SHIFT = 1 / 8


def _augment_mode(mode, ndim):
    """Resolve ``"auto"`` and refuse a mode that does not suit the data."""
    check_option(mode, "augment", AUGMENTATIONS)
    if mode == "auto":
        return "roll" if ndim == 3 else "crop"
    if mode == "flip" and ndim != 4:
        raise ValueError("augment='flip' (crops and horizontal flips) is for images "
                         "(n, C, H, W); use 'roll' or 'crop' for series.")
    if mode == "roll" and ndim != 3:
        raise ValueError("augment='roll' (crops and circular shifts) is for series (n, C, T); "
                         "use 'flip' or 'crop' for images.")
    return mode


def augment_samples(x, mode="auto"):
    """Random, differentiable augmentation of images ``(n, C, H, W)`` or series ``(n, C, T)``.

    - ``"crop"``: a random resized crop per sample (at least half of the image's area or
      of the series' length, resampled bilinearly to the original size);
    - ``"flip"`` (images): crops, and a horizontal flip with probability 1/2;
    - ``"roll"`` (series): crops, and a circular shift of up to an eighth of the length;
    - ``"auto"``: ``"roll"`` for series, ``"crop"`` for images (a flip does not preserve
      the class of digits and characters; choose ``"flip"`` for natural images);
    - ``"none"``: the input itself.

    Randomness comes from torch's global RNG.

    Examples
    --------
    >>> import torch
    >>> from skdd.classification import augment_samples
    >>> torch.manual_seed(0) and None
    >>> augment_samples(torch.randn(4, 3, 8, 8), "flip").shape
    torch.Size([4, 3, 8, 8])
    >>> augment_samples(torch.randn(4, 2, 30)).shape
    torch.Size([4, 2, 30])
    """
    mode = _augment_mode(mode, x.ndim)
    if mode == "none":
        return x
    n, device, dtype = x.shape[0], x.device, x.dtype
    series = x.ndim == 3
    frames = x.unsqueeze(2) if series else x
    size = torch.empty(n, device=device, dtype=dtype).uniform_(_MIN_CROP, 1.0)
    theta = torch.zeros(n, 2, 3, device=device, dtype=dtype)
    if series:
        theta[:, 1, 1] = 1.0
    else:
        size = size.sqrt()  # area fraction -> side fraction
        theta[:, 1, 1] = size
        theta[:, 1, 2] = (2 * torch.rand(n, device=device, dtype=dtype) - 1) * (1 - size)
    sign = torch.ones(n, device=device, dtype=dtype)
    if mode == "flip":
        sign = 2 * torch.randint(0, 2, (n,), device=device).to(dtype) - 1
    theta[:, 0, 0] = size * sign
    theta[:, 0, 2] = (2 * torch.rand(n, device=device, dtype=dtype) - 1) * (1 - size)
    grid = F.affine_grid(theta, list(frames.shape), align_corners=False)
    out = F.grid_sample(frames, grid, mode="bilinear", padding_mode="border",
                        align_corners=False)
    if not series:
        return out
    out = out.squeeze(2)
    length = out.shape[-1]
    max_shift = int(length * _MAX_SHIFT)
    if mode == "roll" and max_shift > 0:
        shift = torch.randint(-max_shift, max_shift + 1, (n, 1), device=device)
        index = (torch.arange(length, device=device) - shift) % length
        out = out.gather(-1, index[:, None, :].expand_as(out))
    return out
