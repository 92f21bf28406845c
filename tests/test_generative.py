"""TimeVQVAE (tokenizer, VQ, prior, MaskGIT), the neural mapper and the fidelity task."""
import json

import numpy as np
import pytest
import torch
from sklearn.frozen import FrozenEstimator
from sklearn.utils.estimator_checks import parametrize_with_checks

from skdd.generative import (BidirectionalPrior, NeuralMapper, TimeVQVAE, Tokenizer,
                             VectorQuantizer, iterative_decode)
from skdd.generative._prior import masked_prediction_loss
from skdd.utils import torch_threads



@pytest.fixture(autouse=True)
def _one_thread():
    """Raw torch code in these tests runs with skdd's thread policy (SKDD_NUM_THREADS, else
    one thread): small models crawl when torch spreads them over busy cores."""
    with torch_threads():
        yield


# small settings: a few steps, a small codebook
TINY = dict(stage1_steps=2, stage2_steps=2, codebook_size=16, n_sampling_steps=2, ipc=1,
            device="cpu")


def _waves(n=24, T=40, channels=1, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    t = np.linspace(0, 1, T)
    X = np.sin(2 * np.pi * ((y[:, None, None] + 1) * 2 * t + rng.uniform(size=(n, channels, 1))))
    return (X + 0.05 * rng.standard_normal((n, channels, T))).astype(np.float32), y


# -- stage 1 ----------------------------------------------------------------------------
def test_stochastic_vq_at_zero_temperature_is_the_argmin():
    torch.manual_seed(0)
    vq = VectorQuantizer(6, codebook_size=32, codebook_dim=3).eval()
    flat = torch.randn(500, 3)
    nearest = vq.codes(flat)
    assert torch.equal(vq.codes(flat, tau=0), nearest)
    assert torch.equal(vq.codes(flat, tau=1e-6), nearest)
    assert (vq.codes(flat, tau=4.0) != nearest).float().mean() > 0.5
    # the distances are squared Euclidean ones
    np.testing.assert_allclose(vq.distances(flat), torch.cdist(flat, vq.embed) ** 2, atol=1e-4)


def test_ema_codebook_updates_reduce_the_quantisation_error():
    torch.manual_seed(0)
    centers = 3 * torch.randn(8, 4)
    data = (centers[torch.randint(8, (2000,))] + 0.05 * torch.randn(2000, 4))
    vq = VectorQuantizer(4, codebook_size=8, codebook_dim=4, decay=0.8)
    with torch.no_grad():  # identity projections: quantise the data itself
        for lin in (vq.project_in, vq.project_out):
            lin.weight.copy_(torch.eye(4))
            lin.bias.zero_()
    vq.initted.fill_(True)  # keep the random codebook (no k-means) to see EMA alone

    def error():
        vq.eval()
        with torch.no_grad():
            zq, _, _ = vq(data.T[None])
        vq.train()
        return float(((zq[0].T - data) ** 2).mean())

    before = error()
    for batch in data.split(100):
        vq(batch.T[None])
    assert error() < 0.2 * before


def test_tokenizer_splits_reconstructs_and_trains():
    torch.manual_seed(0)
    tok = Tokenizer(2, 40, hidden=8, codebook_size=16)
    x = torch.randn(3, 2, 40)
    lf, hf = tok.split(x)
    torch.testing.assert_close(lf + hf, x, atol=1e-5, rtol=0)
    assert tok.bins == 3 and tok.n_tokens_lf < tok.n_tokens_hf
    loss, x_hat = tok.loss(x)
    assert x_hat.shape == x.shape and loss.ndim == 0
    tok.eval()
    codes_lf, codes_hf = tok.encode(x)
    assert codes_lf.shape == (3, tok.n_tokens_lf) and codes_hf.shape == (3, tok.n_tokens_hf)
    assert tok.decode(codes_lf, codes_hf).shape == x.shape
    # stage-1 training lowers the reconstruction loss
    X, _ = _waves(32, T=40)
    X = torch.from_numpy(X)
    tok = Tokenizer(1, 40, hidden=16, codebook_size=64).train()
    opt = torch.optim.Adam(tok.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        opt.zero_grad()
        loss = tok.loss(X)[0]
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5])


# -- stage 2 ----------------------------------------------------------------------------
def test_masked_prior_loss_decreases_and_sampling_fills_every_token():
    torch.manual_seed(0)
    K, n = 16, 6
    # two classes with their own deterministic token patterns
    patterns = torch.stack([torch.arange(n) % K, (torch.arange(n) * 3 + 1) % K])
    cls = torch.arange(64) % 2
    tokens = patterns[cls]
    prior = BidirectionalPrior(n, K, n_classes=2, dim=32, n_layers=1, heads=2, dropout=0.0)
    opt = torch.optim.Adam(prior.parameters(), lr=3e-3)
    losses = []
    for _ in range(80):
        opt.zero_grad()
        loss = masked_prediction_loss(prior, tokens, cls)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert np.mean(losses[-10:]) < 0.3 * np.mean(losses[:10])
    prior.eval()
    out = iterative_decode(prior, torch.tensor([0, 1, 1]), steps=4)
    assert out.shape == (3, n) and (out < K).all()
    assert torch.equal(out[1], patterns[1])  # the learned pattern of class 1


# -- the estimator ----------------------------------------------------------------------
def test_timevqvae_fit_resample_sample_and_reconstruct():
    X, y = _waves(20, T=30)
    labels = np.array(["a", "b"])[y]
    gen = TimeVQVAE(random_state=0, **{**TINY, "ipc": 3})
    X_syn, y_syn = gen.fit_resample(X, labels)
    assert X_syn.shape == (6, 1, 30) and X_syn.dtype == np.float32
    assert sorted(y_syn.tolist()) == ["a"] * 3 + ["b"] * 3
    assert gen.n_iter_ == 4 and len(gen.loss_curve_) == 4
    assert set(gen.stage_seconds_) == {"stage1", "stage2", "sampling"}
    # equal seeds give identical sets; sampling is seeded separately
    again = TimeVQVAE(random_state=0, **{**TINY, "ipc": 3}).fit(X, labels)
    np.testing.assert_array_equal(again.X_syn_, gen.X_syn_)
    np.testing.assert_array_equal(gen.sample(5, y="b", random_state=1),
                                  gen.sample(5, y="b", random_state=1))
    assert gen.sample(4, random_state=0).shape == (4, 1, 30)  # unconditional
    assert gen.sample(2, y=["a", "b"]).shape == (2, 1, 30)
    assert gen.reconstruct(X[:5]).shape == (5, 1, 30)
    np.testing.assert_array_equal(gen.reconstruct(X[:5], tau=0),
                                  gen.reconstruct(X[:5], tau=None))
    # 2-D input is one channel; without labels the generator is unconditional
    X2 = X[:, 0]
    out = TimeVQVAE(random_state=0, **{**TINY, "ipc": 4}).fit_resample(X2)
    assert out.shape == (4, 30)


def test_timevqvae_checkpoints_each_stage(tmp_path):
    X, y = _waves(12, T=20)
    path = tmp_path / "tvq.pt"
    kw = dict(TINY, stage1_steps=4, stage2_steps=4, checkpoint_every=2, random_state=0)
    first = TimeVQVAE(checkpoint_path=path, **kw).fit(X, y)
    assert (tmp_path / "tvq.pt.stage1").exists() and (tmp_path / "tvq.pt.stage2").exists()
    # a fit started again resumes from the finished checkpoints: same model, same set
    again = TimeVQVAE(checkpoint_path=path, **kw).fit(X, y)
    np.testing.assert_array_equal(again.X_syn_, first.X_syn_)
    np.testing.assert_array_equal(again.loss_curve_, first.loss_curve_)
    plain = TimeVQVAE(**kw).fit(X, y)
    np.testing.assert_array_equal(plain.X_syn_, first.X_syn_)
    with pytest.raises(ValueError, match="another fit"):
        TimeVQVAE(checkpoint_path=path, **{**kw, "lr": 0.01}).fit(X, y)


def test_timevqvae_rejects_bad_input():
    X, y = _waves(10, T=20)
    gen = TimeVQVAE(**TINY)
    with pytest.raises(ValueError, match="NaN"):
        gen.fit(np.where(np.arange(20) == 3, np.nan, X), y)
    with pytest.raises(ValueError, match="2-D .* or 3-D"):
        gen.fit(X[..., None], y)
    with pytest.raises(ValueError, match="at least 2 time steps"):
        gen.fit(X[..., :1], y)
    with pytest.raises(ValueError, match="one class"):
        gen.fit(X, np.zeros(10))
    with pytest.raises(ValueError, match="one label per series"):
        gen.fit(X, y[:5])
    with pytest.raises(ValueError, match="preset='gpu' is not supported"):
        TimeVQVAE(preset="gpu").fit(X, y)
    with pytest.raises(ValueError, match="p_unconditional"):
        TimeVQVAE(p_unconditional=1.5, **TINY).fit(X, y)
    gen.fit(X, y)
    with pytest.raises(ValueError, match="not seen in fit"):
        gen.sample(2, y=7)
    with pytest.raises(ValueError, match="fitted on"):
        gen.reconstruct(X[..., :10])
    with pytest.raises(ValueError, match="without labels"):
        TimeVQVAE(**TINY).fit(X).sample(2, y=0)


# -- the neural mapper ------------------------------------------------------------------
def test_neural_mapper_keeps_rows_and_chooses_tau_on_the_grid():
    X, y = _waves(16, T=24)
    nm = NeuralMapper(TimeVQVAE(**TINY), tau="auto", max_iter=2, n_tau_samples=8,
                      random_state=0, device="cpu").fit(X, y)
    assert nm.tau_ in (0.1, 0.5, 1.0, 2.0, 4.0) and len(nm.tau_fids_) == 5
    assert nm.tau_fids_[nm.tau_] == min(nm.tau_fids_.values())
    out = nm.transform(X[:5])
    assert out.shape == (5, 1, 24) and out.dtype == np.float32
    assert nm.transform(X[:5].astype(np.float64)).dtype == np.float64
    assert nm.generator_.random_state == nm.seed_  # the generator inherits the seed
    with pytest.raises(ValueError, match="tau_grid"):
        NeuralMapper(TimeVQVAE(**TINY), tau_grid=(1.0, -2.0)).fit(X, y)
    with pytest.raises(ValueError, match="TimeVQVAE"):
        NeuralMapper(FrozenEstimator(nm), tau=1.0).fit(X, y)


def test_tau_by_validation_trains_one_unet_per_grid_value(tmp_path):
    X, y = _waves(20, T=24)
    gen = TimeVQVAE(**TINY).fit(X, y)
    nm = NeuralMapper(FrozenEstimator(gen), tau="validation", tau_grid=(0.1, 1.0),
                      validation_fraction=0.25, max_iter=3, random_state=0, device="cpu",
                      checkpoint_path=tmp_path / "nm.pt").fit(X, y)
    assert set(nm.tau_fids_) == {0.1, 1.0} and nm.tau_fids_[nm.tau_] == min(nm.tau_fids_.values())
    assert len(nm.loss_curve_) == 3 and nm.transform(X[:3]).shape == (3, 1, 24)
    # same seed, same choice and same U-Net; the selection runs leave the checkpoint alone
    again = NeuralMapper(FrozenEstimator(gen), tau="validation", tau_grid=(0.1, 1.0),
                         validation_fraction=0.25, max_iter=3, random_state=0, device="cpu",
                         checkpoint_path=tmp_path / "nm.pt").fit(X, y)
    assert again.tau_fids_ == nm.tau_fids_
    np.testing.assert_array_equal(again.transform(X[:3]), nm.transform(X[:3]))
    for bad in (0.0, 1.0, "half"):
        with pytest.raises(ValueError, match="validation_fraction"):
            NeuralMapper(FrozenEstimator(gen), tau="validation",
                         validation_fraction=bad).fit(X, y)
    with pytest.raises(ValueError, match="two series on each side"):
        NeuralMapper(FrozenEstimator(gen), tau="validation",
                     validation_fraction=0.01).fit(X, y)
    with pytest.raises(ValueError, match="tau"):
        NeuralMapper(FrozenEstimator(gen), tau="best").fit(X, y)


def test_mapper_dropout_acts_in_training_only():
    X, y = _waves(16, T=24)
    gen = TimeVQVAE(**TINY).fit(X, y)
    kw = dict(tau=0.5, max_iter=4, random_state=0, device="cpu")
    plain = NeuralMapper(FrozenEstimator(gen), **kw).fit(X, y)
    dropped = NeuralMapper(FrozenEstimator(gen), dropout=0.5, **kw).fit(X, y)
    rates = {m.p for m in dropped.unet_.modules() if isinstance(m, torch.nn.Dropout)}
    assert rates == {0.5}
    assert not np.allclose(dropped.loss_curve_, plain.loss_curve_)  # training changed
    np.testing.assert_array_equal(dropped.transform(X[:4]), dropped.transform(X[:4]))
    again = NeuralMapper(FrozenEstimator(gen), dropout=0.5, **kw).fit(X, y)
    np.testing.assert_array_equal(again.transform(X[:4]), dropped.transform(X[:4]))
    for bad in (-0.1, 1.0, "half", True):
        with pytest.raises(ValueError, match="dropout"):
            NeuralMapper(FrozenEstimator(gen), dropout=bad, **kw).fit(X, y)


def test_dropout_at_zero_keeps_older_mapper_checkpoints_valid(tmp_path):
    # ``dropout`` came after mapper checkpoints existed: at 0 it is left out of the
    # fingerprint (so those checkpoints still match); any other value is another fit
    def params(**kw):
        return json.loads(NeuralMapper(tau=1.0, **kw)._params_fingerprint())["params"]

    assert "dropout" not in params() and params() == params(dropout=0)
    assert params(dropout=0.5)["dropout"] == "0.5"
    X, y = _waves(16, T=24)
    gen = TimeVQVAE(**TINY).fit(X, y)
    kw = dict(tau=0.5, max_iter=3, random_state=0, device="cpu",
              checkpoint_path=tmp_path / "nm.pt")
    first = NeuralMapper(FrozenEstimator(gen), **kw).fit(X, y)
    again = NeuralMapper(FrozenEstimator(gen), dropout=0.0, **kw).fit(X, y)
    np.testing.assert_array_equal(again.transform(X[:3]), first.transform(X[:3]))
    with pytest.raises(ValueError, match="checkpoint"):
        NeuralMapper(FrozenEstimator(gen), dropout=0.5, **kw).fit(X, y)


def test_mapper_reduces_l1_on_svq_reconstructions():
    X, y = _waves(24, T=32)
    gen = TimeVQVAE(stage1_steps=60, stage2_steps=2, codebook_size=32, n_sampling_steps=2,
                    random_state=0, device="cpu").fit(X, y)
    nm = NeuralMapper(FrozenEstimator(gen), tau=0.5, max_iter=60, lr=3e-3, random_state=0,
                      device="cpu").fit(X, y)
    assert nm.generator_ is gen  # frozen: reused, not refitted
    # fresh SVQ draws (not those seen in training) of the real series
    X_svq = np.concatenate([gen.reconstruct(X, tau=0.5, random_state=s) for s in range(3)])
    X_rep = np.concatenate([X] * 3)
    before = np.abs(X_svq - X_rep).mean()
    after = np.abs(nm.transform(X_svq) - X_rep).mean()
    assert after < 0.8 * before
    assert nm.loss_curve_[-10:].mean() < nm.loss_curve_[:10].mean()


def test_mapper_set_output_pandas_returns_frames_with_the_input_columns():
    import pandas as pd

    X, _ = _waves(12, T=24)
    frame = pd.DataFrame(X[:, 0], columns=[f"t{i}" for i in range(24)],
                         index=[f"series{i}" for i in range(12)])
    nm = NeuralMapper(TimeVQVAE(**TINY), tau=1.0, max_iter=2, random_state=0, device="cpu")
    assert nm.set_output(transform="pandas") is nm
    out = nm.fit_transform(frame)
    assert isinstance(out, pd.DataFrame) and list(out.columns) == list(frame.columns)
    assert list(out.index) == list(frame.index)
    assert list(nm.get_feature_names_out()) == list(frame.columns)
    mapped = nm.transform(frame)
    assert isinstance(mapped, pd.DataFrame)
    np.testing.assert_array_equal(mapped.to_numpy(), out.to_numpy())
    # arrays get generated names; the default output is the array itself
    assert list(nm.fit(X[:, 0]).transform(X[:2, 0]).columns) == [f"x{i}" for i in range(24)]
    plain = nm.set_output(transform="default").fit(frame).transform(frame)
    assert isinstance(plain, np.ndarray)
    np.testing.assert_array_equal(plain, mapped.to_numpy())
    # 3-D series have no tabular form
    nm.fit(X)
    assert isinstance(nm.transform(X[:2]), np.ndarray)
    with pytest.raises(ValueError, match="3-D series"):
        nm.get_feature_names_out()
    with pytest.raises(ValueError, match="3-D series"):
        nm.set_output(transform="pandas").transform(X[:2])


# -- scikit-learn compatibility -----------------------------------------------------------
EXPECTED_FAILURES = {}


@parametrize_with_checks(
    [TimeVQVAE(**TINY), NeuralMapper(TimeVQVAE(**TINY), tau=1.0, max_iter=2, device="cpu")],
    expected_failed_checks=lambda est: EXPECTED_FAILURES.get(type(est).__name__, {}))
def test_sklearn_compatible(estimator, check):
    check(estimator)


# -- the benchmark task -----------------------------------------------------------------
def test_fidelity_task_writes_every_metric_per_seed():
    from skdd.benchmarks._fidelity import format_fidelity_table, run_fidelity_benchmark
    from skdd.classification import ClassificationRecipe

    fcn = {"recipe": ClassificationRecipe(epochs=3, lr=0.01, batch_size=8),
           "model_kwargs": {"filters": (8, 8, 8)}}

    X, y = _waves(16, T=24)
    data = {"name": "toy", "X_train": X, "y_train": y, "X_ref": _waves(12, T=24, seed=1)[0],
            "y_ref": np.arange(12) % 2}
    res = run_fidelity_benchmark("toy", seeds=(0, 1), n_draws=1, data=data, num_features=84,
                                 params=dict(stage1_steps=2, stage2_steps=2, codebook_size=16),
                                 mapper_params=dict(max_iter=2, tau=1.0),
                                 classifier_params=fcn, log=None)
    for key in ("real", "floor", "samples", "svq", "mapped"):
        assert set(res["results"][key]) == {"fid", "is", "cfid"}
        for metric in ("fid", "is", "cfid"):
            assert len(res["results"][key][metric]) == 2
    assert all(1.0 <= v <= 2.0 for v in res["results"]["samples"]["is"])
    assert res["tau_rule"] == 1.0 and res["tau"] == [1.0, 1.0]
    # distilled sets are compared with generated sets of the same size
    res2 = run_fidelity_benchmark("toy", seeds=(0,), n_draws=1, data=data, num_features=84,
                                  params=dict(stage1_steps=2, stage2_steps=2, codebook_size=16),
                                  mapper_params=dict(max_iter=2, tau=1.0), distillers=["random"],
                                  ipc=3, classifier_params=fcn, log=None)
    assert {"random@3", "samples@3", "mapped@3"} <= set(res2["results"])
    assert "random@3" in format_fidelity_table(res2)
    json.dumps(res)
    assert "mapped samples" in format_fidelity_table(res)
    # unconditional data (ETT windows): FID only
    data.update(y_train=None, y_ref=None)
    res = run_fidelity_benchmark("toy", seeds=(0,), n_draws=1, data=data, num_features=84,
                                 n_eval=8, params=dict(stage1_steps=2, stage2_steps=2,
                                                       codebook_size=16),
                                 mapper_params=dict(max_iter=2, tau=1.0), log=None)
    assert res["results"]["mapped"]["is"] == [None] and res["n_eval"] == 8
    assert res["results"]["mapped"]["fid"][0] >= 0


def test_fidelity_task_with_a_cache_dir_reuses_the_trained_stages(tmp_path):
    from skdd.benchmarks._fidelity import run_fidelity_benchmark
    from skdd.classification import ClassificationRecipe

    X, y = _waves(16, T=24)
    data = {"name": "toy", "X_train": X, "y_train": y, "X_ref": _waves(12, T=24, seed=1)[0],
            "y_ref": np.arange(12) % 2}
    kw = dict(seeds=(0,), n_draws=1, data=data, num_features=84, log=None, cache_dir=tmp_path,
              params=dict(stage1_steps=3, stage2_steps=3, codebook_size=16),
              mapper_params=dict(max_iter=3, tau=1.0),
              classifier_params={"recipe": ClassificationRecipe(epochs=2, lr=0.01, batch_size=8),
                                 "model_kwargs": {"filters": (8, 8, 8)}})
    first = run_fidelity_benchmark("toy", **kw)
    names = sorted(p.name.split("-")[-2] for p in (tmp_path / "checkpoints").iterdir())
    assert names == ["mapper", "timevqvae", "timevqvae"]  # one file per generator stage
    second = run_fidelity_benchmark("toy", **kw)
    assert first["resumed"] == [False] and second["resumed"] == [True]
    for key in ("samples", "mapped"):
        assert first["results"][key]["fid"] == second["results"][key]["fid"]


def test_fidelity_subcommand_is_registered():
    from skdd.benchmarks.__main__ import build_parser

    args = build_parser().parse_args(["fidelity", "--dataset", "ETTh1", "--seeds", "0,1"])
    assert args.task == "fidelity" and args.seeds == [0, 1] and args.preset == "cpu"


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA is not available")
def test_generator_and_mapper_run_on_cuda():
    X, y = _waves(16, T=24)
    gen = TimeVQVAE(**{**TINY, "device": "auto"}, random_state=0).fit(X, y)
    assert gen.device_.startswith("cuda") and isinstance(gen.X_syn_, np.ndarray)
    assert next(gen.tokenizer_.parameters()).device.type == "cpu"  # kept on CPU after fit
    nm = NeuralMapper(FrozenEstimator(gen), max_iter=3, n_tau_samples=8, device="cuda",
                      random_state=0).fit(X, y)
    assert nm.transform(gen.sample(4, y=1, random_state=0)).shape == (4, 1, 24)
