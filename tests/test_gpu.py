"""CUDA runs of the loops; skipped cleanly on machines without a GPU (CI has none)."""
import numpy as np
import pytest
import torch

from skdd import RandomSegmentDistiller
from skdd.forecasting import TrainingRecipe, evaluate_forecaster, fit_forecaster
from _toy import WindowMomentDistiller

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA is not available")]


def test_auto_device_picks_cuda_and_attributes_stay_numpy(small_series):
    d = WindowMomentDistiller(random_state=0, device="auto").fit(small_series)
    assert d.device_.startswith("cuda")
    assert isinstance(d.X_syn_, np.ndarray) and isinstance(d.loss_curve_, np.ndarray)
    again = WindowMomentDistiller(random_state=0, device="cuda").fit(small_series)
    np.testing.assert_allclose(d.X_syn_, again.X_syn_)
    assert RandomSegmentDistiller(length=64, seq_len=16, pred_len=8, random_state=0).fit(
        small_series).device_.startswith("cuda")


@pytest.mark.parametrize("name", ["dlinear", "itransformer", "xpatch"])
def test_trainer_and_evaluator_on_cuda(small_series, name):
    s = small_series.astype(np.float32)
    model, _ = fit_forecaster(name, s[:300], seq_len=48, pred_len=24, device="cuda",
                              recipe=TrainingRecipe(epochs=2, lr=1e-3))
    assert next(model.parameters()).is_cuda
    scores = evaluate_forecaster(model, s[300:], seq_len=48, pred_len=24)
    assert np.isfinite(scores["mse"])
