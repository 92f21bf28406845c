"""sktime: tune a forecaster on a distilled series, evaluate on real windows, refit on real.

Imports sktime (an optional dependency); :mod:`skdd.model_selection` loads this module on
first use of :class:`DistilledForecastingGridSearchCV`.
"""
from __future__ import annotations

import time

import numpy as np
from sklearn.base import clone

from ..sktime import DistilledForecaster, DistillerTransformer, _DelegatedForecaster, _distil_frame
from ._search import _check_search_components

__all__ = ["DistilledForecastingGridSearchCV"]

_INNER = "forecaster__"


def _prefix_grid(param_grid, prefix):
    """``param_grid`` (a dict or a list of dicts) with ``prefix`` before every name."""
    if isinstance(param_grid, dict):
        return {prefix + k: v for k, v in param_grid.items()}
    return [{prefix + k: v for k, v in grid.items()} for grid in param_grid]


class _LookupDistiller:
    """A forecasting distiller that returns precomputed synthetic series.

    ``fit_resample(series)`` returns the search's stored distillation of ``series``
    (keyed by columns, index ends and a data fingerprint) and distils with a clone of
    ``distiller`` a series it has none for. It lets every candidate of
    :class:`DistilledForecastingGridSearchCV` reuse one distillation per training window.
    """

    def __init__(self, distiller, table):
        self.distiller = distiller
        self.table = table

    def get_params(self, deep=True):
        return {"distiller": self.distiller, "table": self.table}

    def set_params(self, **params):
        for key, value in params.items():
            setattr(self, key, value)
        return self

    def fit_resample(self, series):
        found = self.table.get(DistillerTransformer._key(series))
        if found is not None:
            return found.copy()
        return clone(self.distiller).fit_resample(series)


class DistilledForecastingGridSearchCV(_DelegatedForecaster):
    """Grid search for sktime forecasters trained on a distilled series.

    The candidates of ``param_grid`` (parameters of ``forecaster``) are evaluated with
    sktime's :class:`~sktime.forecasting.model_selection.ForecastingGridSearchCV` over
    the real series and the real windows of ``cv``, each candidate wrapped in
    :class:`skdd.sktime.DistilledForecaster`: it trains on a distillation of the
    training window only and forecasts from the real history. The distiller runs once
    per training window the strategy fits on (once in all for
    ``strategy="no-update_params"``, the default; once per window for ``"refit"``),
    whatever the number of candidates. The best candidate (lowest error) is then refit
    on the whole real series (``refit="full"``), on a distillation of it
    (``refit="distilled"``), or not at all; ``predict`` is the refit forecaster's.

    Parameters
    ----------
    forecaster : sktime forecaster
        The model to tune, e.g. :class:`skdd.sktime.NeuralForecaster` or sktime's
        ``LTSFDLinearForecaster``; it must use ``update(..., update_params=False)``
        data as context (see :class:`skdd.sktime.DistilledForecaster`).
    param_grid : dict or list of dicts
        Parameters of ``forecaster`` (no prefix).
    distiller : skdd forecasting distiller
        E.g. :class:`skdd.HarmonicDistiller` or the random-segment baseline; its
        ``fit_resample(series)`` returns the synthetic series.
    cv : sktime splitter
        E.g. ``ExpandingWindowSplitter`` or ``SlidingWindowSplitter`` over the real
        series; its windows' test parts are real.
    strategy : {"no-update_params", "refit", "update"}, default="no-update_params"
        As in sktime's ``evaluate``: fit on the first training window and move on with
        real context only (one distillation), or fit on every training window.
    scoring : sktime metric, default=None
        sktime's default (MAPE) when None; e.g. ``MeanSquaredError()``.
    refit : {"full", "distilled"} or False, default="full"
    verbose : int, default=0
    error_score : "raise" or float, default=np.nan
    backend, backend_params : optional
        sktime's parallel backend for the candidates (e.g. "loky", "joblib").

    Attributes
    ----------
    cv_results_ : pandas.DataFrame
        sktime's layout (``mean_test_<metric>``, ``rank_test_<metric>``, times,
        ``params``), with unprefixed ``params``.
    best_params_ : dict
    best_index_ : int
    best_score_ : float
    best_forecaster_ : sktime forecaster
        The best candidate refit on the real series (``"full"``) or wrapped in a
        :class:`~skdd.sktime.DistilledForecaster` fitted on it (``"distilled"``).
    synthetic_ : list of pandas.DataFrame
        The distilled training windows the candidates trained on.
    distill_time_ : ndarray
        Seconds of each of those distillations.
    refit_time_ : float

    Examples
    --------
    >>> from sktime.split import ExpandingWindowSplitter
    >>> from sktime.forecasting.naive import NaiveForecaster
    >>> from sktime.performance_metrics.forecasting import MeanSquaredError
    >>> from skdd import RandomSegmentDistiller
    >>> from skdd.datasets import make_seasonal_series
    >>> from skdd.model_selection import DistilledForecastingGridSearchCV
    >>> y = make_seasonal_series(400, 1, random_state=0, as_frame=True)
    >>> search = DistilledForecastingGridSearchCV(
    ...     NaiveForecaster(), {"strategy": ["last", "mean"], "window_length": [12, 24]},
    ...     RandomSegmentDistiller(length=96, seq_len=24, pred_len=12, random_state=0),
    ...     cv=ExpandingWindowSplitter(fh=list(range(1, 13)), initial_window=240, step_length=48),
    ...     scoring=MeanSquaredError()).fit(y, fh=list(range(1, 13)))
    >>> len(search.cv_results_), len(search.synthetic_)  # four candidates, one distillation
    (4, 1)
    >>> search.predict().shape
    (12, 1)
    """

    _tags = {
        "authors": ["skdd developers"],
        "maintainers": ["skdd developers"],
        "y_inner_mtype": "pd.DataFrame",
        "X_inner_mtype": "pd.DataFrame",
        "capability:multivariate": True,
        "capability:exogenous": False,
        "capability:insample": False,
        "capability:pred_int": False,
        "capability:missing_values": False,
        "requires-fh-in-fit": False,
        "fit_is_empty": False,
    }

    # the refit forecaster keeps the data it needs; sktime's own copy is not needed
    _config = {"remember_data": False}

    _delegate_name = "best_forecaster_"

    def __init__(self, forecaster, param_grid, distiller, cv, strategy="no-update_params",
                 scoring=None, refit="full", verbose=0, error_score=np.nan, backend=None,
                 backend_params=None):
        self.forecaster = forecaster
        self.param_grid = param_grid
        self.distiller = distiller
        self.cv = cv
        self.strategy = strategy
        self.scoring = scoring
        self.refit = refit
        self.verbose = verbose
        self.error_score = error_score
        self.backend = backend
        self.backend_params = backend_params
        super().__init__()
        self._y = self._X = None  # sktime's copy, kept only if remember_data is switched on
        if hasattr(forecaster, "get_tag"):
            self.clone_tags(forecaster, ["requires-fh-in-fit"])

    def _fit(self, y, X, fh):
        from sktime.forecasting.model_selection import ForecastingGridSearchCV

        _check_search_components(self.forecaster, self.distiller, self.refit, "forecaster")
        grids = [self.param_grid] if isinstance(self.param_grid, dict) else self.param_grid
        if not grids or not all(grids):
            raise ValueError("param_grid is empty: DistilledForecastingGridSearchCV has no "
                             "candidate to evaluate.")
        if self.strategy not in ("no-update_params", "refit", "update"):
            raise ValueError(f"strategy={self.strategy!r} is not one of 'no-update_params', "
                             "'refit', 'update'.")
        # distil each training window the strategy fits on, once
        windows = [y.iloc[train] for train, _ in self.cv.split(y.index)]
        if self.strategy != "refit":
            windows = windows[:1]
        table, self.synthetic_, times = {}, [], []
        for window in windows:
            start = time.perf_counter()
            synthetic = _distil_frame(clone(self.distiller), window)
            times.append(time.perf_counter() - start)
            table[DistillerTransformer._key(window)] = synthetic
            self.synthetic_.append(synthetic)
        self.distill_time_ = np.array(times)
        inner = ForecastingGridSearchCV(
            DistilledForecaster(_LookupDistiller(self.distiller, table), self.forecaster),
            self.cv, _prefix_grid(self.param_grid, _INNER), scoring=self.scoring,
            strategy=self.strategy, refit=False, verbose=self.verbose,
            error_score=self.error_score, backend=self.backend,
            backend_params=self.backend_params)
        inner.fit(y, fh=fh)
        results = inner.cv_results_.copy()
        results["params"] = [{k[len(_INNER):]: v for k, v in p.items()}
                             for p in results["params"]]
        self.cv_results_ = results
        self.best_index_ = int(inner.best_index_)
        self.best_score_ = float(inner.best_score_)
        self.best_params_ = results["params"].iloc[self.best_index_]
        if self.refit is False:
            return self
        start = time.perf_counter()
        best = self.forecaster.clone().set_params(**self.best_params_)
        if self.refit == "distilled":
            best = DistilledForecaster(self.distiller, best)
        self.best_forecaster_ = best.fit(y, fh=fh)
        self.refit_time_ = time.perf_counter() - start
        return self

    def _predict(self, fh, X=None):
        if self.refit is False:
            raise RuntimeError("DistilledForecastingGridSearchCV(refit=False) has no refit "
                               "forecaster to predict with; use best_params_.")
        return self.best_forecaster_.predict(fh=fh, X=X)

    def _update(self, y, X=None, update_params=True):
        self.best_forecaster_.update(y=y, X=X, update_params=update_params)
        return self

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        """Cheap settings for sktime's estimator checks.

        Returns
        -------
        list of dict
        """
        from sktime.split import ExpandingWindowSplitter
        from sktime.forecasting.naive import NaiveForecaster

        from ..forecasting import RandomSegmentDistiller

        return [{"forecaster": NaiveForecaster(), "param_grid": {"strategy": ["last", "mean"]},
                 "distiller": RandomSegmentDistiller(length=6, seq_len=3, pred_len=3, random_state=0),
                 "cv": ExpandingWindowSplitter(fh=[1, 2], initial_window=8, step_length=2)},
                {"forecaster": NaiveForecaster(), "param_grid": {"window_length": [2, 3]},
                 "distiller": RandomSegmentDistiller(length=5, seq_len=2, pred_len=2, random_state=1),
                 "cv": ExpandingWindowSplitter(fh=[1], initial_window=6, step_length=3),
                 "strategy": "refit", "refit": "distilled"}]
