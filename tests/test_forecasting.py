"""The forecasting protocol: splits, windows, backbones, trainer and evaluator."""

import numpy as np
import pytest
import torch

from conftest import require_file
from skdd.forecasting import (
    TrainingRecipe, evaluate_forecaster, fit_forecaster, get_recipe, load_forecasting_splits,
    make_splits, make_windows, n_windows, split_borders)
from skdd.nn import DLinear, ITransformer, XPatch, make_forecasting_backbone


@pytest.mark.parametrize("name,rows", [("ETTh1", 17420), ("ETTh2", 17420), ("ETTm2", 69680)])
def test_ett_splits_borders_and_window_counts(data_home, name, rows):
    require_file(data_home, f"ett/{name}.csv.gz")
    splits = load_forecasting_splits(name, seq_len=96, data_home=data_home)
    unit = 24 * 30 * (1 if name.startswith("ETTh") else 4)
    assert splits.borders == [(0, 12 * unit), (12 * unit - 96, 16 * unit),
                              (16 * unit - 96, 20 * unit)]
    counts = [n_windows(len(s), 96, 96) for s in (splits.train, splits.val, splits.test)]
    if name.startswith("ETTh"):
        assert counts == [8449, 2785, 2785]
    else:
        assert counts == [34369, 11425, 11425]
    assert splits.train.dtype == np.float32 and splits.n_channels == 7
    # scaled with train statistics only
    np.testing.assert_allclose(splits.train.mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(splits.train.std(0), 1, atol=1e-3)
    assert abs(splits.test.mean()) > 1e-3


def test_custom_split_is_70_10_20():
    borders = split_borders(1000, "custom", 24)
    assert borders == [(0, 700), (676, 800), (776, 1000)]
    with pytest.raises(ValueError, match="kind"):
        split_borders(1000, "weekly", 24)
    with pytest.raises(ValueError, match="14400"):
        split_borders(1000, "ETTh", 96)


def test_make_splits_rejects_bad_series():
    with pytest.raises(ValueError, match="NaN"):
        make_splits(np.array([[1.0], [np.nan]] * 100))
    with pytest.raises(ValueError, match="inf"):
        make_splits(np.array([[1.0], [np.inf]] * 100))


def test_unknown_dataset_name_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="nosuchdata"):
        load_forecasting_splits("nosuchdata", data_home=tmp_path)


def test_make_windows_views_and_values():
    series = np.arange(40.0).reshape(20, 2)
    X, Y = make_windows(series, 5, 3)
    assert X.shape == (13, 5, 2) and Y.shape == (13, 3, 2)
    assert np.shares_memory(X, series) and np.shares_memory(Y, series)
    np.testing.assert_array_equal(X[4], series[4:9])
    np.testing.assert_array_equal(Y[4], series[9:12])
    Xs, _ = make_windows(series, 5, 3, stride=4)
    assert Xs.shape[0] == n_windows(20, 5, 3, stride=4) == 4
    t = torch.as_tensor(series)
    Xt, Yt = make_windows(t, 5, 3)
    assert Xt.data_ptr() == t.data_ptr()
    np.testing.assert_array_equal(Xt.numpy(), X)
    np.testing.assert_array_equal(Yt.numpy(), Y)


def test_make_windows_errors():
    with pytest.raises(ValueError, match="too short"):
        make_windows(np.zeros((7, 1)), 5, 3)
    with pytest.raises(ValueError, match="2-D"):
        make_windows(np.zeros(20), 5, 3)
    with pytest.raises(ValueError, match="seq_len"):
        make_windows(np.zeros((20, 1)), 0, 3)


@pytest.mark.parametrize("cls", [DLinear, ITransformer, XPatch])
@pytest.mark.parametrize("seq_len,pred_len", [(96, 96), (48, 24), (32, 336)])
def test_backbone_output_shape(cls, seq_len, pred_len):
    kwargs = {"d_model": 32, "d_ff": 32} if cls is ITransformer else {}
    model = cls(seq_len, pred_len, 3, **kwargs)
    out = model(torch.randn(5, seq_len, 3))
    assert out.shape == (5, pred_len, 3)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


def test_dlinear_individual_and_bad_kernel():
    assert DLinear(24, 12, 4, individual=True)(torch.randn(2, 24, 4)).shape == (2, 12, 4)
    with pytest.raises(ValueError, match="moving_avg"):
        DLinear(24, 12, 4, moving_avg=4)


def test_unknown_backbone_name():
    with pytest.raises(ValueError, match="backbone='lstm'"):
        make_forecasting_backbone("lstm", 96, 96, 7)
    with pytest.raises(ValueError, match="recipe"):
        get_recipe("lstm")


def _seasonal(n=600, c=3, seed=0):
    from skdd.datasets import make_seasonal_series
    return make_seasonal_series(n, c, random_state=seed).astype(np.float32)


@pytest.mark.parametrize("name", ["dlinear", "itransformer", "xpatch"])
def test_trainer_is_deterministic_and_learns(name):
    series = _seasonal()
    train, test = series[:450], series[450:]
    recipe = TrainingRecipe(epochs=3, lr=1e-3, batch_size=32)
    kw = {"d_model": 32, "d_ff": 32} if name == "itransformer" else {}
    m1, h1 = fit_forecaster(name, train, seq_len=48, pred_len=24, recipe=recipe,
                            model_kwargs=kw, random_state=0)
    m2, h2 = fit_forecaster(name, train, seq_len=48, pred_len=24, recipe=recipe,
                            model_kwargs=kw, random_state=0)
    for a, b in zip(m1.state_dict().values(), m2.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert h1["train_loss"] == h2["train_loss"] and h1["epochs"] == 3
    s1 = evaluate_forecaster(m1, test, seq_len=48, pred_len=24)
    s2 = evaluate_forecaster(m2, test, seq_len=48, pred_len=24)
    assert s1 == s2


def test_full_data_recipe_early_stops_on_validation():
    series = _seasonal(900)
    recipe = TrainingRecipe(epochs=30, lr=1e-2, batch_size=64, lr_decay="halve", patience=1)
    _, hist = fit_forecaster("dlinear", series[:600], seq_len=48, pred_len=24, recipe=recipe,
                             val=series[552:750], random_state=0)
    assert hist["epochs"] < 30 and len(hist["val_loss"]) == hist["epochs"]
    with pytest.raises(ValueError, match="val="):
        fit_forecaster("dlinear", series[:600], seq_len=48, pred_len=24, recipe=recipe)


def test_synthetic_recipes_use_no_validation_data():
    for name in ("dlinear", "itransformer", "xpatch"):
        assert get_recipe(name, "synthetic").patience is None
        assert get_recipe(name, "full").patience is not None


def test_evaluator_matches_a_direct_computation():
    series = _seasonal(300)
    model, _ = fit_forecaster("dlinear", series[:200], seq_len=24, pred_len=12,
                              recipe=TrainingRecipe(epochs=1, lr=1e-3))
    X, Y = make_windows(series[200:], 24, 12)
    with torch.no_grad():
        pred = model(torch.as_tensor(np.ascontiguousarray(X))).numpy()
    scores = evaluate_forecaster(model, series[200:], seq_len=24, pred_len=12, batch_size=7)
    np.testing.assert_allclose(scores["mse"], ((pred - Y) ** 2).mean(), rtol=1e-5)
    np.testing.assert_allclose(scores["mae"], np.abs(pred - Y).mean(), rtol=1e-5)


def test_fit_forecaster_rejects_short_training_series():
    with pytest.raises(ValueError, match="seq_len"):
        fit_forecaster("dlinear", _seasonal(50), seq_len=48, pred_len=24)


def test_dlinear_average_initialisation_predicts_the_window_mean():
    model = DLinear(24, 6, 2)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "bias" in name:
                p.zero_()
        x = torch.randn(3, 24, 2)
        torch.testing.assert_close(model(x), x.mean(1, keepdim=True).expand(-1, 6, -1),
                                   atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="init"):
        DLinear(24, 6, 2, init="zeros")


def test_make_windows_on_a_batch_of_series():
    batch = np.arange(2 * 20 * 3, dtype=float).reshape(2, 20, 3)
    X, Y = make_windows(batch, 5, 3)
    assert X.shape == (2, 13, 5, 3) and Y.shape == (2, 13, 3, 3)
    np.testing.assert_array_equal(X[1, 4], batch[1, 4:9])
    Xt, Yt = make_windows(torch.as_tensor(batch), 5, 3)
    np.testing.assert_array_equal(Xt.numpy(), X)
    np.testing.assert_array_equal(Yt.numpy(), Y)
    from skdd.forecasting import sample_window_batches
    batches = sample_window_batches(torch.as_tensor(batch), 5, 3, n_batches=2, batch_size=7)
    assert len(batches) == 2 and batches[0][0].shape == (7, 5, 3)
