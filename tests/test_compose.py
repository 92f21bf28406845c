"""DistilledClassifier / DistilledRegressor / RandomSubsetDistiller, and distillers as
imbalanced-learn samplers: sklearn's estimator checks, the "distil the training fold,
predict every real row" contract, grid searches and memory caching."""
import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator
from sklearn.datasets import load_digits, make_regression
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from skdd import load_distilled
from skdd.compose import DistilledClassifier, DistilledRegressor, RandomSubsetDistiller

try:
    from skdd.classification import RandomPerClassDistiller as ClassRandom
except ImportError:  # the classification distillers are not there yet: a stand-in
    class ClassRandom(BaseEstimator):
        """ipc random real samples per class (stand-in for RandomPerClassDistiller)."""

        def __init__(self, ipc=1, random_state=None, device="auto"):
            self.ipc = ipc
            self.random_state = random_state
            self.device = device

        def fit(self, X, y):
            X, y = np.asarray(X), np.asarray(y)
            rng = np.random.default_rng(self.random_state)
            self.classes_ = np.unique(y)
            idx = np.concatenate([rng.permutation(np.flatnonzero(y == c))[:self.ipc]
                                  for c in self.classes_])
            self.X_syn_, self.y_syn_ = X[idx], y[idx]
            return self

        def fit_resample(self, X, y):
            self.fit(X, y)
            return self.X_syn_, self.y_syn_

# -- sklearn's estimator checks ------------------------------------------------------
# Expected failures, with the reason; none so far.
EXPECTED_FAILURES = {}
CHECKED = [
    DistilledClassifier(ClassRandom(ipc=3, random_state=0), LogisticRegression()),
    DistilledRegressor(RandomSubsetDistiller(n_samples=0.5, random_state=0), Ridge()),
    RandomSubsetDistiller(n_samples=1, random_state=0),
    RandomSubsetDistiller(n_samples=0.3, random_state=0),
]


@parametrize_with_checks(CHECKED, expected_failed_checks=lambda est: EXPECTED_FAILURES.get(
    type(est).__name__, {}))
def test_sklearn_compatible(estimator, check):
    check(estimator)


# -- recording helpers (module level so they pickle and hash for joblib.Memory) ------------
CALLS = []  # (who, n_rows) records


class CountingDistiller(ClassRandom):
    """Records every fit_resample call and the rows it received."""

    def fit_resample(self, X, y):
        CALLS.append(("distil", len(X)))
        return super().fit_resample(X, y)


class RecordingLogisticRegression(LogisticRegression):
    """Records the rows seen by fit and predict."""

    def fit(self, X, y):
        CALLS.append(("fit", len(X)))
        return super().fit(X, y)

    def predict(self, X):
        CALLS.append(("predict", len(X)))
        return super().predict(X)


@pytest.fixture
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:600] / 16.0, y[:600]


@pytest.fixture(autouse=True)
def _clear_calls():
    CALLS.clear()
    yield
    CALLS.clear()


# -- DistilledClassifier ----------------------------------------------------------------
def test_classifier_distils_training_fold_only(digits):
    X, y = digits
    X_train, y_train, X_test = X[:400], y[:400], X[400:]
    clf = DistilledClassifier(CountingDistiller(ipc=3, random_state=0),
                              RecordingLogisticRegression(max_iter=500)).fit(X_train, y_train)
    # the distiller saw the training rows, the estimator only the 30 synthetic samples
    assert CALLS == [("distil", 400), ("fit", 30)]
    assert clf.n_synthetic_ == 30 and clf.distiller_.X_syn_.shape == (30, 64)
    np.testing.assert_array_equal(clf.classes_, np.arange(10))
    pred = clf.predict(X_test)
    assert CALLS[-1] == ("predict", 200) and pred.shape == (200,)
    assert clf.predict_proba(X_test).shape == (200, 10)
    assert clf.decision_function(X_test).shape == (200, 10)
    # "train on distilled, test on real": 3 images per class beat chance by far
    assert clf.score(X_test, y[400:]) > 0.6


def test_classifier_keeps_label_space_and_frames(digits):
    X, y = digits
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                      "nine"])
    frame = pd.DataFrame(X, columns=[f"px{i}" for i in range(64)])
    clf = DistilledClassifier(ClassRandom(ipc=2, random_state=0),
                              LogisticRegression(max_iter=500)).fit(frame, names[y])
    assert set(clf.classes_) == set(names) and list(clf.feature_names_in_[:2]) == ["px0", "px1"]
    assert set(clf.predict(frame)) <= set(names)
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(frame.iloc[:, :10])
    with pytest.warns(UserWarning, match="feature names"), \
            pytest.raises(ValueError, match="X has 10 features"):
        clf.predict(X[:, :10])


def test_classifier_rejects_bad_components(digits):
    X, y = digits
    with pytest.raises(ValueError, match="distiller=.*fit_resample"):
        DistilledClassifier(LogisticRegression(), LogisticRegression()).fit(X, y)
    with pytest.raises(ValueError, match="estimator=.*fit"):
        DistilledClassifier(ClassRandom(), object()).fit(X, y)

    class DropsClasses(ClassRandom):
        def fit_resample(self, X, y):
            X_syn, y_syn = super().fit_resample(X, y)
            keep = y_syn != y_syn[0]
            return X_syn[keep], y_syn[keep]

    with pytest.raises(ValueError, match="lacks the classes"):
        DistilledClassifier(DropsClasses(), LogisticRegression()).fit(X, y)


def test_forecasting_distiller_is_refused_with_a_pointer(small_series):
    from skdd import RandomSegmentDistiller

    y = np.arange(len(small_series)) % 2
    clf = DistilledClassifier(RandomSegmentDistiller(length=48, seq_len=12, pred_len=12),
                              LogisticRegression())
    with pytest.raises(ValueError, match="DistilledForecaster"):
        clf.fit(small_series, y)


def test_memory_caches_distillation_in_grid(digits, tmp_path):
    X, y = digits
    clf = DistilledClassifier(CountingDistiller(ipc=2, random_state=0),
                              LogisticRegression(max_iter=300), memory=str(tmp_path))
    grid = GridSearchCV(clf, {"estimator__C": [0.1, 1.0, 10.0]}, cv=3).fit(X, y)
    distils = [n for who, n in CALLS if who == "distil"]
    # one distillation per training fold (+ the refit on all rows), not one per C
    assert distils == [400, 400, 400, 600]
    assert grid.best_params_["estimator__C"] in (0.1, 1.0, 10.0)
    # without memory: once per candidate and fold
    CALLS.clear()
    GridSearchCV(clf.set_params(memory=None), {"estimator__C": [0.1, 1.0]}, cv=3).fit(X, y)
    assert sum(who == "distil" for who, _ in CALLS) == 7


def test_grid_over_distiller_parameter(digits):
    X, y = digits
    clf = DistilledClassifier(ClassRandom(random_state=0), LogisticRegression(max_iter=300))
    grid = GridSearchCV(clf, {"distiller__ipc": [1, 10]}, cv=3).fit(X, y)
    scores = grid.cv_results_["mean_test_score"]
    assert scores[1] > scores[0]  # more samples per class train a better model
    assert grid.best_params_ == {"distiller__ipc": 10}
    assert grid.best_estimator_.n_synthetic_ == 100


def test_series_and_images_pass_through(digits):
    X, y = digits
    images = X.reshape(-1, 1, 8, 8)

    class FlatLR(LogisticRegression):
        def fit(self, X, y):
            return super().fit(X.reshape(len(X), -1), y)

        def predict(self, X):
            return super().predict(X.reshape(len(X), -1))

    clf = DistilledClassifier(ClassRandom(ipc=2, random_state=0), FlatLR(max_iter=300))
    clf.fit(images, y)
    assert clf.distiller_.X_syn_.shape == (20, 1, 8, 8) and clf.n_features_in_ == 1
    assert clf.predict(images).shape == (600,)
    series = X.reshape(-1, 2, 32)
    assert clf.fit(series, y).distiller_.X_syn_.shape == (20, 2, 32)


def test_save_load_round_trip_of_distilled_set(tmp_path):
    X, y = make_regression(200, 5, noise=1.0, random_state=0)
    reg = DistilledRegressor(RandomSubsetDistiller(n_samples=40, random_state=3), Ridge())
    reg.fit(X, y)
    path = reg.distiller_.save_distilled(tmp_path / "subset")
    loaded = load_distilled(path)
    np.testing.assert_array_equal(loaded.X_syn, reg.distiller_.X_syn_)
    np.testing.assert_array_equal(loaded.y_syn, reg.distiller_.y_syn_)
    assert loaded.metadata["estimator"] == "RandomSubsetDistiller"
    assert loaded.metadata["params"]["n_samples"] == 40
    # a model trained on the loaded set predicts exactly like the meta-estimator
    np.testing.assert_allclose(Ridge().fit(loaded.X_syn, loaded.y_syn).predict(X),
                               reg.predict(X))


# -- DistilledRegressor and RandomSubsetDistiller ----------------------------------------
def test_regressor_trains_on_subset_only():
    X, y = make_regression(300, 4, noise=5.0, random_state=0)
    reg = DistilledRegressor(RandomSubsetDistiller(n_samples=30, random_state=0), Ridge())
    reg.fit(X[:200], y[:200])
    idx = reg.distiller_.indices_
    assert idx.shape == (30,) and (np.diff(idx) > 0).all() and idx.max() < 200
    np.testing.assert_allclose(reg.estimator_.coef_,
                               Ridge().fit(X[idx], y[idx]).coef_)
    assert reg.score(X[200:], y[200:]) > 0.9
    scores = cross_val_score(reg, X, y, cv=3)
    assert scores.shape == (3,) and (scores > 0.9).all()
    # multi-output targets
    Y = np.c_[y, -y]
    assert reg.fit(X, Y).predict(X).shape == (300, 2)


def test_random_subset_validation_and_seeding():
    X, y = np.arange(40.0).reshape(20, 2), np.arange(20.0)
    with pytest.raises(ValueError, match="n_samples=21 exceeds"):
        RandomSubsetDistiller(n_samples=21).fit(X, y)
    with pytest.raises(ValueError, match="n_samples must be an integer"):
        RandomSubsetDistiller(n_samples=0).fit(X, y)
    with pytest.raises(ValueError, match=r"float in \(0, 1\]"):
        RandomSubsetDistiller(n_samples=1.5).fit(X, y)
    assert RandomSubsetDistiller(n_samples=0.25).fit(X, y).X_syn_.shape == (5, 2)
    with pytest.raises(ValueError, match="requires y"):
        RandomSubsetDistiller().fit(X, None)
    a = RandomSubsetDistiller(n_samples=5, random_state=7).fit(X, y).indices_
    b = RandomSubsetDistiller(n_samples=5, random_state=7).fit(X, y).indices_
    np.testing.assert_array_equal(a, b)


# -- imbalanced-learn: distillers as samplers ------------------------------------------
def test_imblearn_pipeline_distils_in_fit_only(digits):
    pytest.importorskip("imblearn")
    from imblearn.pipeline import Pipeline

    X, y = digits
    pipe = Pipeline([("distiller", CountingDistiller(ipc=5, random_state=0)),
                     ("clf", RecordingLogisticRegression(max_iter=500))])
    pipe.fit(X[:450], y[:450])
    assert CALLS == [("distil", 450), ("fit", 50)]
    pred = pipe.predict(X[450:])
    # the sampler is skipped at predict time: every real test row reaches the model
    assert CALLS[2:] == [("predict", 150)] and pred.shape == (150,)
    pipe.score(X[450:], y[450:])
    assert [who for who, _ in CALLS].count("distil") == 1


def test_imblearn_grid_over_distiller_ipc_and_memory(digits, tmp_path):
    pytest.importorskip("imblearn")
    from imblearn.pipeline import Pipeline, make_pipeline

    X, y = digits
    pipe = make_pipeline(ClassRandom(random_state=0), LogisticRegression(max_iter=300))
    step = pipe.steps[0][0]  # "randomperclassdistiller"
    grid = GridSearchCV(pipe, {f"{step}__ipc": [1, 10]}, cv=3).fit(X, y)
    assert list(grid.best_params_.values()) == [10]

    cached = Pipeline([("distiller", CountingDistiller(ipc=2, random_state=0)),
                       ("clf", LogisticRegression(max_iter=300))], memory=str(tmp_path))
    GridSearchCV(cached, {"clf__C": [0.1, 1.0, 10.0]}, cv=3).fit(X, y)
    assert [n for who, n in CALLS if who == "distil"] == [400, 400, 400, 600]


def test_import_skdd_imports_no_optional_package():
    import subprocess
    import sys

    code = ("import sys, skdd, skdd.compose; print(sorted(m for m in ('sktime', 'imblearn', "
            "'skorch', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


# -- pandas in, pandas out (the imbalanced-learn sampler convention) -----------------------
def _labelled_distillers():
    from skdd.classification import DMDistiller, RandomPerClassDistiller

    return [RandomPerClassDistiller(ipc=3, random_state=0),
            DMDistiller(ipc=2, max_iter=2, batch_real=8, net_width=8, net_depth=1,
                        device="cpu", random_state=0),
            RandomSubsetDistiller(n_samples=40, random_state=0)]


@pytest.fixture
def digit_frame(digits):
    X, y = digits
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                      "nine"])
    frame = pd.DataFrame(X, columns=[f"pixel{i}" for i in range(X.shape[1])])
    return frame, pd.Series(names[y], name="digit")


@pytest.mark.parametrize("distiller", _labelled_distillers(),
                         ids=lambda d: type(d).__name__)
def test_fit_resample_returns_the_input_containers(distiller, digit_frame):
    X, y = digit_frame
    X_syn, y_syn = distiller.fit_resample(X, y)
    assert isinstance(X_syn, pd.DataFrame) and list(X_syn.columns) == list(X.columns)
    assert isinstance(y_syn, pd.Series) and y_syn.name == "digit" and y_syn.dtype == y.dtype
    assert len(X_syn) == len(y_syn) == len(distiller.y_syn_)
    assert set(y_syn) <= set(y)
    # fitted attributes stay arrays; array input gives arrays
    assert isinstance(distiller.X_syn_, np.ndarray)
    X_arr, y_arr = distiller.fit_resample(X.to_numpy(), y.to_numpy())
    assert isinstance(X_arr, np.ndarray) and isinstance(y_arr, np.ndarray)
    np.testing.assert_array_equal(X_arr, X_syn.to_numpy())


def test_fit_resample_keeps_series_input_as_arrays(digits):
    from skdd.classification import RandomPerClassDistiller

    X, y = digits
    series = X.reshape(len(X), 1, -1)
    X_syn, y_syn = RandomPerClassDistiller(ipc=2, random_state=0).fit_resample(
        series, pd.Series(y, name="label"))
    assert isinstance(X_syn, np.ndarray) and X_syn.shape == (20, 1, 64)
    assert isinstance(y_syn, pd.Series) and y_syn.name == "label"


@pytest.mark.parametrize("distiller", _labelled_distillers(),
                         ids=lambda d: type(d).__name__)
def test_imblearn_pipeline_on_frames_raises_no_feature_name_warning(distiller, digit_frame):
    pytest.importorskip("imblearn")
    import warnings

    from imblearn.pipeline import make_pipeline

    X, y = digit_frame
    pipe = make_pipeline(distiller, LogisticRegression(max_iter=300))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pipe.fit(X[:400], y[:400])
        pred = pipe.predict(X[400:])
        pipe.score(X[400:], y[400:])
    assert pred.shape == (len(X) - 400,) and set(pred) <= set(y)
    assert list(pipe[-1].feature_names_in_) == list(X.columns)
