"""CFM (UniDD spectral filters, curriculum frequency matching) and the SRe²L-style baseline."""
from dataclasses import replace

import numpy as np
import pytest
import torch

from skdd.benchmarks._classify import run_classify_benchmark
from skdd.classification import (
    CFMDistiller,
    RandomPerClassDistiller,
    SRe2LDistiller,
    augment_samples,
    evaluate_classifier,
    fit_classifier,
    get_recipe,
    intra_class_similarity,
)
from skdd.classification import _cfm
from skdd.datasets import load_digits_images
from skdd.nn import ConvNet
from skdd.objectives._spectral import (
    SPECTRAL_FILTERS,
    ConvInputs,
    LayerStatistics,
    SpectralFilter,
    SpectralMatching,
    conv_input_statistics,
    curriculum_betas,
    feature_moments,
    moment_matching_loss,
    running_mean,
)

TINY = dict(max_iter=4, teacher_epochs=2, net_width=8, net_depth=2, device="cpu")


@pytest.fixture(scope="module")
def digits():
    return load_digits_images()


@pytest.fixture(scope="module")
def small_digits(digits):
    X, _, y, _ = digits
    keep = np.concatenate([np.flatnonzero(y == c)[:12] for c in range(4)])
    return X[keep], y[keep]


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """One teacher folder for the module: teachers are trained once per (data, seed)."""
    return tmp_path_factory.mktemp("teachers")


# ----------------------------------------------------------------------------------
# the spectral filters
def _known_matrix(lam, seed=0):
    q, _ = torch.linalg.qr(torch.randn(len(lam), len(lam), dtype=torch.float64,
                                       generator=torch.Generator().manual_seed(seed)))
    return q, q @ torch.diag(lam) @ q.T


@pytest.mark.parametrize("kind", SPECTRAL_FILTERS)
def test_each_filter_has_its_eigenvalue_response(kind):
    lam = torch.tensor([0.5, 0.25, 0.15, 0.07, 0.03, 0.0], dtype=torch.float64)
    q, psi = _known_matrix(lam)
    beta, alpha, power = 0.05, 0.5, 3
    expected = {
        "dm": [torch.ones_like(lam)],
        "dc": [torch.ones_like(lam), lam],
        "mtt": [(1 - alpha * lam) ** power],
        "frepo": [beta / (lam + beta)],
        "cfm": [beta / (lam + beta)],
        "lowpass": [lam / (lam + beta)],
    }[kind]
    f = SpectralFilter(kind, beta=beta, alpha=alpha, power=power)
    torch.testing.assert_close(f.response(lam), torch.stack(expected))
    mats = f(psi[None])
    assert len(mats) == len(expected)
    for m, response in zip(mats, expected):
        # f(Ψ) = Q diag(f(λ)) Q^T: the eigenvectors are kept, the eigenvalues mapped
        torch.testing.assert_close(q.T @ m[0] @ q, torch.diag(response), atol=1e-10, rtol=0)


def test_filter_families_are_high_and_low_pass_and_take_one_beta_per_group():
    lam = torch.linspace(0, 1, 11, dtype=torch.float64)
    high = SpectralFilter("frepo", beta=0.01).response(lam)[0]
    low = SpectralFilter("lowpass", beta=0.01).response(lam)[0]
    mtt = SpectralFilter("mtt").response(lam)[0]
    assert (high.diff() < 0).all() and (mtt.diff() <= 0).all() and (low.diff() > 0).all()
    torch.testing.assert_close(high + low, torch.ones_like(lam))
    # a smaller beta is a sharper high-pass filter
    assert SpectralFilter("frepo", beta=1e-4).response(lam)[0][1] < high[1]
    # per-group betas (CFM's curriculum): group g is filtered with betas[g]
    _, psi = _known_matrix(torch.tensor([0.6, 0.3, 0.1], dtype=torch.float64))
    betas = torch.tensor([0.1, 0.01], dtype=torch.float64)
    both = SpectralFilter("cfm")(psi[None], betas)[0]
    for g in range(2):
        torch.testing.assert_close(both[g], SpectralFilter("frepo", beta=float(betas[g]))(
            psi[None])[0][0])


# ----------------------------------------------------------------------------------
# statistics
def test_streamed_statistics_equal_full_batch_ones():
    torch.manual_seed(0)
    net = ConvNet(2, 3, (6, 7), width=5, depth=2)
    X, y = torch.randn(37, 2, 6, 7), torch.arange(37) % 3
    streamed = conv_input_statistics(net, X, y, 3, batch_size=5)
    full = conv_input_statistics(net, X, y, 3, batch_size=1000)
    with torch.no_grad(), ConvInputs(net) as rec:
        net(X)
    for s, f, feat in zip(streamed, full, rec.inputs):
        for a, b in [(s.mean, f.mean), (s.cov, f.cov), (s.class_means, f.class_means),
                     (s.psi, f.psi), (s.phi, f.phi)]:
            torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
        # and both equal the definitions computed directly from the hooked features
        rows = feat.double().transpose(0, 1).reshape(feat.shape[1], -1)   # (d, n*h*w)
        cov = torch.cov(rows, correction=0)
        torch.testing.assert_close(s.cov[0], cov)
        torch.testing.assert_close(s.psi[0], cov / cov.trace())
        pooled = feat.double().flatten(2).mean(-1)
        means = torch.stack([pooled[y == c].mean(0) for c in range(3)])
        torch.testing.assert_close(s.phi[0], means.T / 3)
    assert [tuple(s.cov.shape) for s in streamed] == [(1, 2, 2), (1, 5, 5)]


def test_grouped_moments_are_per_group_statistics():
    feats = torch.randn(12, 4, 3, 3, dtype=torch.float64)
    labels = torch.arange(3).repeat(4)
    grouped = LayerStatistics.from_moments(feature_moments(feats, labels, 3, groups=4))
    for g in range(4):
        one = LayerStatistics.from_moments(feature_moments(feats[3 * g:3 * g + 3],
                                                           labels[:3], 3))
        torch.testing.assert_close(grouped.psi[g], one.psi[0])
        torch.testing.assert_close(grouped.phi[g], one.phi[0])
    with pytest.raises(ValueError, match="equal groups"):
        feature_moments(feats, labels, 3, groups=5)


def test_running_average_weights_and_gradients():
    x = torch.tensor([[2.0], [4.0], [9.0], [1.0]], requires_grad=True)
    avg = running_mean(x)
    torch.testing.assert_close(avg.detach().flatten(), torch.tensor([2.0, 3.0, 5.0, 4.0]))
    # entry b = (1 - 1/(b+1)) * previous average + x[b] / (b+1), the earlier rows fixed
    avg[2].sum().backward()
    torch.testing.assert_close(x.grad.flatten(), torch.tensor([0.0, 0.0, 1 / 3, 0.0]))
    betas = curriculum_betas(0.1, 5)
    assert float(betas[0]) == pytest.approx(0.1) and (betas.diff() < 0).all()
    assert (betas > 0).all()
    assert float(betas[2]) == pytest.approx(0.1 * (1 + np.cos(np.pi * 2 / 5)) / 2)


def test_matching_losses_vanish_on_the_real_statistics():
    torch.manual_seed(0)
    net = ConvNet(1, 2, 8, width=4, depth=2)
    X, y = torch.randn(20, 1, 8, 8), torch.arange(20) % 2
    stats = conv_input_statistics(net, X, y, 2)
    noise = conv_input_statistics(net, 3 * torch.randn(20, 1, 8, 8) + 1, y, 2)
    for kind in SPECTRAL_FILTERS:
        matching = SpectralMatching(stats, SpectralFilter(kind))
        same = matching.loss(stats)
        other = matching.loss(noise)
        assert float(same[0].abs().max() + same[1].abs().max()) < 1e-10
        assert float(other[1][0]) > 1e-3
    assert float(moment_matching_loss(stats, stats)[0]) == 0.0
    assert float(moment_matching_loss(stats, noise)[0]) > 1e-3


# ----------------------------------------------------------------------------------
# helpers of the recover step
def test_augmentation_and_similarity():
    x = torch.randn(6, 2, 8, 8)
    assert augment_samples(x, "none") is x
    with torch.random.fork_rng():
        torch.manual_seed(0)
        a = augment_samples(x)
        torch.manual_seed(0)
        b = augment_samples(x)
    torch.testing.assert_close(a, b)
    assert a.shape == x.shape and not torch.allclose(a, x)
    series = torch.randn(5, 3, 40, requires_grad=True)
    augment_samples(series, "auto").sum().backward()
    assert series.grad.abs().sum() > 0
    flipped = augment_samples(x, "flip")
    assert flipped.shape == x.shape
    for bad, data in [("flip", series), ("roll", x), ("mirror", x)]:
        with pytest.raises(ValueError, match="augment"):
            augment_samples(data, bad)
    X = np.array([[1.0, 0.0], [1.0, 0.1], [1.0, 0.0], [-1.0, 0.0]])
    assert intra_class_similarity(X, [0, 0, 1, 1]) == pytest.approx(
        (np.cos(np.arctan(0.1)) - 1.0) / 2)
    with pytest.raises(ValueError, match="at least two"):
        intra_class_similarity(X[:2], [0, 1])


# ----------------------------------------------------------------------------------
# the estimators
@pytest.mark.parametrize("kw", [dict(filter=f) for f in SPECTRAL_FILTERS] +
                         [dict(use_signal=False, use_ce=False), dict(use_ce=False)])
def test_every_filter_and_ablation_fits(small_digits, cache, kw):
    X, y = small_digits
    d = CFMDistiller(ipc=2, augment="flip", random_state=0, teacher_cache=cache, **TINY,
                     **kw).fit(X, y)
    assert d.X_syn_.shape == (8, 1, 8, 8) and np.isfinite(d.X_syn_).all()
    assert d.loss_curve_.shape == (4,) and np.isfinite(d.loss_curve_).all()
    np.testing.assert_allclose(d.y_soft_.sum(1), 1.0, rtol=1e-5)


def test_a_teacher_interrupted_mid_training_resumes(small_digits, tmp_path, monkeypatch):
    import skdd.base
    import skdd.classification._protocol as protocol

    X, y = small_digits
    kw = dict(ipc=2, random_state=0, **dict(TINY, teacher_epochs=4))
    plain = CFMDistiller(**kw).fit(X, y)
    monkeypatch.setattr(skdd.base, "CHECKPOINT_SECONDS", 0.0)
    epochs, original = [], protocol.F.cross_entropy

    def interrupting(*args, **kwargs):  # fails in the teacher's third epoch
        epochs.append(1)
        if len(epochs) == 2 * ((len(X) + 255) // 256) + 1:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(protocol.F, "cross_entropy", interrupting)
    with pytest.raises(KeyboardInterrupt):
        CFMDistiller(teacher_cache=tmp_path, **kw).fit(X, y)
    monkeypatch.setattr(protocol.F, "cross_entropy", original)
    (partial,) = tmp_path.glob("teacher-*.partial.pt")
    assert torch.load(partial, weights_only=True)["epoch"] == 2
    resumed = CFMDistiller(teacher_cache=tmp_path, **kw).fit(X, y)
    np.testing.assert_array_equal(resumed.X_syn_, plain.X_syn_)
    np.testing.assert_array_equal(resumed.y_soft_, plain.y_soft_)
    assert len(list(tmp_path.glob("teacher-*.pt"))) == 1  # the partial file is gone


def test_same_seed_same_result_and_cache_changes_nothing(small_digits, tmp_path):
    X, y = small_digits
    labels = np.array(["a", "b", "c", "d"])[y]
    for cls in (CFMDistiller, SRe2LDistiller):
        a = cls(ipc=2, random_state=0, **TINY).fit(X, labels)
        b = cls(ipc=2, random_state=0, teacher_cache=tmp_path, **TINY).fit(X, labels)
        c = cls(ipc=2, random_state=0, teacher_cache=tmp_path, **TINY).fit(X, labels)
        for other in (b, c):
            np.testing.assert_array_equal(a.X_syn_, other.X_syn_)
            np.testing.assert_array_equal(a.y_soft_, other.y_soft_)
        assert sorted(set(a.y_syn_)) == ["a", "b", "c", "d"] and a.y_soft_.shape == (8, 4)
        np.testing.assert_allclose(a.y_soft_.sum(1), 1.0, rtol=1e-5)
        d = cls(ipc=2, random_state=1, **TINY).fit(X, labels)
        assert not np.array_equal(a.X_syn_, d.X_syn_)
    assert len(list(tmp_path.glob("teacher-*.pt"))) == 1  # one teacher for both methods


def test_interrupt_and_resume_matches_uninterrupted(small_digits, cache, tmp_path, monkeypatch):
    X, y = small_digits
    kw = dict(ipc=2, random_state=0, teacher_cache=cache, **dict(TINY, max_iter=6))
    full = CFMDistiller(**kw).fit(X, y)
    ckpt = tmp_path / "cfm.ckpt"
    original = _cfm.augment_samples
    calls = {"n": 0}

    def interrupting(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:  # iteration 3, after the checkpoint of iteration 2
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(_cfm, "augment_samples", interrupting)
    with pytest.raises(KeyboardInterrupt):
        CFMDistiller(checkpoint_path=ckpt, checkpoint_every=2, **kw).fit(X, y)
    monkeypatch.setattr(_cfm, "augment_samples", original)
    assert torch.load(ckpt, weights_only=True)["iteration"] == 3
    resumed = CFMDistiller(checkpoint_path=ckpt, checkpoint_every=2, **kw).fit(X, y)
    np.testing.assert_allclose(resumed.X_syn_, full.X_syn_, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(resumed.loss_curve_, full.loss_curve_, rtol=1e-5)


def test_series_and_tabular_input(cache):
    rng = np.random.default_rng(0)
    t = np.linspace(0, 1, 32)
    y = np.repeat([0, 1, 2], 6)
    X = np.sin(2 * np.pi * (2 + 3 * y)[:, None, None] * t) + 0.1 * rng.normal(size=(18, 2, 32))
    d = CFMDistiller(ipc=2, augment="auto", random_state=0, teacher_cache=cache,
                     **TINY).fit(X, y)
    assert d.X_syn_.shape == (6, 2, 32)
    s = SRe2LDistiller(ipc=3, random_state=0, teacher_cache=cache, **TINY).fit(X[:, 0], y)
    assert s.X_syn_.shape == (9, 32) and s.y_soft_.shape == (9, 3)


@pytest.mark.parametrize("cls", [CFMDistiller, SRe2LDistiller])
def test_bad_input_and_parameters_are_rejected_clearly(small_digits, cls):
    X, y = small_digits
    with pytest.raises(ValueError, match="fewer than the budget"):
        cls(ipc=13, **TINY).fit(X, y)
    with pytest.raises(ValueError, match="one class"):
        cls(**TINY).fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="5-D"):
        cls(**TINY).fit(X[:, None], y)
    for bad, match in [(dict(eta=-1), "eta"), (dict(augment="roll"), "augment='roll'"),
                       (dict(init="zeros"), "init"), (dict(lr=0), "lr"),
                       (dict(temperature=-1.0), "temperature"), (dict(max_iter=0), "max_iter"),
                       (dict(teacher_epochs=0), "teacher_epochs"),
                       (dict(backbone="resnet"), "backbone")]:
        with pytest.raises(ValueError, match=match):
            cls(**dict(TINY, **bad)).fit(X, y)


def test_cfm_specific_parameters_are_rejected_clearly(small_digits):
    X, y = small_digits
    for bad, match in [(dict(filter="bandpass"), "filter='bandpass' is not supported"),
                       (dict(beta=0.0), "beta"), (dict(alpha=1.5), "alpha"),
                       (dict(power=0), "power"), (dict(use_ce="yes"), "use_ce"),
                       (dict(filter="dm", use_signal=False, use_ce=False), "nothing to optimise"),
                       (dict(eta=0.0, use_ce=False), "nothing to optimise")]:
        with pytest.raises(ValueError, match=match):
            CFMDistiller(**dict(TINY, **bad)).fit(X, y)


def test_cfm_beats_random_on_digits(digits):
    """End to end on 8x8 digits at ipc 1: CFM's recover step improves on the random real
    subset it starts from (``X[init_indices_]``, the same subset as Random's at that seed)
    with hard labels and with the teacher's soft labels; the trust region keeps every
    sample within ``max_drift`` of that subset."""
    X_train, X_test, y_train, y_test = digits
    kw = dict(ipc=1, max_iter=60, net_width=32, net_depth=2, random_state=0, device="cpu")
    cfm = CFMDistiller(**kw).fit(X_train, y_train)
    rnd = RandomPerClassDistiller(ipc=1, random_state=0).fit(X_train, y_train)
    start = X_train[cfm.init_indices_], y_train[cfm.init_indices_]
    np.testing.assert_array_equal(start[1], cfm.y_syn_)
    assert {x.tobytes() for x in start[0]} == {x.tobytes() for x in rnd.X_syn_}
    kd = replace(get_recipe("convnet"), temperature=cfm.temperature)
    scores = {}
    for name, (X_syn, labels) in [("start", start), ("cfm", (cfm.X_syn_, cfm.y_syn_)),
                                  ("cfm+kd", (cfm.X_syn_, cfm.y_soft_))]:
        net, _ = fit_classifier(X_syn, labels, n_classes=10, recipe=kd, random_state=0,
                                model_kwargs=dict(width=32, depth=2))
        scores[name] = evaluate_classifier(net, X_test, y_test)["acc"]
    assert cfm.teacher_accuracy_ > 0.9
    assert scores["cfm"] > scores["start"] + 0.05, scores
    assert scores["cfm+kd"] > scores["start"] + 0.05, scores
    assert cfm.drift_.min() > 0.1  # the samples moved
    bounded = CFMDistiller(max_drift=0.3, **kw).fit(X_train, y_train)
    np.testing.assert_array_equal(bounded.init_indices_, cfm.init_indices_)
    assert bounded.drift_.max() <= 0.3 * (1 + 1e-5)


def test_runner_trains_on_soft_labels(small_digits, cache):
    X, y = small_digits
    splits = (X, X, y, y, "tiny")
    params = dict(TINY, teacher_cache=str(cache))
    params.pop("device")
    res = run_classify_benchmark("tiny", "cfm", ipc=1, seeds=[0], params=params,
                                 splits=splits, recipe={"epochs": 2}, soft_labels=True,
                                 eval_model_kwargs={"width": 8, "depth": 2}, log=None)
    assert res["soft_labels"] is True and res["recipe"]["temperature"] == 4.0
    assert 0 <= res["results"]["convnet"]["acc"][0] <= 1
    with pytest.raises(ValueError, match="no teacher soft labels"):
        run_classify_benchmark("tiny", "random", ipc=1, seeds=[0], splits=splits,
                               recipe={"epochs": 1}, soft_labels=True, log=None)


def test_teacher_labels_augmented_batches_in_the_runner(small_digits, cache, tmp_path):
    import json

    from skdd.benchmarks._report import cfm_report

    X, y = small_digits
    params = dict(TINY, teacher_cache=str(cache))
    d = CFMDistiller(ipc=2, random_state=0, **params).fit(X, y)
    # the fitted teacher takes samples in the units of X and gives y_soft_
    with torch.no_grad():
        probs = torch.softmax(d.teacher_(torch.as_tensor(d.X_syn_)) / d.temperature, dim=1)
    np.testing.assert_allclose(probs.numpy(), d.y_soft_, rtol=1e-4, atol=1e-6)
    params.pop("device")
    splits = (X, X, y, y, "tiny")
    res = run_classify_benchmark("tiny", "cfm", ipc=2, seeds=[0], params=params,
                                 splits=splits, recipe={"epochs": 2, "augment": "crop"},
                                 soft_labels="both", eval_model_kwargs={"width": 8, "depth": 2},
                                 log=None)
    assert res["recipe"]["augment"] == "crop" and res["kd_recipe"]["augment"] == "crop"
    assert all(0 <= res["results"][k]["acc"][0] <= 1 for k in ("convnet", "convnet_kd"))
    # a different evaluation: reported in its own table
    path = tmp_path / "cfm_aug.json"
    path.write_text(json.dumps(res))
    assert "**tiny, trained with augment='crop'" in cfm_report([str(path)])


def test_runner_both_labels_from_one_distillation(small_digits, cache, tmp_path):
    import json

    from skdd.benchmarks._report import cfm_report

    X, y = small_digits
    splits = (X, X, y, y, "tiny")
    params = dict(TINY, teacher_cache=str(cache))
    params.pop("device")
    res = run_classify_benchmark("tiny", "cfm", ipc=2, seeds=[0], params=params,
                                 splits=splits, recipe={"epochs": 2}, soft_labels="both",
                                 eval_model_kwargs={"width": 8, "depth": 2}, log=None)
    assert res["soft_labels"] == "both" and len(res["distill_seconds"]) == 1
    assert set(res["results"]) == {"convnet", "convnet_kd"}
    assert res["kd_recipe"]["temperature"] == 4.0
    # diversity of the synthetic set is recorded (two samples per class)
    assert -1 <= res["intra_class_similarity"][0] <= 1
    with pytest.raises(ValueError, match="soft_labels must be"):
        run_classify_benchmark("tiny", "cfm", ipc=1, seeds=[0], splits=splits,
                               soft_labels="yes", log=None)
    path = tmp_path / "cfm.json"
    path.write_text(json.dumps(res))
    table = cfm_report([str(path)])
    assert "| CFM (curriculum from β = " in table and "ipc 2: hard | KD" in table


def test_cfm_report_labels_name_the_filter_and_beta():
    from skdd.benchmarks._report import _cfm_label

    def label(name="cfm", **params):
        return _cfm_label({"distiller": name, "params": params})

    beta = CFMDistiller().beta
    assert label() == f"CFM (curriculum from β = {beta:g}, filter + signal + CE)"
    assert label(beta=0.1, use_ce=False) == "CFM ablation: filter + signal (curriculum from β = 0.1)"
    assert label(use_ce=False, use_signal=False).startswith("CFM ablation: filter only")
    assert label(filter="frepo", beta=1e-4) == "fixed high-pass (λ+β)^-1, β = 0.0001"
    assert label(filter="lowpass") == f"low-pass λ(λ+β)^-1, β = {beta:g}"
    assert label(filter="dc") == "low-pass DC filter {1, λ}"
    assert label(filter="dm") == "DM filter 1 (signal loss only)"
    assert label(filter="mtt", alpha=0.5, power=4) == "high-pass MTT filter (1 − αλ)^p, α = 0.5, p = 4"
    assert label(lr=1e-9, max_iter=1) == "Random + teacher soft labels"
    assert label("sre2l") == "SRe²L-style" and label("random") == "Random"
    assert label(max_drift=0.05) == \
        f"CFM (curriculum from β = {beta:g}, filter + signal + CE), max_drift = 0.05"
    assert label("sre2l", max_drift=0.1) == "SRe²L-style, max_drift = 0.1"
    assert label(max_drift=None) == label()
    assert label("sre2l", stats_network="random", optimizer="sgd", lr=10.0, max_drift=0.1) == \
        "SRe²L-style, statistics through random networks, SGD lr 10, max_drift = 0.1"
    assert label(stats_network="teacher", optimizer="adam") == label()


# ----------------------------------------------------------------------------------
# the recover step's trust region (max_drift)
@pytest.mark.parametrize("cls", [CFMDistiller, SRe2LDistiller])
def test_max_drift_rejects_bad_values(small_digits, cls):
    X, y = small_digits
    for bad in [0, 0.0, -0.1, float("nan"), float("inf"), "0.1", True, [0.1]]:
        with pytest.raises(ValueError, match="max_drift"):
            cls(**dict(TINY, max_drift=bad)).fit(X, y)


@pytest.mark.parametrize("cls", [CFMDistiller, SRe2LDistiller])
def test_max_drift_bounds_every_sample_and_none_is_the_published_loop(small_digits, cache, cls):
    X, y = small_digits
    kw = dict(ipc=3, random_state=0, teacher_cache=cache, **dict(TINY, max_iter=8))
    free = cls(**kw).fit(X, y)
    assert free.drift_.shape == (12,) and free.drift_.max() > 0.05
    bounded = cls(max_drift=0.05, **kw).fit(X, y)
    assert bounded.drift_.shape == (12,)
    assert (bounded.drift_ <= 0.05 * (1 + 1e-5)).all(), bounded.drift_
    assert bounded.drift_.max() > 0.04  # the ball's boundary is reached, not a frozen set
    # drift_ measures X_syn_ against the initial real samples in standardised units
    again = cls(max_drift=0.05, **kw).fit(X, y)
    np.testing.assert_array_equal(again.X_syn_, bounded.X_syn_)
    # a radius no update reaches leaves the published recover step unchanged
    wide = cls(max_drift=1e6, **kw).fit(X, y)
    np.testing.assert_allclose(wide.X_syn_, free.X_syn_, rtol=1e-6, atol=1e-6)


def test_project_drift_is_a_projection_onto_each_samples_ball():
    gen = torch.Generator().manual_seed(0)
    init = torch.randn(5, 2, 7, generator=gen)
    values = init + torch.randn(5, 2, 7, generator=gen) * torch.tensor([0.01, 0.1, 1, 3, 0.0])[
        :, None, None]
    before = values.clone()
    _cfm.project_drift(values, init, 0.2)
    drift = _cfm.sample_drift(values, init)
    assert (drift <= 0.2 + 1e-6).all()
    inside = _cfm.sample_drift(before, init) <= 0.2
    torch.testing.assert_close(values[inside], before[inside])  # inside the ball: unchanged
    # outside: moved along the change, onto the boundary
    out = ~inside
    torch.testing.assert_close(drift[out], torch.full_like(drift[out], 0.2))
    cos = torch.nn.functional.cosine_similarity((values - init)[out].flatten(1),
                                                (before - init)[out].flatten(1))
    torch.testing.assert_close(cos, torch.ones_like(cos))


# ----------------------------------------------------------------------------------
# the recover step's step rule and the network of its statistics
@pytest.mark.parametrize("cls", [CFMDistiller, SRe2LDistiller])
@pytest.mark.parametrize("name, bad", [("optimizer", "rmsprop"), ("optimizer", None),
                                       ("stats_network", "student"), ("stats_network", 1),
                                       ("batch_real", 0), ("batch_real", 2.5)])
def test_step_rule_and_statistics_network_reject_bad_values(small_digits, cls, name, bad):
    X, y = small_digits
    with pytest.raises(ValueError, match=name):
        cls(**dict(TINY, **{name: bad})).fit(X, y)


@pytest.mark.parametrize("cls", [CFMDistiller, SRe2LDistiller])
def test_statistics_through_random_networks_are_reproducible(small_digits, cache, cls):
    """``stats_network="random"`` draws a fresh network and a fresh real batch per class
    every iteration from the fit's seed: same seed, same set; another network than the
    teacher's statistics, so another set; SGD follows the gradient's size."""
    X, y = small_digits
    kw = dict(ipc=2, random_state=0, teacher_cache=cache, **dict(TINY, max_iter=5))
    teacher = cls(**kw).fit(X, y)
    first = cls(stats_network="random", batch_real=5, **kw).fit(X, y)
    again = cls(stats_network="random", batch_real=5, **kw).fit(X, y)
    np.testing.assert_array_equal(first.X_syn_, again.X_syn_)
    np.testing.assert_array_equal(first.init_indices_, teacher.init_indices_)
    assert np.abs(first.X_syn_ - teacher.X_syn_).max() > 1e-4
    assert np.isfinite(first.loss_curve_).all() and first.drift_.max() > 0
    sgd = cls(optimizer="sgd", lr=1e-3, **kw).fit(X, y)
    assert 0 < sgd.drift_.max() < teacher.drift_.max()
