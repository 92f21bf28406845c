"""The contract of classification distillers: labelled samples in, a labelled synthetic set out.

``fit(X, y)`` takes

- images ``(n, C, H, W)``, series ``(n, C, T)``, or a plain 2-D table ``(n, d)`` (read as
  ``n`` one-channel series of length ``d``, so scikit-learn's tools and checks work);
- labels of any type (strings included): they are encoded to ``0..K-1`` internally
  (``classes_``) and come back in the original label space.

``fit_resample(X, y)`` returns ``(X_syn, y_syn)`` with ``X_syn`` of the input's number of
dimensions (the imbalanced-learn sampler protocol); a DataFrame ``X`` gives a DataFrame with
its columns, a Series ``y`` a Series with its name (:class:`skdd.base.LabelledSamplerMixin`). Optimising distillers standardise
every channel internally with the training set's mean and standard deviation (learning
rates then mean the same on any scale) and map the synthetic samples back; a channel too
close to constant for float32 to standardise (:func:`skdd.utils.channel_scaling`) is held
at its mean in the synthetic samples. ``X`` must be finite and within float32's range;
``y`` must hold class labels (continuous floats are rejected as scikit-learn's
classifiers reject them: "Unknown label type: continuous").
"""
from __future__ import annotations

import numpy as np
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import validate_data

from ..base import BaseDistiller, LabelledSamplerMixin
from ..utils import channel_scaling, check_float32_range, check_positive_int

__all__ = ["BaseClassDistiller"]


class BaseClassDistiller(LabelledSamplerMixin, BaseDistiller):
    """Base class of classification distillers (not used directly).

    Subclasses have the parameter ``ipc`` (the budget, in real-size samples per class)
    and implement ``_fit(data, device)`` where ``data`` is a dict with ``X`` (float32
    ndarray ``(n, C, *spatial)``), ``y`` (int64 codes ``0..K-1``) and ``n_classes``; they
    set ``X_syn_`` in that layout and ``y_syn_`` as codes, which :meth:`fit` maps back.

    Fitted attributes: ``X_syn_`` (ndarray, the input's number of dimensions, float32),
    ``y_syn_`` (labels in the original label space), ``classes_``, ``n_features_in_``,
    ``feature_names_in_`` (DataFrame input), ``sample_shape_`` (``(C, *spatial)`` of one
    sample as the methods see it), plus those of :class:`skdd.base.BaseDistiller`.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags

    def _min_per_class(self):
        """Fewest real samples a class needs (default: ``ipc``)."""
        return check_positive_int(self.ipc, "ipc")

    def _validate_fit_input(self, X, y):
        self._check_params()
        ndim = X.ndim if hasattr(X, "ndim") else np.ndim(X)
        if ndim not in (2, 3, 4):
            raise ValueError(
                f"X must be a 2-D table (n_samples, n_features), 3-D series (n, C, T) or 4-D "
                f"images (n, C, H, W), got {ndim}-D input of shape {np.shape(X)}.")
        X, y = validate_data(self, X, y, reset=True, dtype=[np.float64, np.float32],
                             ensure_all_finite=True, allow_nd=True, ensure_min_samples=1,
                             y_numeric=False)
        check_classification_targets(y)
        check_float32_range(X, "X")
        encoder = LabelEncoder().fit(y)
        self.classes_ = encoder.classes_
        codes = encoder.transform(y).astype(np.int64)
        if len(self.classes_) < 2:
            raise ValueError(
                f"y holds one class ({self.classes_[0]!r}); distillation needs at least two "
                "classes.")
        self._input_ndim = X.ndim
        X = np.ascontiguousarray(X, dtype=np.float32)
        if X.ndim == 2:
            X = X[:, None, :]
        counts = np.bincount(codes, minlength=len(self.classes_))
        needed = self._min_per_class()
        if counts.min() < needed:
            small = self.classes_[int(np.argmin(counts))]
            raise ValueError(
                f"class {small!r} has {int(counts.min())} samples, fewer than the budget "
                f"ipc={self.ipc} needs ({needed} per class); lower ipc.")
        self.sample_shape_ = tuple(int(s) for s in X.shape[1:])
        return {"X": X, "y": codes, "n_classes": len(self.classes_)}

    def _check_params(self):
        """Validate the parameters (subclasses extend); called first in fit."""
        check_positive_int(self.ipc, "ipc")

    def fit(self, X, y=None):
        """Learn the synthetic set from labelled samples ``X`` and labels ``y``.

        Parameters
        ----------
        X : array-like of shape (n, d), (n, C, T) or (n, C, H, W)
        y : array-like of shape (n,)
            Class labels (at least two classes, each with at least the budget's samples).

        Returns
        -------
        self
        """
        super().fit(X, y)
        codes = self.y_syn_
        self.y_syn_ = self.classes_[codes]
        self.y_syn_codes_ = np.asarray(codes, dtype=np.int64)
        if self._input_ndim == 2:
            self.X_syn_ = self.X_syn_.reshape(self.X_syn_.shape[0], -1)
        return self

    def _distilled_arrays(self):
        return {"X_syn": self.X_syn_, "y_syn": self.y_syn_}

    def _distilled_metadata(self):
        return {"kind": "classification", "classes": [c.item() if hasattr(c, "item") else c
                                                       for c in self.classes_]}

    # -- helpers for optimising distillers ------------------------------------------
    def _resolve_net_depth(self, X):
        """``net_depth``, or for ``None`` the depth :func:`skdd.nn.convnet_depth` picks for
        samples like ``X`` ``(n, C, *size)``. Sets ``net_depth_``; the checkpoint
        fingerprint records the chosen depth (the value the default was before)."""
        from ..nn import convnet_depth

        if self.net_depth is None:
            depth = convnet_depth(tuple(X.shape[2:]))
        else:
            depth = check_positive_int(self.net_depth, "net_depth")
        self.net_depth_ = depth
        self._fingerprint_resolved = {"net_depth": depth}
        return depth

    @staticmethod
    def _standardize(X):
        """Per-channel standardisation of ``(n, C, ...)`` samples; constant channels
        (:func:`skdd.utils.channel_scaling`) are only centred. Returns the scaled float32
        array and ``(mean, scale, constant)`` (shapes ``(C, 1, ...)``)."""
        mean, scale, constant = channel_scaling(X, axes=(0, *range(2, X.ndim)))
        return ((X - mean) / scale).astype(np.float32), (mean[0], scale[0], constant[0])

    @staticmethod
    def _unstandardize(X, stats):
        """Back to the data's units; constant channels are held at their mean."""
        mean, scale, constant = stats
        return np.where(constant, mean, X * scale + mean).astype(np.float32)

    def _real_array(self, data):
        return data["X"]
