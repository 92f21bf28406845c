"""Successive halving on the full data at the training budget of a distilled search."""
from __future__ import annotations

import math

import numpy as np
from sklearn.base import is_classifier

from ._search import DistilledRandomizedSearchCV

__all__ = ["budget_matched_halving", "halving_schedule"]


def halving_schedule(n_candidates, min_resources, max_resources, factor=3):
    """The iterations of scikit-learn's successive halving (``aggressive_elimination=False``).

    Parameters
    ----------
    n_candidates : int
    min_resources, max_resources : int
        Rows of the first iteration, and the most rows of any iteration.
    factor : int, default=3

    Returns
    -------
    list of (n_candidates_i, n_resources_i)
        What :class:`~sklearn.model_selection.HalvingGridSearchCV` evaluates in
        iteration ``i``: ``n_candidates_i`` candidates, each cross-validated on a
        subsample of ``n_resources_i`` rows.

    Examples
    --------
    >>> from skdd.model_selection import halving_schedule
    >>> halving_schedule(12, 40, 1000)
    [(12, 40), (4, 120), (2, 360)]
    """
    n_required = 1 + math.floor(math.log(n_candidates, factor))
    n_possible = 1 + math.floor(math.log(max_resources // min_resources, factor))
    schedule, n = [], n_candidates
    for itr in range(min(n_required, n_possible)):
        schedule.append((n, min(int(factor**itr * min_resources), max_resources)))
        n = math.ceil(n / factor)
    return schedule


def _halving_rows(schedule, n_splits):
    """Training rows of a halving search: each fit trains on (n_splits - 1) / n_splits of
    its iteration's subsample, ``n_splits`` fits per candidate."""
    return sum(n * r * (n_splits - 1) for n, r in schedule)


def budget_matched_halving(search, y, *, factor=3, random_state=None, **kwargs):
    """Successive halving on the full data at the training budget of a distilled search.

    The budget is the distilled search's training rows, ``search.n_train_rows_`` (every
    candidate trained on every fold's synthetic set). This returns an unfitted
    :class:`~sklearn.model_selection.HalvingGridSearchCV` (for a
    :class:`DistilledGridSearchCV`) or
    :class:`~sklearn.model_selection.HalvingRandomSearchCV` (``n_candidates=n_iter``, for
    a :class:`DistilledRandomizedSearchCV`) over the same estimator, candidates, ``cv``
    and scoring, whose ``min_resources`` is the largest for which its training rows,
    ``sum_i n_candidates_i x n_resources_i x (n_splits - 1)`` over the iterations of
    :func:`halving_schedule`, stay within that budget. The rule counts rows, not seconds:
    the distillation is extra time on the distilled side.

    The first iteration needs at least ``n_splits x n_classes`` rows for a classifier
    (every class in every stratified fold) and ``2 x n_splits`` otherwise; a budget below
    that is exceeded (compare :func:`halving_schedule` with ``n_train_rows_``).

    Parameters
    ----------
    search : fitted DistilledGridSearchCV or DistilledRandomizedSearchCV
    y : array-like of shape (n_samples,)
        The targets the search was fitted on (the row count and the classes).
    factor : int, default=3
    random_state : int or None, default=None
        Subsampling of the halving search (and its candidates, randomized).
    **kwargs
        Further parameters of the halving search (``n_jobs``, ``verbose`` ...).

    Returns
    -------
    HalvingGridSearchCV or HalvingRandomSearchCV (unfitted)

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.svm import SVC
    >>> from skdd.compose import RandomSubsetDistiller
    >>> from skdd.model_selection import DistilledGridSearchCV, budget_matched_halving
    >>> X, y = load_digits(return_X_y=True)
    >>> search = DistilledGridSearchCV(
    ...     SVC(), {"C": [1, 10, 100], "gamma": [1e-3, 1e-2, 1e-1]},
    ...     RandomSubsetDistiller(n_samples=100, random_state=0), cv=3, refit=False).fit(X, y)
    >>> search.n_train_rows_  # 9 candidates x 3 folds x 100 rows
    2700
    >>> halving = budget_matched_halving(search, y)
    >>> halving.min_resources  # 9 x 50 + 3 x 150 + 1 x 450 rows, 2 training folds each
    50
    """
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import HalvingGridSearchCV, HalvingRandomSearchCV
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(search, "n_train_rows_")
    y = np.asarray(y)
    n_samples, n_splits = len(y), search.n_splits_
    n_candidates = len(search.cv_results_["params"])
    lowest = n_splits * (len(np.unique(y)) if is_classifier(search.estimator) else 2)
    best = lowest
    for r in range(lowest, n_samples + 1):
        rows = _halving_rows(halving_schedule(n_candidates, r, n_samples, factor), n_splits)
        if rows <= search.n_train_rows_:
            best = r
    common = dict(factor=factor, min_resources=best, cv=search.cv, scoring=search.scoring,
                  random_state=random_state, error_score=search.error_score,
                  refit=search.refit is not False, **kwargs)
    if isinstance(search, DistilledRandomizedSearchCV):
        return HalvingRandomSearchCV(search.estimator, search.param_distributions,
                                     n_candidates=search.n_iter, **common)
    return HalvingGridSearchCV(search.estimator, search.param_grid, **common)
