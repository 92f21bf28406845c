"""Searches that rank candidates on distilled folds and refit on real data."""
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from skdd.compose import RandomSubsetDistiller
from skdd.model_selection import (DistilledGridSearchCV, DistilledRandomizedSearchCV,
                                  budget_matched_halving, halving_schedule)

from skdd.classification import RandomPerClassDistiller as PerClass


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:600] / 16.0, y[:600]


class CountingDistiller(PerClass):
    """The per-class random distiller, counting its fits in ``calls`` (one process)."""

    calls = []

    def fit(self, X, y=None):
        CountingDistiller.calls.append(len(X))
        return super().fit(X, y)


@pytest.fixture
def counting():
    CountingDistiller.calls.clear()
    return CountingDistiller(ipc=3, random_state=0)


@pytest.mark.parametrize("grid", [{"C": [1.0]}, {"C": [0.01, 0.1, 1.0, 10.0, 100.0],
                                                 "fit_intercept": [True, False]}])
def test_distils_once_per_fold_whatever_the_candidates(digits, counting, grid):
    X, y = digits
    search = DistilledGridSearchCV(LogisticRegression(max_iter=200), grid, counting, cv=4)
    search.fit(X, y)
    # the four training folds, and nothing per candidate (the refit is on real rows)
    assert CountingDistiller.calls == [450] * 4
    assert search.n_splits_ == 4
    assert search.distill_time_.shape == (4,)
    assert (search.n_synthetic_ == 30).all()
    assert len(search.cv_results_["params"]) == len(list(search._candidates()))


def test_candidates_train_on_the_fold_distillation_and_score_on_real_rows(digits):
    X, y = digits
    distiller = PerClass(ipc=4, random_state=3)
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    grid = {"n_neighbors": [1, 3]}
    search = DistilledGridSearchCV(KNeighborsClassifier(), grid, distiller, cv=cv,
                                   refit=False).fit(X, y)
    for k, (train, test) in enumerate(cv.split(X, y)):
        X_syn, y_syn = clone(distiller).fit_resample(X[train], y[train])
        for i, params in enumerate(search.cv_results_["params"]):
            model = KNeighborsClassifier(**params).fit(X_syn, y_syn)
            expected = model.score(X[test], y[test])
            assert search.cv_results_[f"split{k}_test_score"][i] == pytest.approx(expected)


def test_refit_full_sees_every_real_row(digits, counting):
    X, y = digits
    search = DistilledGridSearchCV(KNeighborsClassifier(), {"n_neighbors": [1, 5]}, counting,
                                   cv=3).fit(X, y)
    assert search.best_estimator_.n_samples_fit_ == len(X)
    assert search.best_estimator_.get_params()["n_neighbors"] == \
        search.best_params_["n_neighbors"]
    assert len(CountingDistiller.calls) == 3  # no distillation for the refit
    assert search.refit_time_ >= 0
    np.testing.assert_array_equal(search.predict(X[:5]),
                                  search.best_estimator_.predict(X[:5]))
    assert search.score(X, y) == search.best_estimator_.score(X, y)
    assert search.predict_proba(X[:2]).shape == (2, 10)
    np.testing.assert_array_equal(search.classes_, np.arange(10))


def test_refit_distilled_and_no_refit(digits, counting):
    X, y = digits
    grid = {"n_neighbors": [1, 5]}
    search = DistilledGridSearchCV(KNeighborsClassifier(), grid, counting, cv=3,
                                   refit="distilled").fit(X, y)
    assert CountingDistiller.calls[-1] == len(X)  # the refit distils all rows
    assert search.best_estimator_.n_samples_fit_ == 30
    np.testing.assert_array_equal(search.distiller_.X_syn_, search.best_estimator_._fit_X)

    no_refit = DistilledGridSearchCV(KNeighborsClassifier(), grid, counting, cv=3,
                                     refit=False).fit(X, y)
    assert no_refit.best_params_ == search.best_params_
    assert not hasattr(no_refit, "best_estimator_")
    with pytest.raises(AttributeError, match="predict"):
        no_refit.predict(X)


@pytest.mark.parametrize("grid", [{}, [], [{}]])
def test_empty_grid_rejected(digits, counting, grid):
    with pytest.raises(ValueError, match="no candidate"):
        DistilledGridSearchCV(LogisticRegression(), grid, counting).fit(*digits)


def test_empty_distributions_rejected(digits, counting):
    with pytest.raises(ValueError, match="no candidate"):
        DistilledRandomizedSearchCV(LogisticRegression(), {}, counting).fit(*digits)


@pytest.mark.parametrize("refit", ["yes", True, "best", None])
def test_unknown_refit_rejected(digits, counting, refit):
    with pytest.raises(ValueError, match=r"refit=.* is not one of 'full'"):
        DistilledGridSearchCV(LogisticRegression(), {"C": [1.0]}, counting,
                              refit=refit).fit(*digits)


def test_estimator_without_fit_rejected(digits, counting):
    with pytest.raises(TypeError, match="estimator=.* has no fit method"):
        DistilledGridSearchCV(object(), {"C": [1.0]}, counting).fit(*digits)


@pytest.mark.parametrize("distiller", [StandardScaler(), "dm", None])
def test_non_distiller_rejected(digits, distiller):
    with pytest.raises(TypeError, match="distiller=.* has no fit_resample method"):
        DistilledGridSearchCV(LogisticRegression(), {"C": [1.0]}, distiller).fit(*digits)


def test_missing_y_and_per_sample_fit_params_rejected(digits, counting):
    X, y = digits
    search = DistilledGridSearchCV(LogisticRegression(), {"C": [1.0]}, counting)
    with pytest.raises(ValueError, match="requires y to be passed"):
        search.fit(X, None)
    with pytest.raises(ValueError, match="sample_weight.*one value per training row"):
        search.fit(X, y, sample_weight=np.ones(len(y)))


def _without_times(results):
    return {k: v for k, v in results.items() if not k.endswith("_time")}


def _assert_same_results(a, b):
    a, b = _without_times(a), _without_times(b)
    assert a.keys() == b.keys()
    for key in a:
        if key == "params":
            assert a[key] == b[key]
        else:
            np.testing.assert_array_equal(np.asarray(a[key]), np.asarray(b[key]))


def test_reproducible_with_random_state(digits):
    X, y = digits

    def run():
        return DistilledRandomizedSearchCV(
            LogisticRegression(max_iter=200), {"C": np.logspace(-3, 3, 20)},
            PerClass(ipc=3, random_state=1), n_iter=5, cv=3, random_state=0).fit(X, y)

    first, second = run(), run()
    _assert_same_results(first.cv_results_, second.cv_results_)
    assert first.best_params_ == second.best_params_
    other = DistilledRandomizedSearchCV(
        LogisticRegression(max_iter=200), {"C": np.logspace(-3, 3, 20)},
        PerClass(ipc=3, random_state=1), n_iter=5, cv=3, random_state=1).fit(X, y)
    assert other.cv_results_["params"] != first.cv_results_["params"]


def test_n_jobs_does_not_change_results(digits):
    X, y = digits
    searches = [DistilledGridSearchCV(LogisticRegression(max_iter=200),
                                      {"C": [0.1, 1.0, 10.0]}, PerClass(ipc=3, random_state=0),
                                      cv=3, n_jobs=n_jobs).fit(X, y) for n_jobs in (1, 2)]
    _assert_same_results(searches[0].cv_results_, searches[1].cv_results_)
    np.testing.assert_array_equal(searches[0].n_synthetic_, searches[1].n_synthetic_)


def test_memory_caches_the_distillations(digits, counting, tmp_path):
    X, y = digits
    kwargs = dict(cv=3, memory=str(tmp_path), refit=False)
    first = DistilledGridSearchCV(LogisticRegression(), {"C": [1.0]}, counting,
                                  **kwargs).fit(X, y)
    assert len(CountingDistiller.calls) == 3
    second = DistilledGridSearchCV(LogisticRegression(), {"C": [0.1, 10.0]}, counting,
                                   **kwargs).fit(X, y)
    assert len(CountingDistiller.calls) == 3  # read from the cache
    np.testing.assert_array_equal(first.n_synthetic_, second.n_synthetic_)


def test_multimetric_needs_select(digits, counting):
    X, y = digits
    scoring = {"acc": "accuracy", "bal": "balanced_accuracy"}
    for select in (None, "f1"):
        with pytest.raises(ValueError, match="set select"):
            DistilledGridSearchCV(LogisticRegression(), {"C": [1.0]}, counting,
                                  scoring=scoring, select=select).fit(X, y)
    assert CountingDistiller.calls == []  # rejected before any distillation
    search = DistilledGridSearchCV(LogisticRegression(), {"C": [0.01, 1.0]}, counting,
                                   scoring=scoring, select="bal", cv=3).fit(X, y)
    assert search.best_index_ == np.argmin(search.cv_results_["rank_test_bal"])
    assert search.best_score_ == search.cv_results_["mean_test_bal"][search.best_index_]
    assert search.score(X, y) == pytest.approx(
        search.scorer_["bal"](search.best_estimator_, X, y))


def test_callable_select_picks_the_best_index(digits, counting):
    X, y = digits
    search = DistilledGridSearchCV(LogisticRegression(), {"C": [0.01, 0.1, 1.0]}, counting,
                                   cv=3, select=lambda results: 0).fit(X, y)
    assert search.best_index_ == 0 and search.best_params_ == {"C": 0.01}
    assert not hasattr(search, "best_score_")


def test_soft_label_distiller_rejected(digits):
    class SoftLabels(PerClass):
        def fit_resample(self, X, y=None):
            X_syn, y_syn = super().fit_resample(X, y)
            return X_syn, np.eye(10)[y_syn]

    with pytest.raises(ValueError, match="hard labels, not soft labels"):
        DistilledGridSearchCV(LogisticRegression(), {"C": [1.0]},
                              SoftLabels(ipc=2, random_state=0), cv=2).fit(*digits)


def test_regression_with_random_subset(counting):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    y = X @ np.arange(5.0) + 0.1 * rng.normal(size=200)
    search = DistilledGridSearchCV(Ridge(), {"alpha": [1e-3, 1e3]},
                                   RandomSubsetDistiller(n_samples=40, random_state=0),
                                   cv=3).fit(X, y)
    assert search.best_params_ == {"alpha": 1e-3}
    assert search.n_train_rows_ == 2 * 3 * 40


def test_images_with_a_skorch_convnet():
    pytest.importorskip("skorch")
    import torch

    from skdd.datasets import load_digits_images
    from skdd.skorch import make_convnet_classifier

    X, _, y, _ = load_digits_images()
    X, y = X[:300], y[:300]
    net = make_convnet_classifier(1, 10, (8, 8), model_kwargs={"width": 8, "depth": 1},
                                  max_epochs=2, batch_size=32)
    torch.manual_seed(0)
    search = DistilledGridSearchCV(net, {"lr": [0.01, 0.1]}, PerClass(ipc=2, random_state=0),
                                   cv=2).fit(X, y)
    assert (search.n_synthetic_ == 20).all()
    assert search.predict(X[:3]).shape == (3,)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_halving_schedule_matches_scikit_learn(digits):
    X, y = digits
    grid = {"C": [0.001, 0.01, 0.1, 1.0, 10.0, 100.0]}
    search = DistilledGridSearchCV(LogisticRegression(max_iter=200), grid,
                                   PerClass(ipc=5, random_state=0), cv=3,
                                   refit=False).fit(X, y)
    halving = budget_matched_halving(search, y, random_state=0).fit(X, y)
    schedule = halving_schedule(6, halving.min_resources, len(y))
    assert [r for _, r in schedule] == halving.n_resources_
    assert [n for n, _ in schedule] == halving.n_candidates_
    rows = sum(n * r * 2 for n, r in schedule)
    assert rows <= search.n_train_rows_ == 6 * 3 * 50
    # the next larger first iteration would exceed the budget
    bigger = halving_schedule(6, halving.min_resources + 1, len(y))
    assert sum(n * r * 2 for n, r in bigger) > search.n_train_rows_
    assert not hasattr(halving, "best_estimator_")


def test_halving_budget_below_the_smallest_first_iteration(digits):
    X, y = digits
    search = DistilledRandomizedSearchCV(LogisticRegression(), {"C": [0.1, 1.0]},
                                         PerClass(ipc=1, random_state=0), n_iter=2, cv=5,
                                         refit=False, random_state=0).fit(X, y)
    halving = budget_matched_halving(search, y)
    assert halving.min_resources == 5 * 10  # every class in each of the 5 folds
    assert halving.n_candidates == 2


def test_search_matches_grid_search_with_the_identity_distiller(digits):
    # a "distillation" that keeps every row makes the search GridSearchCV itself
    X, y = digits
    grid = {"C": [0.1, 1.0]}
    ours = DistilledGridSearchCV(LogisticRegression(max_iter=300), grid,
                                 RandomSubsetDistiller(n_samples=1.0), cv=3).fit(X, y)
    theirs = GridSearchCV(LogisticRegression(max_iter=300), grid, cv=3).fit(X, y)
    np.testing.assert_allclose(ours.cv_results_["mean_test_score"],
                               theirs.cv_results_["mean_test_score"])
    assert ours.best_params_ == theirs.best_params_


@parametrize_with_checks([
    DistilledGridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]},
                          PerClass(ipc=1, random_state=0), cv=2, error_score="raise"),
    DistilledRandomizedSearchCV(Ridge(), {"alpha": [0.1, 1.0]},
                                RandomSubsetDistiller(n_samples=0.5, random_state=0), n_iter=2,
                                cv=2, error_score="raise", random_state=0),
])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# -- sktime --------------------------------------------------------------------------------
@pytest.fixture
def series():
    pytest.importorskip("sktime")
    from skdd.datasets import make_seasonal_series

    return make_seasonal_series(300, 2, random_state=0, as_frame=True)


def _counting_segment_distiller():
    from skdd import RandomSegmentDistiller as Segment

    class CountingSegments(Segment):
        calls = []

        def fit(self, X, y=None):
            CountingSegments.calls.append(len(X))
            return super().fit(X, y)

    return CountingSegments


@pytest.mark.parametrize("strategy", ["no-update_params", "refit"])
def test_forecasting_search_distils_once_per_training_window(series, strategy):
    from sktime.forecasting.naive import NaiveForecaster
    from sktime.performance_metrics.forecasting import MeanSquaredError
    from sktime.split import ExpandingWindowSplitter

    from skdd.model_selection import DistilledForecastingGridSearchCV
    from skdd.sktime import DistilledForecaster

    Segments = _counting_segment_distiller()
    fh = list(range(1, 7))
    cv = ExpandingWindowSplitter(fh=fh, initial_window=200, step_length=30)
    grid = {"strategy": ["last", "mean", "drift"], "window_length": [6, 12]}
    search = DistilledForecastingGridSearchCV(
        NaiveForecaster(), grid, Segments(length=48, seq_len=12, pred_len=6, random_state=0),
        cv=cv, strategy=strategy, scoring=MeanSquaredError()).fit(series, fh=fh)
    # one window (200 rows) without refitting; every window (200, 230, 260, 290) with it
    n_distil = 1 if strategy == "no-update_params" else cv.get_n_splits(series)
    assert n_distil in (1, 4)
    assert len(Segments.calls) == n_distil
    assert Segments.calls[0] == 200
    assert len(search.synthetic_) == n_distil and search.distill_time_.shape == (n_distil,)
    assert len(search.cv_results_) == 6
    assert set(search.best_params_) == {"strategy", "window_length"}
    # refit="full": the plain forecaster on the whole real series
    assert type(search.best_forecaster_) is NaiveForecaster
    assert search.best_forecaster_.cutoff[0] == series.index[-1]
    assert search.predict().shape == (6, 2)
    # the same ranking as sktime's search over DistilledForecaster (distilling per candidate)
    from sktime.forecasting.model_selection import ForecastingGridSearchCV

    plain = ForecastingGridSearchCV(
        DistilledForecaster(Segments(length=48, seq_len=12, pred_len=6, random_state=0),
                            NaiveForecaster()), cv,
        {f"forecaster__{k}": v for k, v in grid.items()}, scoring=MeanSquaredError(),
        strategy=strategy, refit=False).fit(series, fh=fh)
    np.testing.assert_allclose(search.cv_results_["mean_test_MeanSquaredError"],
                               plain.cv_results_["mean_test_MeanSquaredError"])


@pytest.mark.filterwarnings("ignore")
def test_forecasting_search_sktime_check_estimator():
    pytest.importorskip("sktime")
    from sktime.utils.estimator_checks import check_estimator

    from skdd.model_selection import DistilledForecastingGridSearchCV as cls

    # the first test instance and the class-level checks (as for skdd's other adapters)
    results = check_estimator(cls(**cls.get_test_params()[0]), raise_exceptions=False,
                              verbose=False)
    failed = {k: v for k, v in results.items() if v != "PASSED"}
    assert len(results) > 100
    assert not failed, failed


def test_forecasting_search_refit_distilled_and_bad_input(series):
    from sktime.forecasting.naive import NaiveForecaster
    from sktime.split import ExpandingWindowSplitter

    from skdd.model_selection import DistilledForecastingGridSearchCV
    from skdd.sktime import DistilledForecaster

    Segments = _counting_segment_distiller()
    cv = ExpandingWindowSplitter(fh=[1, 2], initial_window=200, step_length=50)
    distiller = Segments(length=48, seq_len=12, pred_len=6, random_state=0)
    search = DistilledForecastingGridSearchCV(NaiveForecaster(), {"strategy": ["last", "mean"]},
                                              distiller, cv=cv, refit="distilled")
    search.fit(series, fh=[1, 2])
    assert isinstance(search.best_forecaster_, DistilledForecaster)
    assert search.best_forecaster_.synthetic_.shape == (48, 2)
    for bad, match in [(dict(param_grid={}), "param_grid is empty"),
                       (dict(refit="yes"), "refit="),
                       (dict(distiller=StandardScaler()), "no fit_resample"),
                       (dict(strategy="sometimes"), "strategy=")]:
        with pytest.raises((ValueError, TypeError), match=match):
            clone(search).set_params(**bad).fit(series, fh=[1, 2])


def test_tune_benchmark_reports_the_four_figures():
    from skdd.benchmarks._tune import format_tune_table, run_tune_benchmark

    result = run_tune_benchmark("digits", "random", ipc=2, seeds=[0], cv=2, models=["logreg"],
                                baselines=("halving",), log=lambda *a: None)
    out = result["runs"][0]["models"]["logreg"]
    assert len(out["candidates"]) == 7 == len(out["full"]["scores"])
    dist = out["random"]
    assert -1 <= dist["spearman"] <= 1 and 0 <= dist["top5_overlap"] <= 1
    assert dist["train_rows"] == 7 * 2 * 20
    assert {"regret_pct", "seconds", "test_accuracy"} <= set(out["halving"])
    assert "logreg" in format_tune_table(result)


def test_forecast_tune_ranks_settings_on_a_distilled_series(monkeypatch):
    import skdd.forecasting as forecasting
    from skdd.benchmarks._demo import default_splits
    from skdd.benchmarks._tune_forecast import (FORECAST_GRIDS, format_forecast_tune_table,
                                                forecast_candidates, run_forecast_tune)

    assert all(len(forecast_candidates(m)) >= 24 for m in FORECAST_GRIDS)
    cands = [{"recipe": {"lr": lr, "epochs": 2}, "model": {"moving_avg": k}}
             for lr in (1e-3, 1e-2) for k in (5, 13)]
    fits = []
    real_fit = forecasting.fit_forecaster
    monkeypatch.setattr(forecasting, "fit_forecaster",
                        lambda name, train, **kw: fits.append(len(train)) or real_fit(
                            name, train, **kw))
    splits = default_splits(24)
    result = run_forecast_tune("seasonal", "random", baselines=(), seeds=[0], length=96,
                               seq_len=24, pred_len=12, splits=splits, candidates=cands,
                               log=None)
    run = result["runs"][0]["methods"]
    # every candidate once on the full train split (its refit) and once on the segment
    assert sorted(fits) == [96] * 4 + [len(splits.train)] * 4
    full, dist = run["full"], run["random"]
    assert len(full["val_mse"]) == len(dist["val_mse"]) == 4
    assert full["best"] == int(np.argmin(full["val_mse"]))
    assert dist["test_mse_of_choice"] == full["test_mse"][dist["best"]]
    assert dist["regret_pct"] == pytest.approx(
        100 * (dist["test_mse_of_choice"] / full["test_mse_of_choice"] - 1))
    assert -1 <= dist["spearman"] <= 1 and dist["top5_overlap"] in (0.25, 0.5, 0.75, 1.0)
    assert "random" in format_forecast_tune_table(result)
    # updates="matched": as many updates on the 96-step series as on the full split
    fits.clear()
    epochs = []
    monkeypatch.setattr(forecasting, "fit_forecaster",
                        lambda name, train, **kw: epochs.append((len(train), kw["recipe"].epochs))
                        or real_fit(name, train, **kw))
    matched = run_forecast_tune("seasonal", "random", baselines=(), seeds=[0], length=96,
                                seq_len=24, pred_len=12, splits=splits, candidates=cands[:2],
                                updates="matched", log=None)
    full_batches = -(-(len(splits.train) - 36 + 1) // 32)
    assert sorted(set(epochs)) == [(96, round(2 * full_batches / 2)), (len(splits.train), 2)]
    assert matched["updates"] == "matched"
    with pytest.raises(ValueError, match="updates="):
        run_forecast_tune("seasonal", "random", splits=splits, candidates=cands, seq_len=24,
                          pred_len=12, updates="steps", log=None)
    # recipes="protocol": architecture candidates, each data kind under its own recipe
    arch = forecast_candidates("itransformer", "protocol")
    assert len(arch) == 24 and all(c["recipe"] == {} for c in arch)
    epochs.clear()
    proto = run_forecast_tune("seasonal", "random", baselines=(), seeds=[0], length=96,
                              seq_len=24, pred_len=12, splits=splits, recipes="protocol",
                              protocol="v1",
                              candidates=[{"recipe": {}, "model": {"moving_avg": k}}
                                          for k in (5, 13)], log=None)
    from skdd.forecasting import get_recipe
    assert sorted(set(epochs)) == sorted({(96, get_recipe("dlinear", "random").epochs),
                                          (len(splits.train), get_recipe("dlinear", "full").epochs)})
    assert proto["recipes"] == "protocol"
    with pytest.raises(ValueError, match="no tuning grid"):
        forecast_candidates("dlinear", "protocol")
    with pytest.raises(ValueError, match="no tuning grid"):
        forecast_candidates("lstm")
    with pytest.raises(ValueError, match="at least two candidates"):
        run_forecast_tune("seasonal", "random", splits=splits, candidates=cands[:1], seq_len=24,
                          pred_len=12, log=None)
    with pytest.raises(ValueError, match="unknown distiller"):
        run_forecast_tune("seasonal", "nope", splits=splits, candidates=cands, seq_len=24,
                          pred_len=12, log=None)
