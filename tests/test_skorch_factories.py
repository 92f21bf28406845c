"""skorch factories: skdd's backbones as sklearn estimators in pipelines and grids."""
import numpy as np
import pytest
import torch

pytest.importorskip("skorch")

from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402

from skdd import DistilledClassifier  # noqa: E402
from skdd.datasets import load_digits_images, make_seasonal_series  # noqa: E402
from skdd.forecasting import evaluate_forecaster, get_recipe, make_windows  # noqa: E402
from skdd.nn import ConvNet, DLinear, ITransformer, XPatch  # noqa: E402
from skdd.skorch import (SkddNetClassifier, SkddNetRegressor,  # noqa: E402
                         make_convnet_classifier, make_forecasting_net)
from skdd.utils import seeded, torch_threads  # noqa: E402


@pytest.fixture(autouse=True)
def _one_thread():
    # skorch trains in the caller's torch settings: use skdd's default (SKDD_NUM_THREADS or 1)
    with torch_threads(None):
        yield


@pytest.fixture
def windows():
    series = make_seasonal_series(400, 2, random_state=0)  # float64
    train, test = series[:300], series[300:].astype(np.float32)
    X, Y = make_windows(train, seq_len=48, pred_len=12)  # read-only float64 views
    return X, Y, test


def neg_mse(est, X, y):
    return -float(((est.predict(X) - y) ** 2).mean())


@pytest.mark.parametrize("backbone,module,kwargs", [
    ("dlinear", DLinear, {}),
    ("itransformer", ITransformer, {"d_model": 16, "d_ff": 16, "n_heads": 2}),
    ("xpatch", XPatch, {"patch_len": 8, "stride": 4}),
])
def test_forecasting_net_trains_on_windows(windows, backbone, module, kwargs):
    X, Y, test = windows
    net = make_forecasting_net(backbone, seq_len=48, pred_len=12, n_channels=2,
                               model_kwargs=kwargs, max_epochs=3)
    assert isinstance(net, SkddNetRegressor)
    recipe = get_recipe(backbone)
    assert net.lr == recipe.lr and net.batch_size == recipe.batch_size
    with seeded(0):
        net.fit(X, Y)  # float64 read-only views are cast, no warning, no dtype error
    assert isinstance(net.module_, module)
    assert len(net.history) == 3
    pred = net.predict(X[:7])
    assert pred.shape == (7, 12, 2) and pred.dtype == np.float32
    # the trained backbone is an ordinary skdd model: the protocol's evaluator takes it
    scores = evaluate_forecaster(net.module_, test, seq_len=48, pred_len=12)
    assert np.isfinite(scores["mse"])


def test_forecasting_net_in_grid_search_and_clone(windows):
    X, Y, _ = windows
    net = make_forecasting_net("dlinear", seq_len=48, pred_len=12, n_channels=2, max_epochs=2)
    twin = clone(net)
    assert twin.get_params()["module__seq_len"] == 48 and twin.max_epochs == 2
    with seeded(0):
        grid = GridSearchCV(net, {"lr": [1e-4, 1e-2]}, cv=2, scoring=neg_mse).fit(X, Y)
    assert grid.best_params_["lr"] in (1e-4, 1e-2)
    assert grid.predict(X[:3]).shape == (3, 12, 2)


def test_forecasting_net_recipe_translation():
    from skdd.forecasting import TrainingRecipe

    full = get_recipe("dlinear", "full")
    with pytest.raises(ValueError, match="early-stops"):
        make_forecasting_net(seq_len=8, pred_len=4, n_channels=1, recipe=full)
    halving = TrainingRecipe(epochs=3, lr=1e-3, lr_decay="halve", optimizer="sgd")
    net = make_forecasting_net(seq_len=8, pred_len=4, n_channels=1, recipe=halving)
    assert net.optimizer is torch.optim.SGD and net.max_epochs == 3
    assert dict(net.callbacks)["lr_halving"].kwargs == {"step_size": 1, "gamma": 0.5}
    with pytest.raises(ValueError, match="backbone="):
        make_forecasting_net("rnn", seq_len=8, pred_len=4, n_channels=1)
    with pytest.raises(ValueError, match="seq_len"):
        make_forecasting_net(seq_len=0, pred_len=4, n_channels=1)


def test_convnet_classifier_on_distilled_digits():
    X, X_test, y, y_test = load_digits_images()
    net = make_convnet_classifier(1, 10, (8, 8), model_kwargs={"width": 32, "depth": 2},
                                  max_epochs=60, batch_size=100, lr=0.05)
    assert isinstance(net, SkddNetClassifier)
    assert dict(net.callbacks)["lr_step"].kwargs == {"milestones": [30], "gamma": 0.1}
    from skdd.classification import RandomPerClassDistiller

    clf = DistilledClassifier(RandomPerClassDistiller(ipc=10, random_state=0), net)
    with seeded(0):
        clf.fit(X, y)
    assert isinstance(clf.estimator_.module_, ConvNet)
    assert clf.n_synthetic_ == 100
    # a ConvNet trained on 100 real images scores far above chance on the 450 test images,
    # float64 input included
    assert clf.score(X_test.astype(np.float64), y_test) > 0.6
    proba = clf.predict_proba(X_test[:5])
    assert proba.shape == (5, 10) and np.allclose(proba.sum(1), 1, atol=1e-5)


def test_convnet_classifier_on_series():
    rng = np.random.default_rng(0)
    t = np.arange(32)
    y = np.repeat([0, 1], 40)
    freq = np.where(y == 0, 2, 5)[:, None]
    X = np.sin(2 * np.pi * freq * t / 32)[:, None, :] + 0.1 * rng.standard_normal((80, 1, 32))
    net = make_convnet_classifier(1, 2, 32, dims=1, model_kwargs={"width": 8, "depth": 2},
                                  max_epochs=20, lr=0.05, batch_size=16)
    with seeded(0):
        net.fit(X, y.astype(np.int32))
    assert (net.predict(X) == y).mean() > 0.9


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA is not available")
def test_nets_on_cuda(windows):
    X, Y, _ = windows
    net = make_forecasting_net("xpatch", seq_len=48, pred_len=12, n_channels=2, max_epochs=1,
                               device="cuda").fit(X, Y)
    assert next(net.module_.parameters()).is_cuda and net.predict(X[:2]).shape == (2, 12, 2)
    Xi, _, yi, _ = load_digits_images()
    clf = make_convnet_classifier(1, 10, (8, 8), model_kwargs={"width": 16, "depth": 2},
                                  max_epochs=1, device="cuda").fit(Xi[:100], yi[:100])
    assert clf.predict(Xi[:5]).shape == (5,)
