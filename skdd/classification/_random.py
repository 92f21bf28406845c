"""The random-selection reference distiller for classification."""
from __future__ import annotations

import numpy as np
import torch

from ..parametrization import class_balanced_choice
from ._base import BaseClassDistiller


class RandomPerClassDistiller(BaseClassDistiller):
    """``ipc`` real samples of every class drawn at random (the papers' "Random" row).

    Parameters
    ----------
    ipc : int, default=1
        Samples per class; every class needs at least ``ipc`` real samples.
    random_state : int, Generator or None, default=None
    device : str, default="auto"
        Unused (no optimisation), resolved for a uniform contract.

    Attributes
    ----------
    X_syn_ : ndarray of shape (ipc * n_classes, ...)
        The chosen samples, ordered by class, same number of dimensions as ``X``.
    y_syn_ : ndarray of shape (ipc * n_classes,)
    indices_ : ndarray of shape (ipc * n_classes,)
        Rows of ``X`` that were chosen.
    classes_ : ndarray
    loss_curve_ : ndarray of shape (0,)
    n_iter_ : int
        Always 0.

    Examples
    --------
    >>> from skdd.classification import RandomPerClassDistiller
    >>> from skdd.datasets import load_digits_images
    >>> X, _, y, _ = load_digits_images()
    >>> X_syn, y_syn = RandomPerClassDistiller(ipc=2, random_state=0).fit_resample(X, y)
    >>> X_syn.shape, y_syn[:4].tolist()
    ((20, 1, 8, 8), [0, 0, 1, 1])
    """

    def __init__(self, ipc=1, random_state=None, device="auto"):
        self.ipc = ipc
        self.random_state = random_state
        self.device = device

    def _fit(self, data, device):
        y = torch.as_tensor(data["y"])
        chosen = class_balanced_choice(y, self.ipc, data["n_classes"]).numpy()
        self.indices_ = chosen
        self.X_syn_ = data["X"][chosen].copy()
        self.y_syn_ = data["y"][chosen]
        self.loss_curve_ = np.zeros(0)
        self.n_iter_ = 0
