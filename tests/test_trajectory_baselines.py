"""MTT and CondTSF forecasting baselines."""
import numpy as np
import pytest
import torch

from skdd.datasets import make_seasonal_series
from skdd.forecasting import (CondTSFDistiller, ForecastingExpertTrajectories,
                              ForecastingMTTDistiller)

SMALL = dict(length=96, seq_len=24, pred_len=12, max_iter=30, n_experts=2, expert_epochs=3,
             batch_size=16, syn_steps=5)


@pytest.fixture(scope="module")
def series():
    return make_seasonal_series(600, 2, random_state=0)


def test_expert_trajectories_are_recorded_per_epoch(series):
    with torch.random.fork_rng():
        torch.manual_seed(0)
        ex = ForecastingExpertTrajectories.train(
            "dlinear", torch.as_tensor(series, dtype=torch.float32), seq_len=24, pred_len=12,
            n_experts=2, epochs=3, lr=0.1, batch_size=32, device="cpu")
    n_params = sum(p.numel() for p in ex.model.parameters())
    assert ex.snapshots.shape == (2, 4, n_params) and ex.nbytes == 2 * 4 * n_params * 4
    first, last = ex.params(0, 0), ex.params(0, 3)
    assert set(first) == {n for n, _ in ex.model.named_parameters()}
    assert not torch.equal(first["linear_trend.weight"], last["linear_trend.weight"])


@pytest.mark.parametrize("cls", [ForecastingMTTDistiller, CondTSFDistiller])
def test_fit_reproducible_and_loss_decreases(cls, series):
    a = cls(random_state=0, **SMALL).fit(series)
    b = cls(random_state=0, **SMALL).fit(series)
    np.testing.assert_array_equal(a.X_syn_, b.X_syn_)
    assert a.X_syn_.shape == (96, 2) and a.n_iter_ == 30 and a.syn_lr_ > 0
    assert a.loss_curve_[-10:].mean() < a.loss_curve_[:10].mean()


def test_condtsf_value_term_pulls_targets_to_expert_forecasts(series):
    d = CondTSFDistiller(random_state=0, cond_every=1, cond_weight=1.0, lr=1e-8,
                         **dict(SMALL, max_iter=1)).fit(series)
    mtt = ForecastingMTTDistiller(random_state=0, lr=1e-8, **dict(SMALL, max_iter=1)).fit(series)
    # the first seq_len steps are inputs only and stay as MTT left them
    np.testing.assert_allclose(d.X_syn_[:24], mtt.X_syn_[:24], atol=1e-5)
    assert np.abs(d.X_syn_[24:] - mtt.X_syn_[24:]).max() > 1e-3
    # with weight 1 the targets equal the averaged forecasts: a trained expert fits them
    assert np.abs(np.diff(d.X_syn_[24:], axis=0)).mean() < np.abs(np.diff(mtt.X_syn_[24:], axis=0)).mean()


@pytest.mark.parametrize("params,match", [
    ({"expert_span": 5}, "expert_span=5 exceeds"),
    ({"max_start_epoch": 2}, "max_start_epoch"),
    ({"syn_lr": 0}, "syn_lr"),
    ({"backbone": "rnn"}, "backbone='rnn'"),
    ({"syn_steps": 0}, "syn_steps"),
])
def test_mtt_rejects_bad_parameters(params, match, series):
    with pytest.raises(ValueError, match=match):
        ForecastingMTTDistiller(**{**SMALL, **params}).fit(series)


def test_condtsf_rejects_bad_weight(series):
    with pytest.raises(ValueError, match="cond_weight"):
        CondTSFDistiller(cond_weight=1.5, **SMALL).fit(series)


def test_expert_collection_rejects_a_train_that_records_wrongly():
    from skdd.objectives import ExpertTrajectories as Trajectories

    def silent(model, record):
        pass

    def skipping(model, record):
        record(2, model)  # no snapshot of epochs 0 and 1 before it

    with pytest.raises(ValueError, match="recorded no snapshot"):
        Trajectories.collect(lambda: torch.nn.Linear(2, 1), silent, n_experts=1)
    with pytest.raises(RuntimeError, match="epoch 2 but only 0 snapshots"):
        Trajectories.collect(lambda: torch.nn.Linear(2, 1), skipping, n_experts=1)
    with pytest.raises(ValueError, match="n_experts must be at least 1"):
        Trajectories.collect(lambda: torch.nn.Linear(2, 1), silent, n_experts=0)
