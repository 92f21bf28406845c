"""The scikit-learn searches that train candidates on distilled folds."""
from __future__ import annotations

import time
from abc import abstractmethod

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone, is_classifier
from sklearn.model_selection import (GridSearchCV, ParameterGrid, ParameterSampler,
                                     RandomizedSearchCV, check_cv)
from sklearn.model_selection._search import BaseSearchCV
from sklearn.utils import get_tags, indexable
from sklearn.utils.validation import check_memory

from ..compose import _fit_resample_one

__all__ = ["DistilledGridSearchCV", "DistilledRandomizedSearchCV"]

_REFIT_OPTIONS = ("full", "distilled", False)


def _distil_timed(memory, distiller, X, y):
    """Distil ``(X, y)`` (through ``memory``); return ``(X_syn, y_syn, distiller, seconds)``.

    Module-level so that joblib can send it to worker processes.
    """
    start = time.perf_counter()
    X_syn, y_syn, fitted = memory.cache(_fit_resample_one)(distiller, X, y)
    return np.asarray(X_syn), np.asarray(y_syn), fitted, time.perf_counter() - start


def _check_search_components(estimator, distiller, refit, name="estimator"):
    """Clear errors for an estimator (parameter ``name``) without ``fit``, a distiller
    without ``fit_resample`` and an unknown ``refit``."""
    if not hasattr(estimator, "fit"):
        raise TypeError(f"{name}={estimator!r} has no fit method; pass a "
                        f"{'scikit-learn estimator' if name == 'estimator' else name}.")
    if not hasattr(distiller, "fit_resample"):
        raise TypeError(f"distiller={distiller!r} has no fit_resample method; pass a skdd "
                        "distiller (or any sampler with fit_resample(X, y) -> (X_syn, y_syn)).")
    if not (refit is False or (isinstance(refit, str) and refit in _REFIT_OPTIONS)):
        raise ValueError(f"refit={refit!r} is not one of 'full' (refit the best candidate on "
                         "all real training rows), 'distilled' (on a distillation of them) "
                         "or False.")


class _BaseDistilledSearch(BaseSearchCV):
    """Shared fit of the distilled searches (not used directly).

    Subclasses implement :meth:`_candidates` (the candidate list, for validation) and
    :meth:`_inner_search` (the scikit-learn search run over the stacked array).
    """

    def __init__(self, estimator, distiller, *, scoring=None, n_jobs=None, refit="full",
                 cv=5, verbose=0, pre_dispatch="2*n_jobs", error_score=np.nan,
                 return_train_score=False, memory=None, select=None):
        self.estimator = estimator
        self.distiller = distiller
        self.scoring = scoring
        self.n_jobs = n_jobs
        self.refit = refit
        self.cv = cv
        self.verbose = verbose
        self.pre_dispatch = pre_dispatch
        self.error_score = error_score
        self.return_train_score = return_train_score
        self.memory = memory
        self.select = select

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.target_tags.multi_output = get_tags(self.estimator).target_tags.multi_output
        tags.input_tags.sparse = False
        return tags

    @abstractmethod
    def _candidates(self):
        """The candidate parameter settings (an iterable with ``len``)."""

    @abstractmethod
    def _inner_search(self, **params):
        """The scikit-learn search (unfitted) run over the stacked real + synthetic rows."""

    def _check_search_params(self):
        _check_search_components(self.estimator, self.distiller, self.refit)
        if len(self._candidates()) == 0:
            raise ValueError(f"{type(self).__name__} has no candidate to evaluate: the "
                             "parameter grid/distributions are empty.")

    def _selection_metric(self, multimetric):
        """The metric that picks the best candidate ("score" for a single metric)."""
        if not multimetric:
            return "score"
        names = sorted(self.scoring) if not callable(self.scoring) else None
        if callable(self.select) or (isinstance(self.select, str)
                                     and (names is None or self.select in names)):
            return self.select
        raise ValueError(f"scoring holds several metrics ({names}); set select to the one "
                         f"that picks the best candidate (got select={self.select!r}).")

    def fit(self, X, y, *, groups=None, **fit_params):
        """Distil every training fold once, rank the candidates, refit the best one.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, C, ...)
            Real training data: tabular rows, series ``(n, C, T)`` or images
            ``(n, C, H, W)`` (any layout both the distiller and the estimator accept).
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        groups : array-like of shape (n_samples,), default=None
            Group labels for a group-aware ``cv`` splitter.
        **fit_params : dict
            Passed to the estimator's ``fit`` for every candidate and for the refit.
            Per-sample arrays are rejected (the candidates train on synthetic rows).

        Returns
        -------
        self
        """
        self._check_search_params()
        if not (callable(self.scoring) or self.scoring is None or isinstance(self.scoring, str)):
            self._selection_metric(multimetric=True)  # before any work
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the "
                             "target y is None (the distillers are labelled).")
        for key, value in fit_params.items():
            if hasattr(value, "__len__") and not isinstance(value, (str, dict)) \
                    and len(value) == len(X):
                raise ValueError(
                    f"fit parameter {key!r} has one value per training row; the candidates "
                    "train on synthetic rows, so per-sample fit parameters do not apply.")
        memory = check_memory(self.memory)
        X_orig, y_orig = X, y
        X, y, groups = indexable(np.asarray(X), np.asarray(y), groups)
        cv = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        folds = list(cv.split(X, y, groups))
        self.n_splits_ = len(folds)
        if self.verbose > 0:
            print(f"Distilling {self.n_splits_} training folds with "
                  f"{type(self.distiller).__name__}")
        parallel = Parallel(n_jobs=self.n_jobs, pre_dispatch=self.pre_dispatch)
        distilled = parallel(delayed(_distil_timed)(memory, clone(self.distiller), X[train],
                                                    y[train]) for train, _ in folds)
        self.distill_time_ = np.array([d[3] for d in distilled])
        self.n_synthetic_ = np.array([len(d[0]) for d in distilled])

        # one array: the real rows, then fold 0's synthetic rows, fold 1's, ...
        X_all = np.concatenate([X] + [d[0] for d in distilled])
        y_all = np.concatenate([y] + [self._synthetic_targets(d[1], y) for d in distilled])
        offsets = len(X) + np.concatenate([[0], np.cumsum(self.n_synthetic_)])
        splits = [(np.arange(offsets[k], offsets[k + 1]), test)
                  for k, (_, test) in enumerate(folds)]
        inner = self._inner_search(cv=splits, refit=False)
        start = time.perf_counter()
        inner.fit(X_all, y_all, **fit_params)
        self.search_time_ = time.perf_counter() - start
        self.cv_results_ = inner.cv_results_
        self.multimetric_ = inner.multimetric_
        self.scorer_ = inner.scorer_
        metric = self._selection_metric(self.multimetric_)
        self.best_index_ = int(self._select_best_index(self.select, metric, self.cv_results_))
        if not callable(self.select):
            self.best_score_ = float(self.cv_results_[f"mean_test_{metric}"][self.best_index_])
        self.best_params_ = self.cv_results_["params"][self.best_index_]
        self.n_train_rows_ = int(len(self.cv_results_["params"]) * self.n_synthetic_.sum())
        if self.refit is not False:
            self._refit(X_orig, y_orig, memory, fit_params)
        return self

    def _synthetic_targets(self, y_syn, y):
        """The distilled targets in the layout of ``y`` (a column ``y`` keeps its column)."""
        if y_syn.ndim == 1 and y.ndim == 2 and y.shape[1] == 1:
            return y_syn[:, None]
        if y_syn.shape[1:] != y.shape[1:]:
            raise ValueError(
                f"distiller={type(self.distiller).__name__} returned targets of shape "
                f"{y_syn.shape} for y of shape {y.shape}; the candidates need targets of the "
                "layout of y (hard labels, not soft labels).")
        return y_syn

    def _refit(self, X, y, memory, fit_params):
        start = time.perf_counter()
        self.best_estimator_ = clone(self.estimator).set_params(
            **clone(self.best_params_, safe=False))
        if self.refit == "distilled":
            X_fit, y_fit, self.distiller_, _ = _distil_timed(
                memory, clone(self.distiller), np.asarray(X), np.asarray(y))
        else:
            X_fit, y_fit = X, y
        self.best_estimator_.fit(X_fit, y_fit, **fit_params)
        self.refit_time_ = time.perf_counter() - start
        if hasattr(self.best_estimator_, "feature_names_in_"):
            self.feature_names_in_ = self.best_estimator_.feature_names_in_

    def score(self, X, y=None):
        """Score of the refit estimator on real data: ``scoring`` (the ``select`` metric
        for several metrics) when given, else the estimator's ``score``."""
        from sklearn.model_selection._search import _check_refit
        from sklearn.utils.validation import check_is_fitted

        _check_refit(self, "score")
        check_is_fitted(self)
        if self.scorer_ is None:  # pragma: no cover - check_scoring always finds a scorer
            raise ValueError(f"no scorer for {self.best_estimator_!r}")
        if isinstance(self.scorer_, dict):
            return self.scorer_[self.select](self.best_estimator_, X, y)
        score = self.scorer_(self.best_estimator_, X, y)
        return score[self.select] if isinstance(score, dict) else score

    def _inner_kwargs(self, cv, refit):
        return dict(scoring=self.scoring, n_jobs=self.n_jobs, refit=refit, cv=cv,
                    verbose=self.verbose, pre_dispatch=self.pre_dispatch,
                    error_score=self.error_score, return_train_score=self.return_train_score)


_SHARED_PARAMS_DOC = """
    distiller : skdd distiller
        Anything with ``fit_resample(X, y) -> (X_syn, y_syn)``: a skdd classification
        distiller (:class:`skdd.FreDDistiller`, :class:`skdd.classification.DMDistiller`,
        the random per-class baseline), or :class:`skdd.compose.RandomSubsetDistiller` for
        regression. A clone runs once per training fold; set its ``random_state`` for a
        reproducible search.
    scoring : str, callable, list, tuple or dict, default=None
        As in scikit-learn (None: the estimator's ``score``). Several metrics need
        ``select``.
    n_jobs : int, default=None
        Parallel jobs for the per-fold distillations and for the candidate fits
        (joblib); results do not depend on it.
    refit : {"full", "distilled"} or False, default="full"
        ``"full"``: fit the best candidate on every real training row; ``"distilled"``:
        on a distillation of all training rows (``distiller_``); False: no refit (no
        ``best_estimator_``, no ``predict``).
    cv : int, cross-validation generator or iterable, default=5
        Splits of the real training data, as in scikit-learn (stratified for
        classifiers). Each training part is distilled; each test part stays real.
    verbose : int, default=0
    pre_dispatch : int or str, default="2*n_jobs"
    error_score : "raise" or float, default=np.nan
        Score of a candidate whose fit fails (a failing distillation always raises).
    return_train_score : bool, default=False
        Train scores are computed on the fold's synthetic set.
    memory : None, str or joblib.Memory, default=None
        Caches the distillations (keyed on the distiller's parameters and the fold's
        data), so a second search over the same folds does not distil again.
    select : str or callable, default=None
        With several metrics in ``scoring``: the name of the one that ranks the
        candidates. A callable ``select(cv_results) -> best_index`` picks the best
        candidate for any scoring (as scikit-learn's callable ``refit``); a name is
        ignored for a single metric."""

_SHARED_ATTRS_DOC = """
    cv_results_ : dict of ndarrays
        scikit-learn's layout: ``params``, ``mean_test_score``, ``rank_test_score``,
        ``split<k>_test_score``, fit and score times ...; test scores are on real
        held-out rows, fits on synthetic rows.
    best_estimator_ : estimator
        The best candidate refit on real data (``refit="full"``) or on the distillation
        of it (``refit="distilled"``); absent for ``refit=False``.
    best_params_ : dict
    best_score_ : float
        Mean cross-validated score of the best candidate (not set for a callable
        ``select``).
    best_index_ : int
    scorer_ : callable or dict
    multimetric_ : bool
    n_splits_ : int
    refit_time_ : float
        Seconds of the refit (with the distillation for ``refit="distilled"``).
    distill_time_ : ndarray of shape (n_splits,)
        Seconds of each fold's distillation (near 0 when read from ``memory``).
    search_time_ : float
        Seconds of the candidate fits and scoring (all folds).
    n_synthetic_ : ndarray of shape (n_splits,)
        Rows in each fold's distilled set.
    n_train_rows_ : int
        Training rows of the whole search: candidates x sum of ``n_synthetic_`` (the
        budget :func:`budget_matched_halving` matches).
    distiller_ : fitted distiller
        Only for ``refit="distilled"``: the distillation of all training rows.
    classes_ : ndarray of shape (n_classes,)
        The refit classifier's classes.
    n_features_in_ : int
    feature_names_in_ : ndarray of str (DataFrame input only)"""


class DistilledGridSearchCV(_BaseDistilledSearch):
    __doc__ = """Exhaustive grid search whose candidates train on distilled training folds.

    For each split of ``cv`` a clone of ``distiller`` distils the training part once;
    every candidate of ``param_grid`` trains on that synthetic set and is scored on the
    real test part; the best mean score wins and is refit on real data (``refit``). The
    search costs one distillation per fold plus ``n_candidates x n_splits`` fits on a
    few rows, instead of ``n_candidates x n_splits`` fits on the full folds.

    Parameters
    ----------
    estimator : scikit-learn estimator
        The model to tune (a skorch net from :mod:`skdd.skorch` works for images and
        series).
    param_grid : dict or list of dicts
        As in :class:`~sklearn.model_selection.GridSearchCV`; it must hold at least one
        parameter.""" + _SHARED_PARAMS_DOC + """

    Attributes
    ----------""" + _SHARED_ATTRS_DOC + """

    See Also
    --------
    DistilledRandomizedSearchCV : the randomized counterpart.
    budget_matched_halving : successive halving on the full data at the same budget.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.svm import SVC
    >>> from skdd.classification import DMDistiller
    >>> from skdd.model_selection import DistilledGridSearchCV
    >>> X, y = load_digits(return_X_y=True)
    >>> search = DistilledGridSearchCV(
    ...     SVC(), {"C": [1, 10], "gamma": [1e-3, 1e-2]},
    ...     DMDistiller(ipc=10, max_iter=2, random_state=0), cv=3).fit(X / 16, y)
    >>> search.n_synthetic_.tolist()  # ten rows per class and fold
    [100, 100, 100]
    >>> sorted(search.best_params_)
    ['C', 'gamma']
    >>> search.best_estimator_.shape_fit_  # refit on every real row
    (1797, 64)
    """

    def __init__(self, estimator, param_grid, distiller, *, scoring=None, n_jobs=None,
                 refit="full", cv=5, verbose=0, pre_dispatch="2*n_jobs", error_score=np.nan,
                 return_train_score=False, memory=None, select=None):
        super().__init__(estimator, distiller, scoring=scoring, n_jobs=n_jobs, refit=refit,
                         cv=cv, verbose=verbose, pre_dispatch=pre_dispatch,
                         error_score=error_score, return_train_score=return_train_score,
                         memory=memory, select=select)
        self.param_grid = param_grid

    def _candidates(self):
        grids = [self.param_grid] if isinstance(self.param_grid, dict) else self.param_grid
        if not grids or not all(grids):
            return []
        return ParameterGrid(self.param_grid)

    def _inner_search(self, cv, refit):
        return GridSearchCV(self.estimator, self.param_grid, **self._inner_kwargs(cv, refit))


class DistilledRandomizedSearchCV(_BaseDistilledSearch):
    __doc__ = """Randomized search whose candidates train on distilled training folds.

    The randomized counterpart of :class:`DistilledGridSearchCV`: ``n_iter`` settings
    are drawn from ``param_distributions`` (as
    :class:`~sklearn.model_selection.RandomizedSearchCV` draws them), each trained on
    every fold's distilled set and scored on the fold's real test part.

    Parameters
    ----------
    estimator : scikit-learn estimator
    param_distributions : dict or list of dicts
        Lists (sampled uniformly) or scipy distributions (with ``rvs``).""" + \
        _SHARED_PARAMS_DOC + """
    n_iter : int, default=10
        Candidates drawn.
    random_state : int, RandomState or None, default=None
        Draws the candidates (the distiller has its own ``random_state``).

    Attributes
    ----------""" + _SHARED_ATTRS_DOC + """

    Examples
    --------
    >>> from scipy.stats import loguniform
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skdd.compose import RandomSubsetDistiller
    >>> from skdd.model_selection import DistilledRandomizedSearchCV
    >>> X, y = load_digits(return_X_y=True)
    >>> search = DistilledRandomizedSearchCV(  # a random subset of 100 rows as the baseline
    ...     LogisticRegression(max_iter=500), {"C": loguniform(1e-3, 1e2)},
    ...     RandomSubsetDistiller(n_samples=100, random_state=0), n_iter=4, cv=3,
    ...     random_state=0).fit(X / 16, y)
    >>> len(search.cv_results_["params"]), search.distill_time_.shape
    (4, (3,))
    """

    def __init__(self, estimator, param_distributions, distiller, *, n_iter=10, scoring=None,
                 n_jobs=None, refit="full", cv=5, verbose=0, pre_dispatch="2*n_jobs",
                 random_state=None, error_score=np.nan, return_train_score=False, memory=None,
                 select=None):
        super().__init__(estimator, distiller, scoring=scoring, n_jobs=n_jobs, refit=refit,
                         cv=cv, verbose=verbose, pre_dispatch=pre_dispatch,
                         error_score=error_score, return_train_score=return_train_score,
                         memory=memory, select=select)
        self.param_distributions = param_distributions
        self.n_iter = n_iter
        self.random_state = random_state

    def _candidates(self):
        dists = self.param_distributions
        dists = [dists] if isinstance(dists, dict) else dists
        if not dists or not all(dists):
            return []
        return ParameterSampler(self.param_distributions, self.n_iter,
                                random_state=self.random_state)

    def _inner_search(self, cv, refit):
        return RandomizedSearchCV(self.estimator, self.param_distributions, n_iter=self.n_iter,
                                  random_state=self.random_state,
                                  **self._inner_kwargs(cv, refit))
