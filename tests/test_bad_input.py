"""Bad input gets a clear error naming the parameter or array (or a documented behaviour).

Every public distiller is found through the package ``__all__``s and fitted with tiny
settings on small data (digits images, a short generated series).
"""
import json
import os
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

import skdd
import skdd.classification
import skdd.compose
import skdd.forecasting
from skdd.base import (DIVERGENCE_FACTOR, BaseDistiller, BaseForecastDistiller,
                       observe_optimization)
from skdd.classification import BaseClassDistiller
from skdd.datasets import load_digits_images, make_seasonal_series
from skdd.generative import NeuralMapper, TimeVQVAE
from skdd.utils import channel_scaling, check_verbose, resolve_device

from _toy import WindowMomentDistiller


def _public_distillers():
    found = {}
    for module in (skdd, skdd.forecasting, skdd.classification, skdd.compose):
        for name in module.__all__:
            obj = getattr(module, name)
            if (isinstance(obj, type) and issubclass(obj, BaseDistiller)
                    and not name.startswith("Base")):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return [found[k] for k in sorted(found)]


DISTILLERS = _public_distillers()
FORECAST = [c for c in DISTILLERS if issubclass(c, BaseForecastDistiller)]
CLASSIFY = [c for c in DISTILLERS if issubclass(c, BaseClassDistiller)]

# Tiny settings: each class takes those of its parameters it has.
_FORECAST_KW = dict(length=24, seq_len=6, pred_len=6, max_iter=2, n_experts=1, expert_epochs=2,
                    expert_span=1, syn_steps=1, expert_steps=1, n_harmonics=2, batch_size=8,
                    n_subsequences=2, cond_every=1, device="cpu", random_state=0)
_CLASSIFY_KW = dict(ipc=1, max_iter=2, net_width=4, net_depth=1, net_norm="none", batch_real=8,
                    n_experts=1, expert_epochs=1, syn_steps=1, expert_span=1, outer_loop=2,
                    inner_loop=1, teacher_epochs=1, device="cpu", random_state=0)


def _ids(classes):
    return [f"{c.__module__.split('.')[1]}.{c.__name__}" for c in classes]


def make(cls, **overrides):
    """``cls`` with the tiny settings it takes, then ``overrides``."""
    kw = _FORECAST_KW if issubclass(cls, BaseForecastDistiller) else _CLASSIFY_KW
    params = cls().get_params()
    return cls(**{**{k: v for k, v in kw.items() if k in params}, **overrides})


def is_optimising(cls):
    return "max_iter" in cls().get_params()


@pytest.fixture(scope="module")
def digits():
    X, _, y, _ = load_digits_images()
    return X[:100].astype(np.float64), y[:100]


@pytest.fixture(scope="module")
def series():
    return make_seasonal_series(200, 2, random_state=0)


def data_for(cls, digits, series):
    if issubclass(cls, BaseForecastDistiller):
        return (series,)
    return digits


def test_every_public_distiller_is_covered():
    assert len(FORECAST) >= 4 and len(CLASSIFY) >= 7
    assert skdd.compose.RandomSubsetDistiller in DISTILLERS
    assert set(DISTILLERS) == set(FORECAST) | set(CLASSIFY) | {skdd.compose.RandomSubsetDistiller}


# -- 1. device and verbose ----------------------------------------------------------------
_BAD_DEVICES = ["meta", "nonsense", "cuda:x"]
if not torch.backends.mps.is_available():
    _BAD_DEVICES.append("mps")
if not torch.cuda.is_available():
    _BAD_DEVICES.append("cuda")


@pytest.mark.parametrize("device", _BAD_DEVICES)
def test_resolve_device_rejects_with_accepted_values(device):
    with pytest.raises(ValueError, match=r"device=.*'auto', 'cpu', 'cuda', 'cuda:N'"):
        resolve_device(device)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA is not available")
def test_resolve_device_rejects_an_absent_gpu_index():
    with pytest.raises(ValueError, match="CUDA device"):
        resolve_device(f"cuda:{torch.cuda.device_count()}")
    assert resolve_device("cuda:0").type == "cuda"


def test_resolve_device_accepts():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device(None).type in ("cpu", "cuda")
    assert resolve_device(torch.device("cpu")).type == "cpu"
    with pytest.raises(ValueError, match="device must be a string or a torch.device"):
        resolve_device(3)


_WITH_DEVICE = [c for c in DISTILLERS if "device" in c().get_params()]


@pytest.mark.parametrize("cls", _WITH_DEVICE, ids=_ids(_WITH_DEVICE))
@pytest.mark.parametrize("device", ["meta", "nonsense"])
def test_bad_device_every_distiller(cls, device, digits, series):
    with pytest.raises(ValueError, match=r"device=.*'cuda:N'"):
        make(cls, device=device).fit(*data_for(cls, digits, series))


def test_check_verbose():
    assert check_verbose(True) == 1 and check_verbose(False) == 0 and check_verbose(3) == 3
    assert check_verbose(np.int64(2)) == 2
    for bad in ("yes", 1.5, None):
        with pytest.raises(TypeError, match="verbose must be an int >= 0 or a bool"):
            check_verbose(bad)
    with pytest.raises(ValueError, match="verbose"):
        check_verbose(-1)


_WITH_VERBOSE = [c for c in DISTILLERS if "verbose" in c().get_params()]


@pytest.mark.parametrize("cls", _WITH_VERBOSE, ids=_ids(_WITH_VERBOSE))
@pytest.mark.parametrize("verbose", ["yes", 1.5, None])
def test_bad_verbose_every_distiller(cls, verbose, digits, series):
    with pytest.raises(TypeError, match="verbose"):
        make(cls, verbose=verbose).fit(*data_for(cls, digits, series))


def test_bad_device_and_verbose_generative():
    X = np.random.default_rng(0).standard_normal((8, 16))
    for est in (TimeVQVAE(device="meta"), NeuralMapper(device="meta")):
        with pytest.raises(ValueError, match="device='meta'"):
            est.fit(X)
    for est in (TimeVQVAE(verbose="yes"), NeuralMapper(verbose=None)):
        with pytest.raises(TypeError, match="verbose"):
            est.fit(X)


# -- 2 and 5. divergence names the learning rates ------------------------------------------
_OPTIMISING = [c for c in DISTILLERS if is_optimising(c)]


@pytest.mark.parametrize("cls", _OPTIMISING, ids=_ids(_OPTIMISING))
def test_huge_lr_names_the_learning_rates(cls, digits, series):
    est = make(cls, lr=1e30)
    with pytest.raises(FloatingPointError, match="diverged") as info:
        est.fit(*data_for(cls, digits, series))
    names = est._learning_rate_params()
    assert "lr" in names
    for name in names:
        assert f"`{name}` (" in str(info.value)
    assert "`lr` (1e+30)" in str(info.value)


def test_nan_loss_names_inner_lr_and_iteration(series):
    est = make(skdd.HarmonicDistiller, inner_lr=1e30)
    with pytest.raises(FloatingPointError,
                       match=r"HarmonicDistiller: the loss became (nan|inf) at iteration 1 of 2"
                       r".*lower `lr` \(1\.6\) or `inner_lr` \(1e\+30\)"):
        est.fit(series)


def test_classification_lr_names_depend_on_objective():
    fred = skdd.FreDDistiller
    assert fred(objective="dm")._learning_rate_params() == ("lr",)
    assert fred(objective="dc")._learning_rate_params() == ("lr", "lr_net")
    assert fred(objective="tm")._learning_rate_params() == ("lr", "expert_lr", "lr_step")
    assert skdd.forecasting.ForecastingMTTDistiller()._learning_rate_params() == (
        "lr", "syn_lr", "lr_lr", "inner_lr")


def test_non_finite_after_the_last_step_is_caught(small_series):
    # the loss of the only iteration is finite; the update itself makes the data inf
    est = WindowMomentDistiller(max_iter=1, lr=float("inf"), random_state=0)
    with pytest.raises(FloatingPointError, match="became non-finite .* by iteration 1 of 1"):
        est.fit(small_series)


def test_finite_blow_up_is_detected(digits):
    # distribution matching through a fresh network is nearly scale-free: the loss stays
    # finite while the synthetic images grow far beyond the data
    est = make(skdd.classification.DMDistiller, lr=1e8)
    with pytest.raises(FloatingPointError, match=r"times the real data's max \|X\|.*`lr` \(1e\+08\)"):
        est.fit(*digits)


def test_blow_up_is_caught_in_the_loop(digits):
    # instance norm makes the matching scale-free: the loss stays finite as the data grow
    est = make(skdd.classification.DMDistiller, lr=1e8, max_iter=1000, net_norm="instance")
    with pytest.raises(FloatingPointError, match="grew to .* by iteration 10 of 1000"):
        est.fit(*digits)


@pytest.mark.parametrize("cls", _OPTIMISING, ids=_ids(_OPTIMISING))
def test_blow_up_after_fit_every_distiller(cls, digits, series):
    est = make(cls)

    def blow_up(distiller, iteration, synthetic):
        if iteration == est.max_iter:  # after the last update: data far beyond the real
            with torch.no_grad():
                for p in synthetic.parameters():
                    p.mul_(1e9)

    with observe_optimization(blow_up):
        with pytest.raises(FloatingPointError, match=f"limit is {DIVERGENCE_FACTOR:g} times"):
            est.fit(*data_for(cls, digits, series))


def test_neural_mapper_never_returns_nan():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((12, 16))
    mapper = NeuralMapper(tau=1.0, max_iter=2, batch_size=4, random_state=0, device="cpu",
                          generator=TimeVQVAE(stage1_steps=2, stage2_steps=2, codebook_size=8,
                                              device="cpu")).fit(X)
    with torch.no_grad():
        next(mapper.unet_.parameters()).fill_(float("nan"))
    with pytest.raises(FloatingPointError, match="NeuralMapper: the mapped series hold NaN"):
        mapper.transform(X)


# -- 3. values beyond float32 -----------------------------------------------------------------
@pytest.mark.parametrize("cls", FORECAST + CLASSIFY, ids=_ids(FORECAST + CLASSIFY))
def test_float32_overflow_every_distiller(cls, digits, series):
    data = list(data_for(cls, digits, series))
    X = np.array(data[0], dtype=np.float64)
    X.flat[3] = 1e300
    data[0] = X
    with pytest.raises(ValueError, match=r"X has values beyond float32's range: max \|X\| = 1e\+300"):
        make(cls).fit(*data)


def test_float32_overflow_generative():
    X = np.random.default_rng(0).standard_normal((8, 16))
    X[0, 0] = -1e300
    for est in (TimeVQVAE(), NeuralMapper()):
        with pytest.raises(ValueError, match="beyond float32's range"):
            est.fit(X)


@pytest.mark.parametrize("cls", _OPTIMISING, ids=_ids(_OPTIMISING))
@pytest.mark.parametrize("scale", [1e37, 1e-30])
def test_extreme_but_valid_scales_fit(cls, scale, digits, series):
    # float32 sums overflow near 1e38 and squares underflow below 1e-19: the
    # standardisation falls back to float64 statistics there
    data = list(data_for(cls, digits, series))
    data[0] = np.asarray(data[0], dtype=np.float64) * scale
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est = make(cls).fit(*data)
    ratio = np.abs(est.X_syn_).max() / np.abs(data[0]).max()
    assert np.isfinite(est.X_syn_).all() and 0.1 < ratio < 10


def test_random_subset_keeps_float64():
    # RandomSubsetDistiller copies rows in their own dtype: nothing overflows
    X = np.arange(20.0).reshape(10, 2)
    X[:, 0] *= 1e299
    X_syn, _ = skdd.compose.RandomSubsetDistiller(n_samples=10, random_state=0).fit_resample(
        X, np.arange(10.0))
    assert X_syn.dtype == np.float64 and np.array_equal(X_syn, X)


# -- 4. constant and near-constant channels ------------------------------------------------------
def test_channel_scaling_marks_constant_channels():
    X = np.stack([np.linspace(0, 1, 50), np.full(50, 3.0), 1e6 + 1e-3 * np.sin(np.arange(50)),
                  1e-20 * np.sin(np.arange(50))], axis=1)
    mean, scale, constant = channel_scaling(X, axes=(0,))
    assert constant.tolist() == [[False, True, True, False]]
    assert scale[0, 1] == 1.0 and scale[0, 2] == 1.0


@pytest.mark.parametrize("cls", FORECAST + CLASSIFY, ids=_ids(FORECAST + CLASSIFY))
def test_constant_channels_are_held_at_their_mean(cls, digits, series):
    if issubclass(cls, BaseForecastDistiller):
        n = len(series)
        X = np.column_stack([series[:, 0], np.full(n, 7.0),
                             1e5 + 1e-5 * np.random.default_rng(0).standard_normal(n)])
        data, axis = (X,), 1
    else:
        X, y = digits
        n = len(X)
        near = 1e5 + 1e-5 * np.random.default_rng(0).standard_normal((n, 1, 8, 8))
        X = np.concatenate([X, np.full((n, 1, 8, 8), 7.0), near], axis=1)
        data, axis = (X, y), 1
    est = make(cls).fit(*data)
    syn = np.moveaxis(est.X_syn_, axis, 0)
    assert np.all(syn[1] == np.float32(7.0))
    # the near-constant channel is held too: never its rounding noise amplified
    assert np.ptp(syn[2]) == 0.0
    assert abs(float(syn[2].flat[0]) - 1e5) < 0.01
    assert np.isfinite(est.X_syn_).all()


def test_constant_channel_timevqvae():
    rng = np.random.default_rng(0)
    X = np.stack([rng.standard_normal((12, 16)), np.full((12, 16), -2.0)], axis=1)
    gen = TimeVQVAE(ipc=2, stage1_steps=2, stage2_steps=2, codebook_size=8, random_state=0,
                    device="cpu").fit(X)
    assert gen.constant_channels_.ravel().tolist() == [False, True]
    assert np.all(gen.X_syn_[:, 1] == np.float32(-2.0))


# -- 6. continuous labels -----------------------------------------------------------------------
@pytest.mark.parametrize("cls", CLASSIFY, ids=_ids(CLASSIFY))
def test_continuous_y_rejected(cls, digits):
    X, y = digits
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        make(cls).fit(X, y + 0.5)


def test_continuous_y_rejected_timevqvae():
    X = np.random.default_rng(0).standard_normal((8, 16))
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        TimeVQVAE().fit(X, np.linspace(0, 1, 8))


# -- 7. the mapper's generator ------------------------------------------------------------------
@pytest.mark.parametrize("generator", ["lr", "frozen_lr", "string"])
def test_mapper_rejects_wrong_generator_before_fitting(generator):
    from sklearn.frozen import FrozenEstimator
    from sklearn.linear_model import LogisticRegression

    gen = {"lr": LogisticRegression(), "frozen_lr": FrozenEstimator(LogisticRegression()),
           "string": "timevqvae"}[generator]
    mapper = NeuralMapper(generator=gen)
    with pytest.raises(ValueError, match="generator must be None, a TimeVQVAE"):
        mapper.fit(np.random.default_rng(0).standard_normal((8, 16)))
    assert not hasattr(mapper, "n_channels_")  # nothing was validated or fitted


# -- 8. unreadable files ------------------------------------------------------------------------
def _saved(tmp_path, series):
    segment = next(c for c in FORECAST if not is_optimising(c))  # the random segment
    est = segment(length=24, seq_len=6, pred_len=6, random_state=0)
    return est.fit(pd.DataFrame(series, columns=["a", "b"])).save_distilled(tmp_path / "ok.npz")


def _write(tmp_path, kind, series):
    path = tmp_path / f"{kind}.npz"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("not a zip at all")
    elif kind == "truncated":
        data = _saved(tmp_path, series).read_bytes()
        path.write_bytes(data[:len(data) // 2])
    elif kind == "npy":
        path = tmp_path / "plain.npy"
        np.save(path, np.ones((3, 2)))
    elif kind == "not_json":
        np.savez(path, X_syn=np.ones((4, 2)),
                 __metadata_json__=np.frombuffer(b"{not json", dtype=np.uint8))
    elif kind == "no_metadata":
        np.savez(path, X_syn=np.ones((4, 2)))
    elif kind == "channels":
        meta = json.dumps({"channel_names": ["a", "b", "c"]}).encode()
        np.savez(path, X_syn=np.ones((4, 2)),
                 __metadata_json__=np.frombuffer(meta, dtype=np.uint8))
    return path


@pytest.mark.parametrize("kind, problem", [
    ("empty", "the file is empty"),
    ("text", "not a zip file"),
    ("truncated", "truncated or corrupted"),
    ("npy", "plain .npy"),
    ("not_json", "metadata is not valid JSON"),
    ("no_metadata", "JSON metadata is missing"),
    ("channels", "names 3 channels, but X_syn has 2"),
])
def test_load_distilled_bad_files(tmp_path, series, kind, problem):
    path = _write(tmp_path, kind, series)
    with pytest.raises(ValueError, match="is not a readable distilled set") as info:
        skdd.load_distilled(path)
    assert str(path) in str(info.value) and problem in str(info.value)


def test_load_distilled_good_file_still_loads(tmp_path, series):
    loaded = skdd.load_distilled(_saved(tmp_path, series))
    assert loaded.to_frame().columns.tolist() == ["a", "b"]


def _interrupted_checkpoint(tmp_path, small_series):
    path = tmp_path / "ckpt.pt"
    with pytest.raises(KeyboardInterrupt):
        WindowMomentDistiller(random_state=0, checkpoint_path=path, interrupt_at=7).fit(
            small_series)
    assert path.exists()
    return path


@pytest.mark.parametrize("damage", ["truncated", "garbage", "incomplete"])
def test_corrupted_checkpoint_names_path_and_how_to_discard(tmp_path, small_series, damage):
    path = _interrupted_checkpoint(tmp_path, small_series)
    if damage == "truncated":
        data = path.read_bytes()
        path.write_bytes(data[:len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(b"\x00garbage")
    else:
        state = torch.load(path, weights_only=True)
        del state["optimizer"]
        torch.save(state, path)
    est = WindowMomentDistiller(random_state=0, checkpoint_path=path)
    with pytest.raises(ValueError, match="corrupted or incomplete checkpoint") as info:
        est.fit(small_series)
    assert str(path) in str(info.value) and "delete the file" in str(info.value)
    os.remove(path)  # as the message says: the fit then starts afresh
    assert est.fit(small_series).n_iter_ == est.max_iter


def test_corrupted_cache_file_names_it(tmp_path):
    from skdd.utils import disk_cache

    disk_cache(tmp_path, "demo", 1, lambda: torch.arange(3))
    (cached,) = tmp_path.glob("demo-*.pt")
    cached.write_bytes(b"broken")
    with pytest.raises(ValueError, match="corrupted or incomplete: delete it"):
        disk_cache(tmp_path, "demo", 1, lambda: torch.arange(3))


# -- 9. string labels round trip ------------------------------------------------------------------
_NAMES = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])


@pytest.mark.parametrize("kind", ["object_array", "series_object", "series_string"])
def test_string_labels_save_and_load(tmp_path, digits, kind):
    X, y = digits
    labels = _NAMES[y].astype(object)
    if kind == "series_object":
        labels = pd.Series(labels, dtype=object, name="digit")
    elif kind == "series_string":
        labels = pd.Series(labels, dtype="string", name="digit")
    cls = next(c for c in CLASSIFY if not is_optimising(c))  # random samples per class
    est = cls(ipc=2, random_state=0).fit(X, labels)
    loaded = skdd.load_distilled(est.save_distilled(tmp_path / "labels.npz"))
    assert loaded.y_syn.dtype == object
    assert loaded.y_syn.tolist() == [str(v) for v in est.y_syn_]
    assert set(loaded.y_syn) == set(_NAMES)
    assert loaded.metadata["classes"] == sorted(_NAMES.tolist())


def test_unsavable_objects_named(tmp_path):
    est = skdd.compose.RandomSubsetDistiller(n_samples=3, random_state=0)
    est.fit(np.arange(12.0).reshape(6, 2), np.array([1, "a", 2.5, None, 3, 4], dtype=object))
    with pytest.raises(ValueError, match=r"array 'y_syn' has dtype object holding \["):
        est.save_distilled(tmp_path / "objects.npz")


# -- 10. unwritable paths fail before the fit ---------------------------------------------------
def _bad_path(tmp_path, kind):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    if kind == "under_a_file":
        return blocker / "ckpt.pt"
    folder = tmp_path / "a_folder"
    folder.mkdir()
    return folder


@pytest.mark.parametrize("kind", ["under_a_file", "a_folder"])
def test_unwritable_checkpoint_path_fails_before_the_fit(tmp_path, small_series, kind):
    seen = []
    est = WindowMomentDistiller(random_state=0, checkpoint_path=_bad_path(tmp_path, kind))
    with observe_optimization(lambda d, it, syn: seen.append(it)):
        with pytest.raises(ValueError, match="checkpoint_path="):
            est.fit(small_series)
    assert seen == []


@pytest.mark.parametrize("cls, name", [(skdd.classification.MTTDistiller, "expert_cache"),
                                       (skdd.CFMDistiller, "teacher_cache")])
def test_cache_folder_that_is_a_file(tmp_path, digits, cls, name):
    blocker = tmp_path / "cache"
    blocker.write_text("x")
    with pytest.raises(ValueError, match=f"{name}=.* is a file; it must be a folder"):
        make(cls, **{name: blocker}).fit(*digits)


def test_unwritable_checkpoint_path_timevqvae(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    X = np.random.default_rng(0).standard_normal((8, 16))
    for est in (TimeVQVAE(checkpoint_path=blocker / "c"), NeuralMapper(checkpoint_path=blocker / "c")):
        with pytest.raises(ValueError, match="checkpoint_path"):
            est.fit(X)


# -- 11. n_threads is part of a checkpoint's identity ---------------------------------------------
def test_checkpoint_of_another_thread_count_is_not_resumed(tmp_path, small_series, monkeypatch):
    monkeypatch.delenv("SKDD_NUM_THREADS", raising=False)
    path = tmp_path / "ckpt.pt"
    with pytest.raises(KeyboardInterrupt):
        WindowMomentDistiller(random_state=0, checkpoint_path=path, interrupt_at=7,
                              n_threads=2).fit(small_series)
    with pytest.raises(ValueError, match="holds a checkpoint of another fit"):
        WindowMomentDistiller(random_state=0, checkpoint_path=path, n_threads=1).fit(small_series)
    # the default (one thread) and an explicit 1 are the same fit
    path2 = tmp_path / "ckpt1.pt"
    with pytest.raises(KeyboardInterrupt):
        WindowMomentDistiller(random_state=0, checkpoint_path=path2, interrupt_at=7,
                              n_threads=1).fit(small_series)
    resumed = WindowMomentDistiller(random_state=0, checkpoint_path=path2,
                                    n_threads=None).fit(small_series)
    full = WindowMomentDistiller(random_state=0).fit(small_series)
    np.testing.assert_array_equal(resumed.X_syn_, full.X_syn_)


def test_thread_count_in_fingerprint_only_when_not_one(small_series):
    one = WindowMomentDistiller(max_iter=1, n_threads=1).fit(small_series)
    two = WindowMomentDistiller(max_iter=1, n_threads=2).fit(small_series)
    assert "n_threads" not in one._params_fingerprint()
    assert "n_threads" in two._params_fingerprint()


def test_expert_cache_keeps_thread_counts_apart(tmp_path, digits, monkeypatch):
    monkeypatch.delenv("SKDD_NUM_THREADS", raising=False)
    for threads in (1, None, 2):
        make(skdd.classification.MTTDistiller, expert_cache=tmp_path,
             n_threads=threads).fit(*digits)
    assert len(list(tmp_path.glob("experts-*.pt"))) == 2  # None is one thread


# -- 12. forecasting distillers ignore y, with a warning ---------------------------------------------
@pytest.mark.parametrize("cls", FORECAST, ids=_ids(FORECAST))
def test_forecasting_y_is_ignored_with_a_warning(cls, series):
    with pytest.warns(UserWarning, match=r"\.fit ignores y"):
        with_y = make(cls).fit(series, series[:, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        without = make(cls).fit(series)
    np.testing.assert_array_equal(with_y.X_syn_, without.X_syn_)
