"""HarmonicDistiller (HDT) and its parts: Fourier parametrization, harmonics, trajectory matching."""
import numpy as np
import pandas as pd
import pytest
import torch

from skdd import HarmonicDistiller
from skdd.datasets import make_seasonal_series
from skdd.nn import DLinear
from skdd.objectives import (TrajectoryMatching, harmonic_filter, harmonic_loss,
                             mean_amplitude_spectrum, parameters_of, top_k_harmonics, unroll_sgd)
from skdd.parametrization import FourierDomain, TimeDomain

SMALL = dict(length=96, seq_len=24, pred_len=12, n_harmonics=8, max_iter=6, n_experts=1,
             expert_epochs=2, batch_size=16, expert_steps=3, syn_steps=3)


@pytest.mark.parametrize("length", [96, 97])
def test_fourier_domain_round_trips(length):
    x = torch.randn(length, 3)
    p = FourierDomain.from_series(x)
    assert p.coefficients.shape == (length // 2 + 1, 3, 2)
    torch.testing.assert_close(p(), x, atol=1e-5, rtol=0)
    assert TimeDomain(x)().shape == x.shape
    with pytest.raises(ValueError, match="coefficients"):
        FourierDomain(10, torch.zeros(5, 3, 2))


def test_every_coefficient_moves_the_whole_series():
    p = FourierDomain.from_series(torch.zeros(64, 1))
    p().sum().backward()  # only DC sees a constant functional
    with torch.no_grad():
        p.coefficients[3, 0, 0] += 1.0
    assert (p().abs() > 0).float().mean() > 0.9


def test_fourier_scale_spreads_adam_steps_in_proportion():
    x = torch.randn(64, 2)
    scale = torch.ones(33, 2)
    scale[5] = 10.0
    p = FourierDomain.from_series(x, scale=scale)
    torch.testing.assert_close(p(), x, atol=1e-5, rtol=0)
    before = p.spectrum().detach().clone()
    opt = torch.optim.Adam(p.parameters(), lr=0.01)
    (p() * torch.randn(64, 2)).sum().backward()
    opt.step()  # Adam's first step moves every learnable entry by lr (its sign)
    moved = (torch.view_as_real(p.spectrum().detach() - before).abs())
    torch.testing.assert_close(moved[5], torch.full((2, 2), 0.1), atol=1e-4, rtol=0)
    torch.testing.assert_close(moved[3], torch.full((2, 2), 0.01), atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="scale must have shape \\(33, 2\\)"):
        FourierDomain.from_series(x, scale=torch.ones(33))
    with pytest.raises(ValueError, match="positive"):
        FourierDomain.from_series(x, scale=torch.zeros(33, 2))


def test_mean_amplitude_spectrum_follows_the_data():
    t = torch.arange(1000.0)
    x = torch.stack([torch.sin(2 * np.pi * t / 24), torch.sin(2 * np.pi * t / 12)], 1)
    x = x + 0.01 * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    s = mean_amplitude_spectrum(x, 96)
    assert s.shape == (49, 2) and bool((s > 0).all())
    assert s[:, 0].argmax() == 4 and s[:, 1].argmax() == 8
    torch.testing.assert_close(s.pow(2).mean(0).sqrt(), torch.ones(2), atol=1e-2, rtol=0)
    with pytest.raises(ValueError, match="shorter than length=2000"):
        mean_amplitude_spectrum(x, 2000)


def test_top_k_harmonics_finds_known_periods():
    t = torch.arange(384.0)
    x = torch.stack([torch.sin(2 * np.pi * t / 24) + 0.5 * torch.sin(2 * np.pi * t / 96),
                     torch.cos(2 * np.pi * t / 12) + 0.2 * torch.sin(2 * np.pi * t / 48)], 1)
    x = x + 0.05 * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    mask = top_k_harmonics(torch.fft.rfft(x, dim=0), 2)
    assert torch.nonzero(mask[:, 0]).flatten().tolist() == [384 // 96, 384 // 24]
    assert torch.nonzero(mask[:, 1]).flatten().tolist() == [384 // 48, 384 // 12]
    with pytest.raises(ValueError, match="n_harmonics"):
        top_k_harmonics(torch.fft.rfft(x, dim=0), 500)


def test_harmonic_filter_keeps_only_the_harmonics():
    t = torch.arange(96.0)
    x = (torch.sin(2 * np.pi * t / 24) + 0.1 * torch.sin(2 * np.pi * t / 5))[:, None]
    f = torch.fft.rfft(x, dim=0, norm="forward")
    mask = top_k_harmonics(f, 1)
    xh = harmonic_filter(f, mask, 96, norm="forward")
    torch.testing.assert_close(xh[:, 0], torch.sin(2 * np.pi * t / 24), atol=2e-3, rtol=0)
    assert harmonic_loss(f, f, mask) == 0
    with pytest.raises(ValueError, match="p must be positive"):
        harmonic_loss(f, f, mask, p=0)


def test_gradient_matching_is_differentiable_wrt_fourier_coefficients():
    torch.manual_seed(0)
    net = DLinear(16, 8, 2)
    series = FourierDomain.from_series(torch.randn(64, 2))
    real = torch.randn(64, 2)
    from skdd.forecasting import make_windows
    tm = TrajectoryMatching(net)
    start = parameters_of(net)
    rx, ry = make_windows(real, 16, 8)
    target = tm.expert_steps(start, [(rx, ry)] * 3, lr=0.05)
    sx, sy = make_windows(series(), 16, 8)
    loss = tm.loss(start, target, [(sx, sy)] * 3, lr=0.05)
    loss.backward()
    assert series.coefficients.grad is not None
    assert series.coefficients.grad.abs().sum() > 0
    # the real-data steps keep no graph
    assert all(not v.requires_grad for v in target.values())


def test_unroll_sgd_matches_torch_sgd():
    torch.manual_seed(0)
    net = DLinear(16, 8, 2)
    x, y = torch.randn(32, 16, 2), torch.randn(32, 8, 2)
    out = unroll_sgd(net, parameters_of(net), [(x, y)] * 4, 0.1)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    for _ in range(4):
        opt.zero_grad()
        torch.nn.functional.mse_loss(net(x), y).backward()
        opt.step()
    for name, p in net.named_parameters():
        torch.testing.assert_close(out[name], p.detach(), atol=1e-6, rtol=1e-5)


def test_hdt_fit_shapes_reproducibility_and_frames():
    frame = make_seasonal_series(500, 3, random_state=0, as_frame=True)
    a = HarmonicDistiller(random_state=0, **SMALL).fit(frame)
    b = HarmonicDistiller(random_state=0, **SMALL).fit(frame)
    np.testing.assert_array_equal(a.X_syn_, b.X_syn_)
    assert a.X_syn_.shape == (96, 3) and a.n_iter_ == 6 and a.loss_curve_.shape == (6,)
    assert a.grad_loss_curve_.shape == (6,) and np.isfinite(a.loss_curve_).all()
    out = HarmonicDistiller(random_state=0, **SMALL).fit_resample(frame)
    assert isinstance(out, pd.DataFrame) and list(out.columns) == list(frame.columns)
    np.testing.assert_array_equal(out.to_numpy(), a.X_syn_)


def test_hdt_resume_equals_uninterrupted(tmp_path):
    series = make_seasonal_series(500, 2, random_state=1)
    params = dict(SMALL, max_iter=8, checkpoint_every=3)
    full = HarmonicDistiller(random_state=0, **params).fit(series)
    ckpt = tmp_path / "hdt.ckpt"
    first = HarmonicDistiller(random_state=0, checkpoint_path=ckpt, **dict(params, max_iter=8))

    original = first._optimize

    def interrupting(synthetic, loss_fn, **kw):
        def wrapped(it):
            if it == 5:
                raise KeyboardInterrupt
            return loss_fn(it)
        return original(synthetic, wrapped, **kw)

    first._optimize = interrupting
    with pytest.raises(KeyboardInterrupt):
        first.fit(series)
    resumed = HarmonicDistiller(random_state=0, checkpoint_path=ckpt, **params).fit(series)
    np.testing.assert_array_equal(resumed.X_syn_, full.X_syn_)


@pytest.mark.parametrize("params,match", [
    ({"n_harmonics": 50}, "n_harmonics=50 exceeds"),
    ({"n_harmonics": 0}, "n_harmonics"),
    ({"length": 36}, "seq_len \\+ pred_len \\+ 1"),
    ({"length": 20}, "length=20 is below"),
    ({"p": 0}, "p must be"),
    ({"p": -1}, "p must be"),
    ({"harmonic_weight": -0.1}, "harmonic_weight"),
    ({"lr": 0}, "lr must be"),
    ({"backbone": "lstm"}, "backbone='lstm'"),
    ({"max_iter": 0}, "max_iter"),
    ({"frequency_scale": "energy"}, "frequency_scale"),
])
def test_hdt_rejects_bad_parameters(params, match):
    series = make_seasonal_series(300, 2, random_state=0)
    with pytest.raises(ValueError, match=match):
        HarmonicDistiller(**{**SMALL, **params}).fit(series)


def test_hdt_rejects_too_short_series():
    with pytest.raises(ValueError, match="n_samples = 90"):
        HarmonicDistiller(**SMALL).fit(make_seasonal_series(90, 2, random_state=0))


def test_ablation_variants_run_and_differ():
    series = make_seasonal_series(500, 2, random_state=0)
    base = HarmonicDistiller(random_state=0, parametrization="time", harmonic_weight=0.0,
                             **{**SMALL, "n_harmonics": None}).fit(series)
    noharm = HarmonicDistiller(random_state=0, harmonic_weight=0.0, **SMALL).fit(series)
    full = HarmonicDistiller(random_state=0, **SMALL).fit(series)
    assert not np.array_equal(base.X_syn_, full.X_syn_)
    assert not np.array_equal(noharm.X_syn_, full.X_syn_)
    uniform = HarmonicDistiller(random_state=0, frequency_scale="uniform", **SMALL).fit(series)
    assert np.isfinite(uniform.X_syn_).all() and not np.array_equal(uniform.X_syn_, full.X_syn_)
    with pytest.raises(ValueError, match="parametrization"):
        HarmonicDistiller(parametrization="wavelet", **SMALL).fit(series)


def test_hdt_beats_random_on_a_generated_series():
    """End to end, validation split of a generated series: DLinear trained on the HDT
    series forecasts better than one trained on a random segment of the same length."""
    from skdd import RandomSegmentDistiller
    from skdd.forecasting import evaluate_forecaster, fit_forecaster, make_splits

    splits = make_splits(make_seasonal_series(1500, 3, random_state=0, noise=0.3),
                         kind="custom", seq_len=48)
    scores = {"hdt": [], "random": []}
    for seed in range(3):
        for name, est in [
            ("hdt", HarmonicDistiller(length=120, seq_len=48, pred_len=24, n_harmonics=12,
                                      max_iter=150, lr=0.4, inner_lr=0.1, expert_epochs=3,
                                      n_experts=2, n_subsequences=4, random_state=seed)),
            ("random", RandomSegmentDistiller(length=120, seq_len=48, pred_len=24,
                                              random_state=seed)),
        ]:
            model, _ = fit_forecaster("dlinear", est.fit_resample(splits.train), seq_len=48,
                                      pred_len=24, random_state=seed)
            scores[name].append(evaluate_forecaster(model, splits.val, seq_len=48,
                                                    pred_len=24)["mse"])
    hdt, rnd = np.array(scores["hdt"]), np.array(scores["random"])
    assert hdt.mean() < 0.97 * rnd.mean()
    assert (hdt < rnd).sum() >= 2


def test_trajectory_target_variant_learns_a_positive_step(tmp_path):
    series = make_seasonal_series(500, 2, random_state=0)
    d = HarmonicDistiller(random_state=0, target="trajectory", expert_span=1,
                          **{**SMALL, "expert_epochs": 2}).fit(series)
    assert d.X_syn_.shape == (96, 2) and np.isfinite(d.loss_curve_).all()
    with pytest.raises(ValueError, match="target"):
        HarmonicDistiller(target="nope", **SMALL).fit(series)
    with pytest.raises(ValueError, match="expert_span=3 exceeds"):
        HarmonicDistiller(target="trajectory", expert_span=3, **SMALL).fit(series)
