"""Meta-estimators that train a scikit-learn model on a distilled set and predict on real data.

:class:`DistilledClassifier` and :class:`DistilledRegressor` are the "train on distilled,
score on real" protocol as ordinary scikit-learn estimators: ``fit`` distils the training
data with a clone of ``distiller`` and fits a clone of ``estimator`` on the synthetic set
only; ``predict``, ``score`` and friends go to that estimator on real data. They sit in
pipelines, cross-validation and grid searches like any estimator (cross-validation
distils each training fold separately, so no test row ever reaches the distiller), and
``memory=`` caches the distillation so that a grid over ``estimator__*`` distils once per
fold.

:class:`RandomSubsetDistiller` is the regression counterpart of the random baselines: a
uniform random subset of the rows.

The same distillers also work as samplers in :class:`imblearn.pipeline.Pipeline` (their
``fit_resample`` runs at fit time only); see the compatibility page of the documentation.
"""
from __future__ import annotations

import numbers

import numpy as np
import torch
from sklearn.base import (BaseEstimator, ClassifierMixin, MetaEstimatorMixin, RegressorMixin,
                          clone)
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, check_memory, validate_data

from .base import BaseDistiller, BaseForecastDistiller, LabelledSamplerMixin
from .utils import check_positive_int

__all__ = ["DistilledClassifier", "DistilledRegressor", "RandomSubsetDistiller"]


def _fit_resample_one(distiller, X, y):
    """Fit ``distiller`` on (X, y) and return ``(X_syn, y_syn, fitted distiller)``.

    Module-level so that :class:`joblib.Memory` can cache it.
    """
    out = distiller.fit_resample(X, y)
    if not (isinstance(out, tuple) and len(out) == 2):
        raise _unlabelled(distiller, f"returned {type(out).__name__} from fit_resample")
    X_syn, y_syn = out
    return X_syn, y_syn, distiller


def _unlabelled(distiller, what):
    return ValueError(
        f"distiller={type(distiller).__name__} {what}; a labelled distiller returning "
        "(X_syn, y_syn) is needed. Forecasting distillers (one series in, one series out) "
        "go into skdd.sktime.DistilledForecaster instead.")


def _estimator_has(attr):
    """``available_if`` check: the (fitted, else unfitted) estimator has ``attr``."""

    def check(self):
        est = self.estimator_ if hasattr(self, "estimator_") else self.estimator
        getattr(est, attr)
        return True

    return check


class _BaseDistilledEstimator(MetaEstimatorMixin, BaseEstimator):
    """Shared fit/predict logic of :class:`DistilledClassifier` and :class:`DistilledRegressor`."""

    def __init__(self, distiller, estimator, memory=None):
        self.distiller = distiller
        self.estimator = estimator
        self.memory = memory

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False
        tags.target_tags.required = True
        return tags

    def _validate_components(self):
        for name, method in (("distiller", "fit_resample"), ("estimator", "fit")):
            if not hasattr(getattr(self, name), method):
                raise ValueError(f"{name}={getattr(self, name)!r} has no {method} method.")
        if isinstance(self.distiller, BaseForecastDistiller):  # refused before any fit
            raise _unlabelled(self.distiller, "is a forecasting distiller")
        return check_memory(self.memory)

    def _check_targets(self, y):  # pragma: no cover - abstract
        raise NotImplementedError

    def fit(self, X, y):
        """Distil ``(X, y)``, then fit a clone of ``estimator`` on the synthetic set only.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, C, ...)
            Training data: tabular rows, series ``(n, C, T)`` or images ``(n, C, H, W)``.
        y : array-like of shape (n_samples,) (or (n_samples, n_targets) for regression)

        Returns
        -------
        self
        """
        memory = self._validate_components()
        X, y = validate_data(self, X, y, allow_nd=True, **self._target_validation)
        self._check_targets(y)
        distil = memory.cache(_fit_resample_one)
        X_syn, y_syn, self.distiller_ = distil(clone(self.distiller), X, y)
        self._check_synthetic(np.asarray(y_syn))
        self.estimator_ = clone(self.estimator).fit(X_syn, y_syn)
        return self

    def _check_synthetic(self, y_syn):
        """Hook run on the distilled labels/targets before the estimator is fitted."""

    def _validate_predict(self, X):
        check_is_fitted(self)
        return validate_data(self, X, reset=False, allow_nd=True)

    def predict(self, X):
        """Predict real data with the estimator trained on the distilled set.

        Parameters
        ----------
        X : array-like, the same layout as in ``fit``

        Returns
        -------
        y_pred : ndarray
        """
        X = self._validate_predict(X)
        return self.estimator_.predict(X)

    @property
    def n_synthetic_(self):
        """Number of samples in the distilled set the estimator was trained on."""
        check_is_fitted(self)
        return int(np.shape(self.distiller_.X_syn_)[0])


class DistilledClassifier(ClassifierMixin, _BaseDistilledEstimator):
    """A classifier trained on a distilled set and applied to real data.

    ``fit`` fits a clone of ``distiller`` on the training data only (the training fold in
    cross-validation) and trains a clone of ``estimator`` on its synthetic set
    ``(X_syn, y_syn)``; the estimator never sees a real training row. ``predict``,
    ``predict_proba``, ``decision_function`` and ``score`` delegate to that estimator on
    real data, so ``score`` is the accuracy of "train on distilled, test on real".

    Parameters
    ----------
    distiller : labelled skdd distiller
        Anything with ``fit_resample(X, y) -> (X_syn, y_syn)`` that returns every class
        of ``y``, e.g. :class:`skdd.classification.RandomPerClassDistiller`.
    estimator : scikit-learn classifier
        Trained on the synthetic set (a skorch net from :mod:`skdd.skorch` works too).
    memory : None, str or joblib.Memory, default=None
        Caches the distillation (keyed on the distiller's parameters and the training
        data), so refitting with other ``estimator__*`` parameters, e.g. in a grid
        search, does not distil again. A string is a cache folder.

    Attributes
    ----------
    distiller_ : fitted distiller
        Holds the synthetic set (``distiller_.X_syn_``, ``distiller_.y_syn_``) and the
        distiller's diagnostics (``loss_curve_`` ...).
    estimator_ : fitted estimator
    classes_ : ndarray of shape (n_classes,)
        The classes of the real training labels.
    n_features_in_ : int
        ``X.shape[1]`` (features, or channels for series and images).
    feature_names_in_ : ndarray of str
        Column names (DataFrame input only).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skdd import DistilledClassifier
    >>> from skdd.classification import RandomPerClassDistiller
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = DistilledClassifier(RandomPerClassDistiller(ipc=5, random_state=0),
    ...                           LogisticRegression()).fit(X, y)
    >>> clf.n_synthetic_, clf.classes_.tolist()
    (15, [0, 1, 2])
    >>> bool(clf.score(X, y) > 0.8)  # trained on 15 rows, scored on all 150
    True
    """

    _target_validation = {"multi_output": False}

    def _check_targets(self, y):
        check_classification_targets(y)
        self.classes_ = np.unique(y)

    def _check_synthetic(self, y_syn):
        missing = np.setdiff1d(self.classes_, np.unique(y_syn))
        if missing.size:
            raise ValueError(
                f"the distilled set of distiller={type(self.distiller).__name__} lacks the "
                f"classes {missing.tolist()} of y; DistilledClassifier needs every class in "
                "the synthetic set (use a per-class distiller or a larger budget).")

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities of real data (columns in the order of ``classes_``)."""
        X = self._validate_predict(X)
        return self.estimator_.predict_proba(X)

    @available_if(_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X):
        """Log class probabilities of real data."""
        X = self._validate_predict(X)
        return self.estimator_.predict_log_proba(X)

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X):
        """Decision function of the estimator on real data."""
        X = self._validate_predict(X)
        return self.estimator_.decision_function(X)


class DistilledRegressor(RegressorMixin, _BaseDistilledEstimator):
    """A regressor trained on a distilled set and applied to real data.

    The regression counterpart of :class:`DistilledClassifier`: ``fit`` distils the
    training data with a clone of ``distiller`` and fits a clone of ``estimator`` on
    ``(X_syn, y_syn)`` only; ``predict`` and ``score`` (R²) run on real data.

    Parameters
    ----------
    distiller : distiller with ``fit_resample(X, y) -> (X_syn, y_syn)``
        E.g. :class:`RandomSubsetDistiller`.
    estimator : scikit-learn regressor
    memory : None, str or joblib.Memory, default=None
        Caches the distillation (see :class:`DistilledClassifier`).

    Attributes
    ----------
    distiller_ : fitted distiller
    estimator_ : fitted estimator
    n_features_in_ : int
    feature_names_in_ : ndarray of str (DataFrame input only)

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.linear_model import Ridge
    >>> from skdd import DistilledRegressor
    >>> from skdd.compose import RandomSubsetDistiller
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = DistilledRegressor(RandomSubsetDistiller(n_samples=100, random_state=0),
    ...                          Ridge(alpha=0.1)).fit(X, y)
    >>> reg.n_synthetic_
    100
    >>> bool(reg.score(X, y) > 0.4)  # R² on all 442 rows
    True
    """

    _target_validation = {"multi_output": True, "y_numeric": True}

    def _check_targets(self, y):
        pass

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags


class RandomSubsetDistiller(LabelledSamplerMixin, BaseDistiller):
    """A uniform random subset of ``n_samples`` rows: the baseline for regression.

    The regression counterpart of the random baselines (Random for forecasting and
    classification): the synthetic set is ``(X[idx], y[idx])`` for ``n_samples`` row
    indices drawn uniformly without replacement (kept in their original order). It works
    on any labels and any ``X`` with samples along the first axis; the rows keep their
    dtype (float64 values beyond float32's range are copied as they are).

    Parameters
    ----------
    n_samples : int or float, default=10
        Rows in the distilled set: an int is a count (at most the number of training
        rows), a float in (0, 1] a fraction of the training rows (at least one row).
    random_state : int, Generator or None, default=None

    Attributes
    ----------
    X_syn_ : ndarray of shape (n_rows, ...)
    y_syn_ : ndarray of shape (n_rows,) or (n_rows, n_targets)
    indices_ : ndarray of shape (n_rows,)
        Rows of the training data that were kept.
    loss_curve_ : ndarray of shape (0,)
    n_iter_ : int
        Always 0.
    seed_ : int
    device_ : str
        Always "cpu".
    n_features_in_ : int
    feature_names_in_ : ndarray of str (DataFrame input only)

    Examples
    --------
    >>> import numpy as np
    >>> from skdd.compose import RandomSubsetDistiller
    >>> X, y = np.arange(20.0).reshape(10, 2), np.arange(10.0)
    >>> X_syn, y_syn = RandomSubsetDistiller(n_samples=3, random_state=0).fit_resample(X, y)
    >>> X_syn.shape, y_syn.shape
    ((3, 2), (3,))
    >>> bool((X_syn[:, 0] == 2 * y_syn).all())
    True
    """

    def __init__(self, n_samples=10, random_state=None):
        self.n_samples = n_samples
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.target_tags.multi_output = True
        return tags

    def _validate_fit_input(self, X, y):
        n = self.n_samples
        if isinstance(n, numbers.Real) and not isinstance(n, numbers.Integral):
            if not 0 < n <= 1:
                raise ValueError(f"n_samples={n!r} must be an int >= 1 or a float in (0, 1] "
                                 "(a fraction of the rows).")
        else:
            check_positive_int(n, "n_samples")
        X, y = validate_data(self, X, y, allow_nd=True, multi_output=True)
        if isinstance(n, numbers.Integral) and n > X.shape[0]:
            raise ValueError(f"n_samples={n} exceeds the rows of X (n_samples = {X.shape[0]}); "
                             "the subset is drawn without replacement.")
        return X, y

    def _fit(self, data, device):
        X, y = data
        n = self.n_samples
        if not isinstance(n, numbers.Integral):
            n = max(1, int(round(n * X.shape[0])))
        self.indices_ = torch.randperm(X.shape[0])[:n].sort().values.numpy()
        self.X_syn_ = X[self.indices_]
        self.y_syn_ = y[self.indices_]
        self.loss_curve_ = np.zeros(0)
        self.n_iter_ = 0

    def _distilled_arrays(self):
        return {"X_syn": self.X_syn_, "y_syn": self.y_syn_, "indices": self.indices_}

    def _distilled_metadata(self):
        return {"kind": "subset"}
