"""Classification foundations: loaders, ConvNet, the protocol's trainer/evaluator, DCTDomain."""
import gzip

import numpy as np
import pytest
import torch
from conftest import require_file

from skdd.classification import (
    ClassificationRecipe,
    evaluate_classifier,
    fit_classifier,
    get_recipe,
    train_classifier,
)
from skdd.datasets import load_digits_images, load_mnist, load_ucr, read_idx
from skdd.nn import ConvNet, make_classification_backbone
from skdd.parametrization import DCTDomain, dct, dct_matrix, fred_n_per_class, idct
from skdd.utils import seeded

DEVICES = ["cpu", pytest.param("cuda", marks=[pytest.mark.gpu, pytest.mark.skipif(
    not torch.cuda.is_available(), reason="CUDA is not available")])]

MNIST_FILES = ("mnist/t10k-images-idx3-ubyte.gz", "mnist/t10k-labels-idx1-ubyte.gz")


@pytest.fixture(scope="module")
def digits():
    return load_digits_images()


# ----------------------------------------------------------------------------------
# loaders
def test_load_mnist_split(data_home):
    for rel in MNIST_FILES:
        require_file(data_home, rel)
    X_train, X_test, y_train, y_test = load_mnist(data_home=data_home)
    assert X_train.shape == (8000, 1, 28, 28) and X_test.shape == (2000, 1, 28, 28)
    assert X_train.dtype == np.float32 and y_train.dtype == np.int64
    assert X_train.min() >= 0 and X_train.max() <= 1 and X_train.max() > 0.99
    assert set(np.unique(y_train)) == set(range(10)) == set(np.unique(y_test))
    # stratified: each class's test share is 20% of the class, to within one image
    counts_train, counts_test = np.bincount(y_train), np.bincount(y_test)
    assert np.all(np.abs(counts_test - 0.2 * (counts_train + counts_test)) <= 1)
    again = load_mnist(data_home=data_home)
    for a, b in zip((X_train, X_test, y_train, y_test), again):
        np.testing.assert_array_equal(a, b)
    other = load_mnist(data_home=data_home, random_state=1)
    assert not np.array_equal(other[2], y_train)


def _write_idx(path, array, magic_type=0x08):
    header = bytes([0, 0, magic_type, array.ndim]) + np.asarray(
        array.shape, dtype=">u4").tobytes()
    payload = header + array.astype(np.uint8).tobytes()
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as fh:
        fh.write(payload)
    return payload


def test_read_idx_roundtrip_and_corrupt_files(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    _write_idx(tmp_path / "a.gz", images)
    np.testing.assert_array_equal(read_idx(tmp_path / "a.gz", expected_ndim=3), images)
    bad_magic = tmp_path / "bad-magic"
    bad_magic.write_bytes(b"\x12\x34\x08\x01" + b"\x00" * 8)
    with pytest.raises(ValueError, match="magic number"):
        read_idx(bad_magic)
    truncated = tmp_path / "truncated"
    truncated.write_bytes(_write_idx(tmp_path / "full", images)[:-5])
    with pytest.raises(ValueError, match="corrupt"):
        read_idx(truncated)
    not_gzip = tmp_path / "fake.gz"
    not_gzip.write_bytes(b"this is not gzip data")
    with pytest.raises(ValueError, match="gzip"):
        read_idx(not_gzip)
    with pytest.raises(ValueError, match="dimensions"):
        read_idx(tmp_path / "a.gz", expected_ndim=1)


def test_load_mnist_missing_and_corrupt(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        load_mnist(data_home=tmp_path)
    message = str(info.value)
    assert "t10k-images-idx3-ubyte.gz" in message and str(tmp_path / "mnist") in message
    assert "download=True" in message
    (tmp_path / "mnist").mkdir()
    (tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz").write_bytes(b"garbage")
    _write_idx(tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz", np.zeros(3, np.uint8))
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte.gz"):
        load_mnist(data_home=tmp_path)


def test_load_mnist_download_checks_md5(tmp_path, monkeypatch):
    import skdd.datasets._classification as module

    calls = []

    def fake_download(url, dest, md5=None):
        calls.append((url, md5))
        dest.parent.mkdir(parents=True, exist_ok=True)
        if "images" in url:
            _write_idx(dest, np.repeat(np.arange(20, dtype=np.uint8), 784).reshape(20, 28, 28))
        else:
            _write_idx(dest, np.arange(20, dtype=np.uint8) % 10)

    monkeypatch.setattr(module, "_download", fake_download)
    X_train, X_test, y_train, y_test = load_mnist(data_home=tmp_path, download=True, test_size=10)
    assert X_train.shape == (10, 1, 28, 28) and sorted(y_test) == list(range(10))
    assert [md5 for _, md5 in calls] == [module.MNIST_FILES[k][1] for k in ("images", "labels")]
    assert all(url.startswith(module.MNIST_BASE_URL) for url, _ in calls)
    load_mnist(data_home=tmp_path, test_size=10)  # now found locally
    assert len(calls) == 2


def test_load_ucr_without_sktime(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "sktime.datasets", None)
    with pytest.raises(ImportError, match=r"pip install skdd\[sktime\]"):
        load_ucr("GunPoint")


def test_load_ucr_gunpoint_and_basicmotions():
    pytest.importorskip("sktime")
    X_train, X_test, y_train, y_test, classes = load_ucr("GunPoint", return_classes=True)
    assert X_train.shape == (50, 1, 150) and X_test.shape == (150, 1, 150)
    assert X_train.dtype == np.float32 and y_train.dtype == np.int64
    assert list(classes) == ["1", "2"] and set(y_train) == {0, 1} == set(y_test)
    X_train, X_test, y_train, y_test, classes = load_ucr("basicmotions", return_classes=True)
    assert X_train.shape == (40, 6, 100) and X_test.shape == (40, 6, 100)
    assert list(classes) == sorted(classes) and len(classes) == 4
    assert np.array_equal(np.bincount(y_train), [10, 10, 10, 10])
    X, y = load_ucr("BasicMotions", split="test")
    np.testing.assert_array_equal(X, X_test)
    np.testing.assert_array_equal(y, y_test)


def test_load_ucr_errors_and_unequal_lengths():
    pytest.importorskip("sktime")
    with pytest.raises(ValueError, match="GunPoint"):
        load_ucr("NotADataset")
    with pytest.raises(ValueError, match="split"):
        load_ucr("GunPoint", split="validation")
    with pytest.raises(ValueError, match="unequal lengths"):
        load_ucr("JapaneseVowels")
    X_train, X_test, y_train, y_test, classes = load_ucr(
        "JapaneseVowels", unequal_length="pad", return_classes=True)
    assert X_train.shape[1:] == X_test.shape[1:] == (12, 29)
    assert list(classes) == [str(i) for i in range(1, 10)]
    lengths = (np.abs(X_train).sum(1) > 0).sum(1)
    assert lengths.min() < 29 and np.all(X_train[lengths.argmin(), :, lengths.min():] == 0)


def test_load_digits_images(digits):
    X_train, X_test, y_train, y_test = digits
    assert X_train.shape == (1347, 1, 8, 8) and X_test.shape == (450, 1, 8, 8)
    assert X_train.dtype == np.float32 and y_test.dtype == np.int64
    assert 0 <= X_train.min() and X_train.max() == 1
    assert set(np.unique(y_test)) == set(range(10))
    np.testing.assert_array_equal(load_digits_images()[3], y_test)


# ----------------------------------------------------------------------------------
# ConvNet
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape, kwargs, n_features", [
    ((1, 28, 28), {}, 128 * 3 * 3),
    ((1, 8, 8), {"depth": 2}, 128 * 2 * 2),
    ((1, 8, 8), {}, 128),
    ((3, 150), {"dims": 1}, 128 * 18),
    ((2, 3, 20), {"width": 16, "norm": "batch"}, 16 * 1 * 2),
    ((1, 28, 28), {"first_padding": 3, "norm": "none"}, 128 * 4 * 4),
])
def test_convnet_shapes(shape, kwargs, n_features, device):
    size = shape[1] if len(shape) == 2 else shape[1:]
    net = ConvNet(shape[0], 10, size, **kwargs).to(device)
    x = torch.randn(4, *shape, device=device)
    assert net.n_features == n_features
    assert net.embed(x).shape == (4, n_features)
    logits = net(x)
    assert logits.shape == (4, 10) and logits.device.type == device


def test_convnet_layers_and_errors():
    net = ConvNet(1, 10, 28)
    norms = [m for m in net.modules() if isinstance(m, torch.nn.GroupNorm)]
    assert len(norms) == 3 and all(m.num_groups == 128 and m.affine for m in norms)
    assert sum(isinstance(m, torch.nn.AvgPool2d) for m in net.modules()) == 3
    assert make_classification_backbone("convnet", 3, 5, (150,)).dims == 1
    with pytest.raises(ValueError, match="single position"):
        ConvNet(1, 10, 8, depth=4)
    with pytest.raises(ValueError, match="norm"):
        ConvNet(1, 10, 8, norm="layer")
    with pytest.raises(ValueError, match="input_size"):
        ConvNet(1, 10, (8, 8), dims=1)
    with pytest.raises(ValueError, match="expects input of shape"):
        net(torch.zeros(2, 1, 32, 32))
    with pytest.raises(ValueError, match="model"):
        make_classification_backbone("resnet-1000", 1, 10, (8, 8))


# ----------------------------------------------------------------------------------
# recipes, trainer, evaluator
_FAST = ClassificationRecipe(epochs=2, lr=0.05, batch_size=64, lr_decay="none")
_SMALL = {"width": 8, "depth": 2}


def test_recipes():
    r = get_recipe("convnet", "synthetic")
    assert (r.epochs, r.lr, r.momentum, r.weight_decay, r.batch_size) == (300, 0.01, 0.9, 5e-4, 256)
    assert r.lr_decay == "step" and r.decay_epoch == 150 and r.lr_decay_factor == 0.1
    assert get_recipe("convnet", "full").epochs < r.epochs
    assert ClassificationRecipe(epochs=1, lr=0.1).decay_epoch is None
    for bad in [dict(lr=0), dict(lr_decay="cosine"), dict(momentum=1.0), dict(temperature=0),
                dict(augment="mixup"), dict(momentum="0.9"), dict(lr_decay_factor=float("nan")),
                dict(weight_decay=-1e-4), dict(lr=float("inf"))]:
        with pytest.raises(ValueError, match=next(iter(bad))):
            ClassificationRecipe(**{"epochs": 3, "lr": 0.1, **bad})
    with pytest.raises(ValueError, match="data"):
        get_recipe("convnet", "half")


def test_a_recipe_without_augmentation_keeps_its_identity():
    # repr and as_dict key the teacher/expert caches and the training checkpoints
    r = ClassificationRecipe(epochs=3, lr=0.1)
    assert repr(r) == ("ClassificationRecipe(epochs=3, lr=0.1, batch_size=256, momentum=0.9, "
                       "weight_decay=0.0005, lr_decay='step', lr_decay_factor=0.1, "
                       "temperature=1.0)")
    assert "augment" not in r.as_dict()
    crop = ClassificationRecipe(epochs=3, lr=0.1, augment="crop")
    assert crop.as_dict()["augment"] == "crop" and "augment='crop'" in repr(crop)


def test_online_teacher_equals_its_soft_labels_without_augmentation(digits):
    X, y = digits[0][:96], digits[2][:96]
    teacher, _ = fit_classifier(X, y, n_classes=10, recipe=_FAST, model_kwargs=_SMALL,
                                random_state=1)
    kd = ClassificationRecipe(epochs=2, lr=0.05, batch_size=32, temperature=4.0)
    with torch.no_grad():
        y_soft = torch.softmax(teacher(torch.as_tensor(X)) / 4.0, dim=1).numpy()
    static, _ = fit_classifier(X, y_soft, n_classes=10, recipe=kd, model_kwargs=_SMALL)
    online, hist = fit_classifier(X, y, n_classes=10, recipe=kd, model_kwargs=_SMALL,
                                  teacher=teacher)
    for key, value in static.state_dict().items():
        torch.testing.assert_close(value, online.state_dict()[key], rtol=1e-4, atol=1e-5)
    assert all(p.requires_grad for p in online.parameters())
    # with augmentation every batch is new: same seed, same run; the teacher is not trained
    before = {k: v.clone() for k, v in teacher.state_dict().items()}
    aug = ClassificationRecipe(epochs=2, lr=0.05, batch_size=32, temperature=4.0,
                               augment="crop")
    a, hist_a = fit_classifier(X, y, n_classes=10, recipe=aug, model_kwargs=_SMALL,
                               teacher=teacher)
    b, _ = fit_classifier(X, y, n_classes=10, recipe=aug, model_kwargs=_SMALL, teacher=teacher)
    for key, value in a.state_dict().items():
        torch.testing.assert_close(value, b.state_dict()[key], rtol=0, atol=0)
    assert not torch.equal(a.state_dict()["classifier.weight"],
                           online.state_dict()["classifier.weight"])
    for key, value in teacher.state_dict().items():
        assert torch.equal(value, before[key])
    teacher.train()  # its mode is put back after a training that used it
    fit_classifier(X, y, n_classes=10, recipe=kd, model_kwargs=_SMALL, teacher=teacher)
    assert teacher.training
    assert np.isfinite(hist_a["train_loss"]).all()
    with pytest.raises(ValueError, match="teacher gives 10 class scores"):
        fit_classifier(X, y, n_classes=12, recipe=kd, model_kwargs=_SMALL, teacher=teacher)
    with pytest.raises(ValueError, match="augment='roll'"):
        fit_classifier(X, y, n_classes=10, model_kwargs=_SMALL,
                       recipe=ClassificationRecipe(epochs=1, lr=0.01, augment="roll"))


def test_fit_classifier_is_deterministic(digits):
    X, y = digits[0][:128], digits[2][:128]
    state = torch.random.get_rng_state()
    a, hist = fit_classifier(X, y, n_classes=10, recipe=_FAST, model_kwargs=_SMALL, random_state=3)
    assert torch.equal(state, torch.random.get_rng_state())
    b, _ = fit_classifier(X, y, n_classes=10, recipe=_FAST, model_kwargs=_SMALL, random_state=3)
    c, _ = fit_classifier(X, y, n_classes=10, recipe=_FAST, model_kwargs=_SMALL, random_state=4)
    for key, value in a.state_dict().items():
        assert torch.equal(value, b.state_dict()[key])
    assert not torch.equal(a.classifier.weight, c.classifier.weight)
    assert hist["epochs"] == 2 and hist["train_seconds"] > 0 and len(hist["train_acc"]) == 2
    assert not a.training


@pytest.mark.parametrize("stop_at_batch", [5, 13])  # before / after the lr decay (epoch 3)
def test_interrupted_training_resumes_exactly(digits, tmp_path, monkeypatch, stop_at_batch):
    import skdd.base
    import skdd.classification._protocol as protocol

    X, y = digits[0][:64], digits[2][:64]
    recipe = ClassificationRecipe(epochs=6, lr=0.05, batch_size=16)  # 4 batches per epoch
    kw = dict(n_classes=10, recipe=recipe, model_kwargs=_SMALL, random_state=3)
    reference, ref_hist = fit_classifier(X, y, **kw)
    path = tmp_path / "train.pt"
    monkeypatch.setattr(skdd.base, "CHECKPOINT_SECONDS", 0.0)  # save after every epoch
    calls, original = [], protocol.F.cross_entropy

    def interrupting(*args, **kwargs):
        calls.append(1)
        if len(calls) == stop_at_batch:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(protocol.F, "cross_entropy", interrupting)
    with pytest.raises(KeyboardInterrupt):
        fit_classifier(X, y, checkpoint_path=path, **kw)
    monkeypatch.setattr(protocol.F, "cross_entropy", original)
    assert torch.load(path, weights_only=True)["epoch"] == (stop_at_batch - 1) // 4
    resumed, hist = fit_classifier(X, y, checkpoint_path=path, **kw)
    for key, value in reference.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), key
    assert hist["train_loss"] == ref_hist["train_loss"] and hist["epochs"] == 6
    # a finished checkpoint is reused without training; another run's is refused
    monkeypatch.setattr(protocol.F, "cross_entropy", None)  # any training step would fail
    again, _ = fit_classifier(X, y, checkpoint_path=path, **kw)
    assert torch.equal(again.classifier.weight, reference.classifier.weight)
    with pytest.raises(ValueError, match="checkpoint_path=.*another fit"):
        fit_classifier(X[:32], y[:32], checkpoint_path=path, **kw)


def test_training_on_digits_beats_chance(digits):
    X_train, X_test, y_train, y_test = digits
    recipe = ClassificationRecipe(epochs=4, lr=0.05, batch_size=64, lr_decay="none")
    net, hist = fit_classifier(X_train, y_train, n_classes=10, recipe=recipe,
                               model_kwargs={"width": 32, "depth": 2})
    scores = evaluate_classifier(net, X_test, y_test)
    assert scores["acc"] > 0.6, scores  # chance is 0.1
    assert hist["train_loss"][-1] < hist["train_loss"][0]
    assert scores["loss"] < np.log(10)


def test_soft_labels(digits):
    X, y = digits[0][:96], digits[2][:96]
    one_hot = np.eye(10, dtype=np.float32)[y]
    hard, _ = fit_classifier(X, y, n_classes=10, recipe=_FAST, model_kwargs=_SMALL)
    soft, hist = fit_classifier(X, one_hot, n_classes=10, recipe=_FAST, model_kwargs=_SMALL)
    # one-hot targets: KL equals cross-entropy, so training is the same
    for key, value in hard.state_dict().items():
        torch.testing.assert_close(value, soft.state_dict()[key], rtol=1e-4, atol=1e-5)
    smooth = 0.8 * one_hot + 0.2 / 10
    warm = ClassificationRecipe(epochs=1, lr=0.05, batch_size=64, temperature=4.0)
    _, hist = fit_classifier(X, smooth, n_classes=10, recipe=warm, model_kwargs=_SMALL)
    assert np.isfinite(hist["train_loss"]).all() and hist["train_loss"][0] >= 0


def test_bad_inputs(digits):
    X, y = digits[0][:32], digits[2][:32]
    fit = lambda X, y, **kw: fit_classifier(X, y, **{"n_classes": 10, "recipe": _FAST,
                                                      "model_kwargs": _SMALL, **kw})
    with pytest.raises(ValueError, match="X must be 3-D"):
        fit(X.reshape(32, -1), y)
    bad = X.copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fit(bad, y)
    with pytest.raises(ValueError, match="samples"):
        fit(X, y[:-1])
    with pytest.raises(ValueError, match="n_classes"):
        fit(X, y, n_classes=5)
    with pytest.raises(ValueError, match="single class"):
        fit(X, np.zeros(32, dtype=np.int64))
    with pytest.raises(ValueError, match="integer class labels"):
        fit(X, y + 0.5)
    with pytest.raises(ValueError, match="sum to 1"):
        fit(X, np.full((32, 10), 0.5, dtype=np.float32))
    with pytest.raises(ValueError, match="n_classes"):
        fit(X, y, n_classes=1)
    with pytest.raises(ValueError, match="recipe"):
        train_classifier(ConvNet(1, 10, 8, **_SMALL), X, y, recipe={"epochs": 1})


@pytest.mark.parametrize("device", DEVICES)
def test_trainer_and_evaluator_on_device(digits, device):
    X, y = digits[0][:64], digits[2][:64]
    net, _ = fit_classifier(X, y, n_classes=10, recipe=_FAST, model_kwargs=_SMALL, device=device)
    assert next(net.parameters()).device.type == device
    scores = evaluate_classifier(net, torch.as_tensor(X), torch.as_tensor(y), batch_size=16)
    assert set(scores) == {"acc", "loss"} and 0 <= scores["acc"] <= 1
    full = evaluate_classifier(net, X, y)
    assert abs(full["loss"] - scores["loss"]) < 1e-6 and full["acc"] == scores["acc"]


# ----------------------------------------------------------------------------------
# DCT and DCTDomain
@pytest.mark.parametrize("n", [1, 2, 7, 28])
def test_dct_matrix_is_orthonormal_and_matches_scipy(n):
    from scipy.fft import dct as scipy_dct

    D = dct_matrix(n, dtype=torch.float64)
    eye = torch.eye(n, dtype=torch.float64)
    torch.testing.assert_close(D @ D.T, eye)
    torch.testing.assert_close(D.T @ D, eye)
    x = np.random.default_rng(n).standard_normal(n)
    np.testing.assert_allclose((D @ torch.as_tensor(x)).numpy(), scipy_dct(x, norm="ortho"),
                               atol=1e-10)
    assert torch.allclose(dct_matrix(n) @ dct_matrix(n).T, eye.float(), atol=1e-5)


def test_dct_inverts_exactly_in_1d_and_2d():
    from scipy.fft import dctn

    g = torch.Generator().manual_seed(0)
    series = torch.randn(4, 3, 37, generator=g, dtype=torch.float64)
    torch.testing.assert_close(idct(dct(series)), series)
    images = torch.randn(4, 2, 5, 9, generator=g, dtype=torch.float64)  # non-square
    coeffs = dct(images, dims=2)
    np.testing.assert_allclose(coeffs.numpy(), dctn(images.numpy(), axes=(-2, -1), norm="ortho"),
                               atol=1e-10)
    torch.testing.assert_close(idct(coeffs, dims=2), images)
    torch.testing.assert_close(coeffs.square().sum(), images.square().sum())  # Parseval


def _data_with_energy_at(positions, shape, n_per_class=50, seed=0):
    """Samples whose DCT variance sits in known flat coefficients, one set per class."""
    rng = np.random.default_rng(seed)
    C, spatial = shape[0], shape[1:]
    flat = int(np.prod(spatial))
    X, y = [], []
    for label, pos in enumerate(positions):
        coeffs = 0.01 * rng.standard_normal((n_per_class, C, flat))
        coeffs[:, :, pos] += rng.standard_normal((n_per_class, C, len(pos))) * [3.0, 2.0][:len(pos)]
        coeffs[:, :, 0] += 5.0  # a constant mean: no variance, must not be picked
        X.append(coeffs.reshape(n_per_class, C, *spatial))
        y.append(np.full(n_per_class, label))
    X = idct(torch.as_tensor(np.concatenate(X)), dims=len(spatial))
    return X.float(), torch.as_tensor(np.concatenate(y))


@pytest.mark.parametrize("shape, positions", [
    ((2, 32), [[3, 10], [20, 1]]),
    ((1, 6, 5), [[1 * 5 + 2, 4 * 5 + 0], [2 * 5 + 4, 7]]),  # non-square, flat row-major
])
def test_evr_mask_picks_the_class_energy(shape, positions):
    X, y = _data_with_energy_at(positions, shape)
    evr = DCTDomain.explained_variance_ratio(X, y)
    assert evr.shape == (2, *shape)
    torch.testing.assert_close(evr.flatten(2).sum(-1), torch.ones(2, shape[0], dtype=evr.dtype))
    indices = DCTDomain.select_coefficients(evr, 2)
    for label, pos in enumerate(positions):
        for ch in range(shape[0]):
            assert indices[label, ch].tolist() == pos  # ordered by decreasing ratio
    with seeded(0):
        p = DCTDomain.from_data(X, y, n_per_class=3, n_coefficients=2)
    assert p.mask.shape == (2, *shape) and int(p.mask.sum()) == 2 * shape[0] * 2
    assert p.mask.flatten(2)[1, 0, positions[1][0]] and not p.mask.flatten(2)[1, 0, 0]


def test_budget_rule():
    assert fred_n_per_class(10, (1, 28, 28), 64) == 122
    assert fred_n_per_class(1, (3, 32, 32), 1024) == 1
    assert fred_n_per_class(1, (3, 150), 16) == 9
    assert fred_n_per_class(2, (1, 8, 8), 64) == 2
    with pytest.raises(ValueError, match="n_coefficients"):
        fred_n_per_class(1, (1, 8, 8), 65)
    with pytest.raises(ValueError, match="sample_shape"):
        fred_n_per_class(1, (64,), 4)
    X, y = torch.rand(60, 3, 4, 5), torch.arange(60) % 3
    ipc, k = 2, 7
    n = fred_n_per_class(ipc, X.shape[1:], k)
    with seeded(0):
        p = DCTDomain.from_data(X, y, n_per_class=n, n_coefficients=k)
    assert p.n_stored == n * 3 * 3 * k <= ipc * 3 * X[0].numel()
    assert p.n_stored > (ipc * 3 * X[0].numel()) - 3 * 3 * k  # no whole instance left unused


def test_dct_domain_renders_real_samples_and_passes_gradients():
    X, y = torch.rand(30, 2, 6, 7), torch.arange(30) % 3
    with seeded(1):
        full = DCTDomain.from_data(X, y, n_per_class=4, n_coefficients=42)
    rendered = full()
    assert rendered.shape == (12, 2, 6, 7) and full.labels.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    chosen = full.init_indices_
    torch.testing.assert_close(rendered, X[chosen], atol=1e-5, rtol=1e-5)  # k = D: exact
    assert (y[chosen] == full.labels).all() and len(set(chosen.tolist())) == 12
    with seeded(1):
        again = DCTDomain.from_data(X, y, n_per_class=4, n_coefficients=42)
    assert torch.equal(again.coefficients, full.coefficients)

    with seeded(1):
        p = DCTDomain.from_data(X, y, n_per_class=4, n_coefficients=5)
    mask = p.mask[p.labels]
    expected = idct(dct(X[p.init_indices_], dims=2) * mask, dims=2)  # projection on the mask
    torch.testing.assert_close(p(), expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(p.encode(X[p.init_indices_], p.labels), p.coefficients)
    p().square().sum().backward()  # orthonormal: d||x||^2 / dc = 2c
    torch.testing.assert_close(p.coefficients.grad, 2 * p.coefficients.detach(),
                               atol=1e-5, rtol=1e-4)
    assert p.n_stored == 12 * 2 * 5 and p.n_coefficients == 5 and p.n_classes == 3


@pytest.mark.parametrize("device", DEVICES)
def test_dct_domain_series_noise_init_and_device(device):
    X = torch.randn(40, 3, 150, device=device)
    y = torch.arange(40, device=device) % 4
    with seeded(0, device):
        p = DCTDomain.from_data(X, y, n_per_class=2, n_coefficients=10, init="noise")
    assert p.init_indices_ is None and p.dims == 1
    out = p()
    assert out.shape == (8, 3, 150) and out.device.type == device
    assert p.dct_t.device.type == device and torch.isfinite(out).all()


def test_dct_domain_errors():
    X, y = torch.rand(12, 1, 4, 4), torch.arange(12) % 3
    with pytest.raises(ValueError, match="no sample"):
        DCTDomain.from_data(X, y, 2, 4, n_classes=4)
    with pytest.raises(ValueError, match="n_coefficients"):
        DCTDomain.from_data(X, y, 2, 17)
    with pytest.raises(ValueError, match="init"):
        DCTDomain.from_data(X, y, 2, 4, init="zeros")
    with pytest.raises(ValueError, match="X must be"):
        DCTDomain.from_data(X[:, 0, 0], y, 2, 4)
    with pytest.raises(ValueError, match="coefficients must have shape"):
        DCTDomain(torch.zeros(3, 1, 2), torch.zeros(1, 1, 3, dtype=torch.long) + torch.arange(3),
                  torch.zeros(3, dtype=torch.long), (1, 4, 4))
    with pytest.raises(ValueError, match="repeat"):
        DCTDomain(torch.zeros(1, 1, 2), torch.zeros(1, 1, 2, dtype=torch.long),
                  torch.zeros(1, dtype=torch.long), (1, 4))
