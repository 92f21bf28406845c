"""Classification distillers: Random, DC, DM, MTT (TM) and FreD over each objective."""
import numpy as np
import pytest
import torch

from skdd import FreDDistiller
from skdd.classification import (
    DCDistiller,
    DMDistiller,
    MTTDistiller,
    RandomPerClassDistiller,
    evaluate_classifier,
    fit_classifier,
)
from skdd.classification import _matching
from skdd.datasets import load_digits_images
from skdd.objectives import DistributionMatching, GradientMatching, gradient_distance

NET = dict(net_width=16, net_depth=2)
TM = dict(n_experts=2, expert_epochs=3, syn_steps=3, expert_span=1)


@pytest.fixture(scope="module")
def digits():
    X_train, X_test, y_train, y_test = load_digits_images()
    return X_train, X_test, y_train, y_test


@pytest.fixture(scope="module")
def small_digits(digits):
    X, _, y, _ = digits
    keep = np.concatenate([np.flatnonzero(y == c)[:12] for c in range(4)])
    return X[keep], y[keep]


def _make(name, **kw):
    base = dict(random_state=0, device="cpu", **NET)
    base.update(kw)
    if name == "dc":
        return DCDistiller(batch_real=8, **base)
    if name == "dm":
        return DMDistiller(batch_real=8, **base)
    if name == "tm":
        return MTTDistiller(**TM, **base)
    return FreDDistiller(objective=name.split("-")[1], n_coefficients=32, batch_real=8, **TM,
                         **base)


ALL = ["dc", "dm", "tm", "fred-dc", "fred-dm", "fred-tm"]


# ----------------------------------------------------------------------------------
# the objectives
def test_gradient_distance_is_layerwise_cosine():
    g = [torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.ones(2)]
    assert float(gradient_distance(g, g)) == pytest.approx(0.0, abs=1e-5)
    # rows orthogonal: 1 - cos = 1 per row; the bias is ignored
    h = [torch.tensor([[0.0, 1.0], [1.0, 0.0]]), -torch.ones(2)]
    assert float(gradient_distance(g, h)) == pytest.approx(2.0, abs=1e-5)
    with pytest.raises(ValueError, match="2\\+ dimensions"):
        gradient_distance([torch.ones(3)], [torch.ones(3)])


def test_matching_losses_vanish_on_real_data():
    from skdd.nn import ConvNet

    torch.manual_seed(0)
    net = ConvNet(1, 2, 8, width=8, depth=2)
    X, y = torch.randn(12, 1, 8, 8), torch.arange(12) % 2
    assert float(DistributionMatching(net.embed).loss(X, y, X, y, 2).detach()) < 1e-8
    # DC's 1e-6 in the cosine's denominator leaves a small residue on tiny gradient rows
    same = float(GradientMatching(net).loss(X, y, X, y).detach())
    Z = torch.randn(12, 1, 8, 8)
    assert same < 0.01 * float(GradientMatching(net).loss(X, y, Z, y).detach())
    assert float(DistributionMatching(net.embed).loss(X, y, Z, y, 2).detach()) > 1e-4


@pytest.mark.parametrize("name", ["dc", "dm", "tm"])
def test_each_objective_decreases(small_digits, name):
    X, y = small_digits
    kw = dict(ipc=2, max_iter=40, init="noise")
    if name == "dc":
        kw.update(outer_loop=5, inner_loop=5)
    d = _make(name, **kw).fit(X, y)
    curve = d.loss_curve_
    assert curve.shape == (40,) and np.isfinite(curve).all()
    assert curve[-10:].mean() < 0.8 * curve[:10].mean(), curve


# ----------------------------------------------------------------------------------
# the estimators
@pytest.mark.parametrize("name", ALL)
def test_shapes_labels_and_reproducibility(small_digits, name):
    X, y = small_digits
    labels = np.array(["zero", "one", "two", "three"])[y]
    a = _make(name, ipc=1, max_iter=3).fit(X, labels)
    b = _make(name, ipc=1, max_iter=3).fit(X, labels)
    np.testing.assert_array_equal(a.X_syn_, b.X_syn_)
    assert a.X_syn_.dtype == np.float32 and a.X_syn_.shape[1:] == (1, 8, 8)
    assert set(a.y_syn_) == set(labels)
    counts = np.unique(a.y_syn_, return_counts=True)[1]
    assert (counts == counts[0]).all()
    if name.startswith("fred"):
        # the budget of 1 image per class (64 floats) holds floor(64 / 32) = 2 instances
        assert a.n_per_class_ == 2 and a.n_stored_ == 4 * 2 * 32
        assert a.n_stored_ <= 4 * 64
    else:
        assert len(a.y_syn_) == 4 and a.n_stored_ == 4 * 64
    X_syn, y_syn = a.fit_resample(X, labels)
    np.testing.assert_array_equal(X_syn, a.X_syn_)
    c = _make(name, ipc=1, max_iter=3, random_state=1).fit(X, labels)
    assert not np.array_equal(a.X_syn_, c.X_syn_)


def test_series_and_tabular_input():
    rng = np.random.default_rng(0)
    t = np.linspace(0, 1, 32)
    y = np.repeat([0, 1], 10)
    X = np.sin(2 * np.pi * (2 + 3 * y)[:, None, None] * t) + 0.1 * rng.normal(size=(20, 2, 32))
    fred = FreDDistiller(ipc=1, objective="dm", n_coefficients=8, max_iter=3, batch_real=4,
                         random_state=0, device="cpu", **NET).fit(X, y)
    assert fred.X_syn_.shape == (8, 2, 32) and fred.n_per_class_ == 4
    flat = X[:, 0, :]
    dm = DMDistiller(ipc=2, max_iter=2, batch_real=4, random_state=0, device="cpu",
                     net_width=8, net_depth=2).fit(flat, y)
    assert dm.X_syn_.shape == (4, 32)
    rnd = RandomPerClassDistiller(ipc=3, random_state=0).fit(flat, y)
    assert rnd.X_syn_.shape == (6, 32)
    np.testing.assert_allclose(rnd.X_syn_, flat[rnd.indices_], rtol=1e-6)


def test_fred_beats_random_on_digits(digits):
    X_train, X_test, y_train, y_test = digits

    def accuracy(X_syn, y_syn):
        net, _ = fit_classifier(X_syn, y_syn, n_classes=10, random_state=0,
                                model_kwargs=dict(width=32, depth=2))
        return evaluate_classifier(net, X_test, y_test)["acc"]

    rnd = accuracy(*RandomPerClassDistiller(ipc=1, random_state=0).fit_resample(X_train, y_train))
    fred = FreDDistiller(ipc=1, objective="dm", n_coefficients=32, max_iter=100, lr=3.0,
                         net_width=32, net_depth=2, random_state=0, device="cpu")
    acc = accuracy(*fred.fit_resample(X_train, y_train))
    assert acc > rnd + 0.05, (acc, rnd)


def test_dc_interrupt_and_resume_matches_uninterrupted(small_digits, tmp_path, monkeypatch):
    X, y = small_digits
    kw = dict(ipc=2, max_iter=6, outer_loop=3, inner_loop=2)
    full = _make("dc", **kw).fit(X, y)
    ckpt = tmp_path / "dc.ckpt"
    original = GradientMatching.loss
    calls = {"n": 0}

    def interrupting(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4 * 4 + 1:  # first class of iteration 4 (a network mid-cycle)
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(GradientMatching, "loss", interrupting)
    with pytest.raises(KeyboardInterrupt):
        _make("dc", checkpoint_path=ckpt, checkpoint_every=2, **kw).fit(X, y)
    monkeypatch.setattr(GradientMatching, "loss", original)
    assert torch.load(ckpt, weights_only=True)["iteration"] == 4
    resumed = _make("dc", checkpoint_path=ckpt, checkpoint_every=2, **kw).fit(X, y)
    np.testing.assert_allclose(resumed.X_syn_, full.X_syn_, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(resumed.loss_curve_, full.loss_curve_, rtol=1e-5)


def test_experts_finished_before_an_interrupt_are_not_trained_again(small_digits, tmp_path,
                                                                     monkeypatch):
    import skdd.classification._protocol as protocol

    X, y = small_digits
    plain = _make("tm", ipc=1, max_iter=3).fit(X, y)  # two experts
    trained, original = [], protocol.train_classifier

    def counting(model, *args, **kwargs):  # interrupts the second expert
        trained.append(1)
        if len(trained) == 2:
            raise KeyboardInterrupt
        return original(model, *args, **kwargs)

    monkeypatch.setattr("skdd.classification._matching.train_classifier", counting)
    with pytest.raises(KeyboardInterrupt):
        _make("tm", ipc=1, max_iter=3, expert_cache=tmp_path).fit(X, y)
    (partial,) = tmp_path.glob("experts-*.partial.pt")
    assert len(torch.load(partial, weights_only=True)["runs"]) == 1
    trained.clear()
    resumed = _make("tm", ipc=1, max_iter=3, expert_cache=tmp_path).fit(X, y)
    assert len(trained) == 1  # only the unfinished expert
    np.testing.assert_array_equal(resumed.X_syn_, plain.X_syn_)
    assert not list(tmp_path.glob("*.partial*"))


@pytest.mark.parametrize("stop_at_epoch", [2, 3])  # mid-expert; at its last epoch
def test_an_expert_interrupted_mid_training_resumes_from_its_last_save(
        small_digits, tmp_path, monkeypatch, stop_at_epoch):
    import skdd.base

    X, y = small_digits
    plain = _make("tm", ipc=1, max_iter=3).fit(X, y)  # two experts of three epochs
    monkeypatch.setattr(skdd.base, "CHECKPOINT_SECONDS", 0.0)  # save after every epoch
    epochs, original = [], _matching.train_classifier

    def interrupting(model, *args, on_epoch_end, **kwargs):
        def record(epoch, m):  # the snapshot is kept, then the stop comes before the
            on_epoch_end(epoch, m)  # training state of that epoch is saved
            epochs.append(epoch)
            if len(epochs) == 5 + stop_at_epoch:  # the second expert (4 calls per expert)
                raise KeyboardInterrupt
        return original(model, *args, on_epoch_end=record, **kwargs)

    monkeypatch.setattr(_matching, "train_classifier", interrupting)
    with pytest.raises(KeyboardInterrupt):
        _make("tm", ipc=1, max_iter=3, expert_cache=tmp_path).fit(X, y)
    (state,) = tmp_path.glob("experts-*.partial.expert1.pt")
    (kept,) = tmp_path.glob("experts-*.partial.expert1-snapshots.pt")
    assert torch.load(state, weights_only=True)["epoch"] == stop_at_epoch - 1
    assert len(torch.load(kept, weights_only=True)["snapshots"]) == stop_at_epoch + 1
    assert not list(tmp_path.glob("*.expert0*"))  # the finished expert's files are gone
    epochs.clear()
    resumed = _make("tm", ipc=1, max_iter=3, expert_cache=tmp_path).fit(X, y)
    assert epochs == list(range(stop_at_epoch, 4))  # from the saved epoch on
    np.testing.assert_array_equal(resumed.X_syn_, plain.X_syn_)
    assert [f.name for f in tmp_path.iterdir()] == [next(tmp_path.glob("experts-*.pt")).name]


def test_expert_cache_does_not_change_the_result(small_digits, tmp_path):
    X, y = small_digits
    plain = _make("tm", ipc=1, max_iter=3).fit(X, y)
    cached = _make("tm", ipc=1, max_iter=3, expert_cache=tmp_path).fit(X, y)
    files = list(tmp_path.glob("experts-*.pt"))
    assert len(files) == 1
    again = _make("fred-tm", ipc=1, max_iter=3, expert_cache=tmp_path).fit(X, y)
    assert len(list(tmp_path.glob("experts-*.pt"))) == 1  # FreD reuses the same experts
    reloaded = _make("tm", ipc=1, max_iter=3, expert_cache=tmp_path).fit(X, y)
    for d in (cached, reloaded):
        np.testing.assert_array_equal(d.X_syn_, plain.X_syn_)
    assert plain.expert_buffer_bytes_ == 2 * 4 * again.expert_buffer_bytes_ // 8
    assert plain.syn_lr_ > 0


# ----------------------------------------------------------------------------------
# bad input
@pytest.mark.parametrize("cls", [RandomPerClassDistiller, DMDistiller, FreDDistiller])
def test_bad_input_is_rejected_clearly(small_digits, cls):
    X, y = small_digits
    kw = {} if cls is RandomPerClassDistiller else dict(max_iter=1, device="cpu", **NET)
    with pytest.raises(ValueError, match="fewer than the budget"):
        cls(ipc=13, **kw).fit(X, y)
    with pytest.raises(ValueError, match="one class"):
        cls(**kw).fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="5-D"):
        cls(**kw).fit(X[:, None], y)
    bad = X.copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        cls(**kw).fit(bad, y)
    with pytest.raises(ValueError, match="ipc"):
        cls(ipc=0, **kw).fit(X, y)
    with pytest.raises(ValueError, match="Unknown label type"):
        cls(**kw).fit(X, np.linspace(0, 1, len(X)))


def test_bad_parameters_are_rejected_clearly(small_digits):
    X, y = small_digits
    with pytest.raises(ValueError, match="objective"):
        FreDDistiller(objective="kd", **NET).fit(X, y)
    with pytest.raises(ValueError, match="n_coefficients=65 exceeds"):
        FreDDistiller(n_coefficients=65, max_iter=1, **NET).fit(X, y)
    with pytest.raises(ValueError, match="fraction"):
        FreDDistiller(n_coefficients=1.5, max_iter=1, **NET).fit(X, y)
    with pytest.raises(ValueError, match="expert_span"):
        MTTDistiller(expert_epochs=2, expert_span=3, **NET).fit(X, y)
    with pytest.raises(ValueError, match="expert_batch_size"):
        MTTDistiller(expert_batch_size=0, **NET).fit(X, y)
    with pytest.raises(ValueError, match="init"):
        DMDistiller(init="zeros", **NET).fit(X, y)
    with pytest.raises(ValueError, match="lr_net"):
        DCDistiller(lr_net=-1, **NET).fit(X, y)


def test_expert_batch_size_gives_the_experts_at_least_the_students_steps(small_digits):
    X, y = small_digits                      # 48 samples
    kw = dict(ipc=1, max_iter=1, n_experts=1, expert_epochs=3, random_state=0, **NET)
    # 20 student steps over a span of 2 epochs: at least 10 expert steps per epoch
    tm = MTTDistiller(syn_steps=20, expert_span=2, **kw).fit(X, y)
    assert tm.expert_batch_size_ == 48 // 10
    assert -(-48 // tm.expert_batch_size_) >= 10
    # few student steps on this set: MTT's 256, here the whole set in one batch
    assert MTTDistiller(syn_steps=1, expert_span=1, **kw).fit(X, y).expert_batch_size_ == 48
    tm = FreDDistiller(objective="tm", syn_steps=2, expert_span=1, n_coefficients=32, **kw)
    assert tm.fit(X, y).expert_batch_size_ == 24
    default = MTTDistiller(syn_steps=20, expert_span=2, **kw).fit(X, y)
    explicit = MTTDistiller(syn_steps=20, expert_span=2, expert_batch_size=7, **kw).fit(X, y)
    assert explicit.expert_batch_size_ == 7
    assert not np.array_equal(explicit.X_syn_, default.X_syn_)   # other experts
    # MNIST's 8000 images keep MTT's 256
    assert MTTDistiller(syn_steps=20)._resolve_expert_batch_size(8000) == 256


def test_dc_loops_table():
    assert _matching.dc_loops(1) == (1, 1)
    assert _matching.dc_loops(10) == (10, 50)
    assert _matching.dc_loops(30) == (30, 20)
    assert _matching.dc_loops(20) == (20, 25)


def test_shared_mask_is_the_same_for_every_class(small_digits):
    import torch as _torch

    from skdd.parametrization import DCTDomain

    X, y = small_digits
    X_t, y_t = _torch.as_tensor(X), _torch.as_tensor(y)
    shared = DCTDomain.from_data(X_t, y_t, 2, 8, mask="shared")
    assert (shared.indices == shared.indices[:1]).all()
    per_class = DCTDomain.from_data(X_t, y_t, 2, 8)
    assert not (per_class.indices == per_class.indices[:1]).all()
    fred = FreDDistiller(objective="dm", n_coefficients=8, mask="shared", max_iter=2,
                         batch_real=4, random_state=0, device="cpu", **NET).fit(X, y)
    assert fred.X_syn_.shape == (4 * 8, 1, 8, 8)
    with pytest.raises(ValueError, match="mask"):
        FreDDistiller(mask="global", max_iter=1, **NET).fit(X, y)


def test_default_net_depth_follows_the_sample_size_and_keeps_old_checkpoints(tmp_path):
    from skdd.nn import convnet_depth

    assert [convnet_depth(s) for s in [(8, 8), (28, 28), (16, 16), (24,), (15,)]] == \
        [2, 3, 3, 3, 2]
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 6)
    small, large = rng.normal(size=(12, 1, 8, 8)), rng.normal(size=(12, 1, 16, 16))
    kw = dict(ipc=1, max_iter=3, batch_real=4, net_width=8, random_state=0)
    assert DMDistiller(**kw).fit(small, y).net_depth_ == 2
    assert DMDistiller(**kw, net_depth=3).fit(small, y).net_depth_ == 3
    # a checkpoint written with net_depth=3 (the default before) is the same fit as the
    # default on 16x16, which picks 3; on 8x8 the default picks 2, another fit
    path = tmp_path / "dm.ckpt"
    explicit = DMDistiller(**kw, net_depth=3, checkpoint_path=path).fit(large, y)
    resumed = DMDistiller(**kw, checkpoint_path=path).fit(large, y)
    np.testing.assert_array_equal(resumed.X_syn_, explicit.X_syn_)
    assert resumed.net_depth_ == 3
    DMDistiller(**kw, net_depth=3, checkpoint_path=tmp_path / "small.ckpt").fit(small, y)
    with pytest.raises(ValueError, match="checkpoint of another fit"):
        DMDistiller(**kw, checkpoint_path=tmp_path / "small.ckpt").fit(small, y)
    with pytest.raises(ValueError, match="net_depth"):
        DMDistiller(**kw, net_depth=0).fit(small, y)


@pytest.mark.parametrize("objective", ["dc", "tm"])
def test_series_default_learning_rate_and_image_checkpoints(objective, tmp_path):
    from skdd.classification._matching import _DEFAULT_LR, _DEFAULT_LR_SERIES

    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 6)
    series, images = rng.normal(size=(12, 1, 24)), rng.normal(size=(12, 1, 8, 8))
    kw = dict(ipc=1, max_iter=2, net_width=8, random_state=0)
    base = DCDistiller if objective == "dc" else MTTDistiller
    kw.update(dict(batch_real=4) if objective == "dc" else TM)
    series_lr = _DEFAULT_LR_SERIES[objective]
    assert series_lr < _DEFAULT_LR[objective]
    assert base(**kw).fit(series, y).lr_ == series_lr
    assert FreDDistiller(objective=objective, **kw).fit(series, y).lr_ == series_lr
    assert base(**kw).fit(images, y).lr_ == _DEFAULT_LR[objective]
    assert base(**kw, lr=0.5).fit(series, y).lr_ == 0.5
    dm = DMDistiller(ipc=1, max_iter=2, batch_real=4, net_width=8)
    assert dm.fit(series, y).lr_ == _DEFAULT_LR["dm"]
    # the series default is the same fit as that rate given explicitly, and another fit
    # than the image rate given explicitly (a checkpoint of one is refused by the other)
    explicit = base(**kw, lr=series_lr, checkpoint_path=tmp_path / "a.ckpt").fit(series, y)
    resumed = base(**kw, checkpoint_path=tmp_path / "a.ckpt").fit(series, y)
    np.testing.assert_array_equal(resumed.X_syn_, explicit.X_syn_)
    base(**kw, lr=_DEFAULT_LR[objective], checkpoint_path=tmp_path / "b.ckpt").fit(series, y)
    with pytest.raises(ValueError, match="checkpoint of another fit"):
        base(**kw, checkpoint_path=tmp_path / "b.ckpt").fit(series, y)
    # on images the default's fingerprint is what it was before the series default
    base(**kw, checkpoint_path=tmp_path / "c.ckpt").fit(images, y)
    fitted = base(**kw, checkpoint_path=tmp_path / "c.ckpt").fit(images, y)
    assert '"lr": "None"' in fitted._params_fingerprint()
