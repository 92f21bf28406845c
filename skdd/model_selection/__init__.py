"""Hyperparameter search that ranks candidates on distilled data and refits on real data.

:class:`DistilledGridSearchCV` and :class:`DistilledRandomizedSearchCV` are scikit-learn's
:class:`~sklearn.model_selection.GridSearchCV` and
:class:`~sklearn.model_selection.RandomizedSearchCV` with one change: every candidate
trains on a *distillation* of the training fold instead of the fold itself, and is scored
on the fold's real held-out rows. The distiller runs once per fold, whatever the number
of candidates; the best candidate is then refit on all real training rows
(``refit="full"``), on a distillation of them (``refit="distilled"``), or not at all.

The scoring, the parallel candidate loop, ``error_score``, ``verbose`` and the layout of
``cv_results_`` are scikit-learn's own: the search distils each training fold, stacks the
real rows and every fold's synthetic set into one array ``[X; X_syn_0; X_syn_1; ...]``
and hands scikit-learn's search explicit splits ``(rows of X_syn_k, real test rows of
fold k)`` with its refit switched off; its own refit follows.

:class:`DistilledForecastingGridSearchCV` is the sktime counterpart (candidates fit on the
distilled series and are evaluated on real windows), and :func:`budget_matched_halving`
builds the successive-halving baseline on the full data at the training budget of a
fitted distilled search.
"""
from ._halving import budget_matched_halving, halving_schedule
from ._search import DistilledGridSearchCV, DistilledRandomizedSearchCV

__all__ = ["DistilledGridSearchCV", "DistilledRandomizedSearchCV",
           "DistilledForecastingGridSearchCV", "budget_matched_halving", "halving_schedule"]


def __getattr__(name):
    # the sktime search imports sktime, an optional dependency: only on first use
    if name == "DistilledForecastingGridSearchCV":
        from ._sktime import DistilledForecastingGridSearchCV

        return DistilledForecastingGridSearchCV
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
