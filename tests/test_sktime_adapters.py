"""sktime integration: DistilledForecaster, DistillerTransformer and NeuralForecaster under
sktime's estimator checks, evaluate / ForecastingGridSearchCV, sktime's own DLinear as the
inner forecaster, and a real ETTh1 slice."""
import warnings

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("sktime")

from sktime.forecasting.base import ForecastingHorizon  # noqa: E402
from sktime.forecasting.model_evaluation import evaluate  # noqa: E402
from sktime.forecasting.model_selection import ForecastingGridSearchCV  # noqa: E402
from sktime.forecasting.naive import NaiveForecaster  # noqa: E402
from sktime.split import ExpandingWindowSplitter  # noqa: E402
from sktime.utils.estimator_checks import check_estimator  # noqa: E402

from skdd import RandomSegmentDistiller, load_distilled  # noqa: E402
from skdd.datasets import make_seasonal_series  # noqa: E402
from skdd.sktime import DistilledForecaster, DistillerTransformer, NeuralForecaster  # noqa: E402

pytestmark = pytest.mark.filterwarnings(
    "ignore:The default of config ``remember_data``:FutureWarning")

# sktime's checks that are expected to fail, with the reason; none so far.
EXPECTED_FAILURES = {}


@pytest.mark.parametrize("cls", [DistilledForecaster, DistillerTransformer, NeuralForecaster])
def test_sktime_check_estimator(cls):
    # the first test instance and the class-level checks (the second instance only adds
    # the same checks on other cheap settings)
    estimator = cls(**cls.get_test_params()[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(estimator, raise_exceptions=False, verbose=False)
    failed = {k: v for k, v in results.items()
              if v != "PASSED" and k not in EXPECTED_FAILURES.get(cls.__name__, ())}
    assert len(results) > 100
    assert not failed, failed


# -- helpers ------------------------------------------------------------------------
DISTIL_CALLS = []


class CountingRandom(RandomSegmentDistiller):
    """RandomSegmentDistiller recording the length of every series it distils."""

    def fit_resample(self, X, y=None):
        DISTIL_CALLS.append(len(X))
        return super().fit_resample(X, y)


@pytest.fixture(autouse=True)
def _clear():
    DISTIL_CALLS.clear()


@pytest.fixture
def frame():
    return make_seasonal_series(400, 2, random_state=0, as_frame=True)


def _tiny_dlinear(**kw):
    return NeuralForecaster("dlinear", seq_len=24, pred_len=12, epochs=5, device="cpu",
                            random_state=0, **kw)


# -- DistilledForecaster -----------------------------------------------------------
def test_inner_forecaster_trains_on_synthetic_and_forecasts_from_real(frame):
    f = DistilledForecaster(CountingRandom(length=96, seq_len=24, pred_len=12, random_state=0),
                            _tiny_dlinear())
    f.fit(frame, fh=np.arange(1, 13))
    assert DISTIL_CALLS == [400]
    syn = f.synthetic_
    # the synthetic series: the distiller's output, the real columns, the first 96 stamps
    np.testing.assert_array_equal(syn.to_numpy(dtype=np.float32), f.distiller_.X_syn_)
    assert list(syn.columns) == ["x0", "x1"] and syn.index.equals(frame.index[:96])
    inner = f.forecaster_
    # trained on the synthetic windows only: its scaling and its window count say so
    np.testing.assert_allclose(inner.mean_, syn.to_numpy().mean(0), rtol=1e-6)
    assert inner.history_["epochs"] == 5
    # ... but forecasts from the real context: the last 24 real rows
    assert inner.cutoff == frame.index[-1] == f.cutoff
    pred = f.predict()
    assert pred.index.equals(pd.date_range(frame.index[-1], periods=13, freq="h")[1:])
    by_hand = _tiny_dlinear().fit(syn)
    by_hand.update(frame, update_params=False)
    np.testing.assert_allclose(pred.to_numpy(), by_hand.predict(fh=np.arange(1, 13)).to_numpy(),
                               rtol=1e-5)


def test_update_modes(frame):
    f = DistilledForecaster(CountingRandom(length=96, seq_len=24, pred_len=12, random_state=0),
                            _tiny_dlinear())
    f.fit(frame[:300], fh=[1, 2, 3])
    model = f.forecaster_.model_
    weights = [p.detach().clone() for p in model.parameters()]
    f.update(frame[300:350], update_params=False)  # context only: no distillation, no training
    assert DISTIL_CALLS == [300] and f.forecaster_.model_ is model
    assert all((a == b).all() for a, b in zip(weights, model.parameters()))
    assert f.predict().index[0] == frame.index[350]
    f.update(frame[350:], update_params=True)  # distils all 400 points seen again
    assert DISTIL_CALLS == [300, 400] and f.forecaster_.model_ is not model
    assert f.predict().index[0] == frame.index[-1] + pd.Timedelta(hours=1)


def test_evaluate_no_update_params_distils_once(frame):
    f = DistilledForecaster(CountingRandom(length=96, seq_len=24, pred_len=12, random_state=0),
                            _tiny_dlinear())
    cv = ExpandingWindowSplitter(fh=list(range(1, 13)), initial_window=300, step_length=20)
    res = evaluate(f, cv, frame, strategy="no-update_params", return_data=True)
    assert len(res) == 5 and np.isfinite(res.iloc[:, 0]).all()
    assert DISTIL_CALLS == [300]  # distilled on the first training window only
    # with refit, every fold distils its own training window
    DISTIL_CALLS.clear()
    evaluate(f, cv, frame, strategy="refit")
    assert DISTIL_CALLS == [300, 320, 340, 360, 380]


def test_grid_search_over_distiller_parameters(frame):
    f = DistilledForecaster(RandomSegmentDistiller(length=48, seq_len=24, pred_len=12,
                                                   random_state=0),
                            NaiveForecaster(strategy="mean", window_length=24))
    cv = ExpandingWindowSplitter(fh=list(range(1, 13)), initial_window=300, step_length=40)
    grid = ForecastingGridSearchCV(f, cv, {"distiller__length": [48, 96],
                                           "distiller__random_state": [0, 1]},
                                   strategy="no-update_params", backend=None)
    grid.fit(frame)
    assert len(grid.cv_results_) == 4
    assert set(grid.best_params_) == {"distiller__length", "distiller__random_state"}
    assert grid.best_forecaster_.distiller_.X_syn_.shape[0] == grid.best_params_["distiller__length"]
    assert grid.predict(fh=[1, 2]).shape == (2, 2)


def test_sktime_ltsf_dlinear_as_inner_forecaster(frame):
    pytest.importorskip("torch")
    from sktime.forecasting.ltsf import LTSFDLinearForecaster

    inner = LTSFDLinearForecaster(seq_len=24, pred_len=12, num_epochs=2, batch_size=16,
                                  in_channels=2)
    f = DistilledForecaster(RandomSegmentDistiller(length=96, seq_len=24, pred_len=12,
                                                   random_state=0),
                            inner)
    assert f.get_tag("requires-fh-in-fit")  # cloned from the inner forecaster
    fh = ForecastingHorizon(np.arange(1, 13))
    f.fit(frame, fh=fh)
    # trained on the 96 synthetic points; the context is the real series
    assert f.forecaster_._cur_y.index.equals(frame.index)
    pred = f.predict()
    assert pred.shape == (12, 2) and pred.index[0] == frame.index[-1] + pd.Timedelta(hours=1)
    assert np.isfinite(pred.to_numpy()).all()
    cv = ExpandingWindowSplitter(fh=fh, initial_window=340, step_length=24)
    res = evaluate(f, cv, frame, strategy="no-update_params")
    assert len(res) == 3


def test_univariate_series_and_errors():
    from sktime.datasets import load_airline

    y = load_airline()
    f = DistilledForecaster(RandomSegmentDistiller(length=48, seq_len=12, pred_len=12,
                                                   random_state=0),
                            NaiveForecaster())
    pred = f.fit(y, fh=[1, 2]).predict()
    assert isinstance(pred, pd.Series) and pred.iloc[0] == y.iloc[-1]
    from skdd.compose import RandomSubsetDistiller

    with pytest.raises(ValueError, match="fit_resample"):
        DistilledForecaster(NaiveForecaster(), NaiveForecaster()).fit(y, fh=[1])
    with pytest.raises(ValueError, match="not an sktime forecaster"):
        DistilledForecaster(RandomSegmentDistiller(length=48, seq_len=12, pred_len=12),
                            RandomSegmentDistiller()).fit(y, fh=[1])
    with pytest.raises((ValueError, TypeError)):
        DistilledForecaster(RandomSubsetDistiller(), NaiveForecaster()).fit(y, fh=[1])
    with pytest.raises(ValueError, match="too short"):
        DistilledForecaster(RandomSegmentDistiller(length=500, seq_len=12, pred_len=12),
                            NaiveForecaster()).fit(y, fh=[1])


def test_save_load_round_trip(frame, tmp_path):
    f = DistilledForecaster(RandomSegmentDistiller(length=96, seq_len=24, pred_len=12,
                                                   random_state=4),
                            NaiveForecaster()).fit(frame, fh=[1])
    path = f.distiller_.save_distilled(tmp_path / "syn.npz")
    loaded = load_distilled(path)
    np.testing.assert_array_equal(loaded.X_syn, f.synthetic_.to_numpy(dtype=np.float32))
    assert loaded.metadata["channel_names"] == ["x0", "x1"]
    assert loaded.to_frame().columns.tolist() == f.synthetic_.columns.tolist()
    # the loaded set trains the same inner forecaster
    again = _tiny_dlinear().fit(loaded.to_frame().set_index(frame.index[:96]))
    direct = _tiny_dlinear().fit(f.synthetic_)
    np.testing.assert_allclose(again.predict(fh=[1, 2]).to_numpy(),
                               direct.predict(fh=[1, 2]).to_numpy(), rtol=1e-6)


# -- DistillerTransformer ----------------------------------------------------------
def test_transformer_fit_transform_and_fresh_series(frame):
    t = DistillerTransformer(CountingRandom(length=64, seq_len=16, pred_len=16, random_state=2))
    out = t.fit_transform(frame)
    assert DISTIL_CALLS == [400]  # fit_transform distils once
    np.testing.assert_array_equal(out.to_numpy(dtype=np.float32), t.distiller_.X_syn_)
    assert out.index.equals(frame.index[:64]) and list(out.columns) == ["x0", "x1"]
    other = frame[100:300] * 2.0
    fresh = t.transform(other)  # another series: distilled afresh, state untouched
    assert DISTIL_CALLS == [400, 200] and fresh.index.equals(other.index[:64])
    np.testing.assert_array_equal(t.transform(frame).to_numpy(), out.to_numpy())
    assert DISTIL_CALLS == [400, 200]


# -- NeuralForecaster ----------------------------------------------------------------
@pytest.mark.parametrize("backbone,kwargs", [
    ("dlinear", {}),
    ("itransformer", {"d_model": 16, "d_ff": 16, "n_heads": 2, "n_layers": 1}),
    ("xpatch", {"patch_len": 8, "stride": 4}),
])
def test_neural_forecaster_backbones(frame, backbone, kwargs):
    f = NeuralForecaster(backbone, seq_len=24, pred_len=12, epochs=2, model_kwargs=kwargs,
                         device="cpu", random_state=0).fit(frame[:300])
    long = f.predict(fh=np.arange(1, 31))  # 30 steps: three passes of 12
    assert long.shape == (30, 2) and np.isfinite(long.to_numpy()).all()
    np.testing.assert_allclose(f.predict(fh=np.arange(1, 13)).to_numpy(), long.to_numpy()[:12],
                               rtol=1e-5)
    # the forecast is the backbone's on the last 24 standardised observations
    import torch

    ctx = (frame[:300].to_numpy()[-24:] - f.mean_) / f.scale_
    with torch.no_grad():
        raw = f.model_(torch.as_tensor(ctx[None], dtype=torch.float32))[0].numpy()
    np.testing.assert_allclose(long.to_numpy()[:12], raw * f.scale_ + f.mean_, rtol=1e-4,
                               atol=1e-4)


def test_neural_forecaster_validation(frame):
    with pytest.raises(ValueError, match="seq_len \\+ pred_len = 36"):
        NeuralForecaster(seq_len=24, pred_len=12).fit(frame[:30])
    with pytest.raises(ValueError, match="backbone="):
        NeuralForecaster("lstm", seq_len=24, pred_len=12).fit(frame)
    with pytest.raises(ValueError, match="seq_len must be"):
        NeuralForecaster(seq_len=0).fit(frame)


# -- real data: an ETTh1 slice -----------------------------------------------------------
def test_evaluate_on_etth1_slice(data_home):
    from conftest import require_file
    from sktime.performance_metrics.forecasting import MeanSquaredError

    from skdd.datasets import load_ett
    from skdd.forecasting import HarmonicDistiller

    require_file(data_home, "ett/ETTh1.csv.gz")
    raw = load_ett("ETTh1", data_home=data_home).iloc[:1600]
    train = raw.iloc[:1200]
    y = (raw - train.mean()) / train.std()  # train-only scaling, as the protocol does
    hdt = HarmonicDistiller(length=240, seq_len=96, pred_len=24, n_harmonics=16, max_iter=10,
                            n_experts=1, expert_epochs=2, n_subsequences=4, device="cpu",
                            random_state=0)
    f = DistilledForecaster(hdt, NeuralForecaster("dlinear", seq_len=96, pred_len=24,
                                                  device="cpu", random_state=0))
    cv = ExpandingWindowSplitter(fh=list(range(1, 25)), initial_window=1200, step_length=100)
    res = evaluate(f, cv, y, strategy="no-update_params", scoring=MeanSquaredError(),
                   return_data=True, return_model=True)
    assert len(res) == 4
    mse = res["test_MeanSquaredError"].to_numpy()
    assert np.isfinite(mse).all()
    # the distiller saw the first training window only, the inner model its 240 points
    assert res["y_train"].iloc[0].shape == (1200, 7)
    f = res["fitted_forecaster"].iloc[-1]
    assert f.forecaster_.cutoff[0] == y.index[1199 + 300]
    assert f.synthetic_.shape == (240, 7) and list(f.synthetic_.columns) == list(raw.columns)
    assert isinstance(f.synthetic_.index, pd.DatetimeIndex)
    # a model trained on 240 distilled points forecasts a day ahead far better than the
    # unconditional mean (MSE 1 on standardised data)
    assert mse.mean() < 1.0


@pytest.mark.gpu
@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="CUDA is not available")
def test_distilled_forecaster_on_cuda(frame):
    from skdd import HarmonicDistiller

    hdt = HarmonicDistiller(length=96, seq_len=24, pred_len=12, n_harmonics=8, max_iter=3,
                            n_experts=1, expert_epochs=1, expert_span=1, n_subsequences=2,
                            device="cuda",
                            random_state=0)
    f = DistilledForecaster(hdt, NeuralForecaster("dlinear", seq_len=24, pred_len=12,
                                                  epochs=2, device="cuda", random_state=0))
    pred = f.fit(frame, fh=np.arange(1, 25)).predict()
    assert f.distiller_.device_.startswith("cuda")
    assert next(f.forecaster_.model_.parameters()).is_cuda
    assert pred.shape == (24, 2) and np.isfinite(pred.to_numpy()).all()
