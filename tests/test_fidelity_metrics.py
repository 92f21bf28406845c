"""FID on MiniRocket features, inception score, conditional FID and the FCN behind them."""
import itertools

import numpy as np
import pytest
import scipy.linalg
import torch
from sklearn.utils.estimator_checks import parametrize_with_checks

from skdd.metrics import (FidelityEvaluator, MiniRocketFeatures, conditional_fid, fid_score,
                          fit_fidelity_classifier, frechet_distance, inception_score)
from skdd.nn import FCN, make_classification_backbone
from skdd.utils import torch_threads


@pytest.fixture(autouse=True)
def _one_thread():
    """Raw torch code in these tests runs with skdd's thread policy (SKDD_NUM_THREADS, else
    one thread)."""
    with torch_threads():
        yield


def _waves(n, T=48, freq=3.0, seed=0, channels=1):
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, T)
    phase = rng.uniform(size=(n, channels, 1))
    return (np.sin(2 * np.pi * (freq * t + phase)) + 0.05 * rng.standard_normal((n, channels, T)))


def _sqrtm_fid(Z1, Z2):
    mu1, mu2 = Z1.mean(0), Z2.mean(0)
    S1, S2 = np.cov(Z1, rowvar=False), np.cov(Z2, rowvar=False)
    covmean = scipy.linalg.sqrtm(S1 @ S2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(S1) + np.trace(S2) - 2 * np.trace(covmean))


@pytest.mark.parametrize("n1,n2,d", [(12, 9, 30), (40, 50, 6), (8, 60, 20)])
def test_exact_fid_equals_the_sqrtm_formula(n1, n2, d):
    rng = np.random.default_rng(n1 + d)
    Z1 = rng.standard_normal((n1, d)) @ rng.standard_normal((d, d))
    Z2 = rng.standard_normal((n2, d)) + 0.5
    np.testing.assert_allclose(frechet_distance(Z1, Z2), _sqrtm_fid(Z1, Z2), rtol=1e-6, atol=1e-8)


def test_fid_of_a_set_with_itself_is_zero_and_grows_with_a_shift():
    X = _waves(40)
    assert abs(fid_score(X, X, num_features=840)) < 1e-9
    noise = np.random.default_rng(1).standard_normal(X.shape)
    by_noise = [fid_score(X, X + s * noise, num_features=840) for s in (0.1, 0.3, 1.0)]
    assert 0 < by_noise[0] < by_noise[1] < by_noise[2]
    # a shift of the frequency content is seen too
    assert fid_score(X, _waves(40, freq=6.0, seed=2), num_features=840) > by_noise[0]
    # the same feature map serves several synthetic sets
    feats = MiniRocketFeatures(num_features=840).fit(X)
    assert fid_score(X, X + noise, features=feats) == pytest.approx(by_noise[2])


def _naive_minirocket(m, x):
    """MiniRocket's PPV features of one series from the definition (loops)."""
    w = -np.ones((84, 9))
    for k, idx in enumerate(itertools.combinations(range(9), 3)):
        w[k, list(idx)] = 2.0
    out, start = [], 0
    T = x.shape[-1]
    for i, d in enumerate(m.dilations_):
        f, pad = m.features_per_dilation_[i], 4 * d
        xp = np.pad(x.astype(np.float64), ((0, 0), (pad, pad)))
        for k in range(84):
            chans = m.channel_masks_[i, k] > 0
            C = np.array([sum(w[k, j] * xp[chans, t + j * d].sum() for j in range(9))
                          for t in range(T)])
            if (k + i % 2) % 2 == 1:  # alternate kernels use the output without padding
                C = C[pad:T - pad]
            out += [(C > b).mean() for b in m.biases_[start:start + f]]
            start += f
    return np.array(out)


def test_minirocket_features_follow_the_definition_and_are_deterministic():
    X = _waves(5, T=30, channels=2).astype(np.float32)
    m = MiniRocketFeatures(num_features=168, normalize=False, random_state=3).fit(X)
    Z = m.transform(X)
    assert Z.shape == (5, 168) and Z.dtype == np.float64
    np.testing.assert_allclose(Z[1], _naive_minirocket(m, X[1]), atol=1e-6)
    again = MiniRocketFeatures(num_features=168, normalize=False, random_state=3).fit(X)
    np.testing.assert_array_equal(again.transform(X), Z)
    other = MiniRocketFeatures(num_features=168, normalize=False, random_state=4).fit(X)
    assert not np.array_equal(other.transform(X), Z)
    # L2-normalised by default; batches do not change the features
    Zn = MiniRocketFeatures(num_features=168, random_state=3, batch_size=2).fit(X).transform(X)
    np.testing.assert_allclose(Zn, Z / np.linalg.norm(Z, axis=1, keepdims=True), atol=1e-12)


def test_minirocket_input_handling():
    m = MiniRocketFeatures(num_features=84).fit(np.random.default_rng(0).standard_normal((4, 5)))
    assert m.transform(np.zeros((2, 5))).shape == (2, 84)  # 2-D: one channel, padded to 9
    m = MiniRocketFeatures(num_features=84).fit(np.zeros((3, 1, 20)))
    with pytest.raises(ValueError, match="fitted on length 20"):
        m.transform(np.zeros((2, 1, 12)))
    with pytest.raises(ValueError, match="random_state must be an int"):
        MiniRocketFeatures(random_state=None).fit(np.zeros((3, 20)))
    with pytest.raises(ValueError, match="NaN"):
        MiniRocketFeatures().fit(np.full((3, 20), np.nan))


def test_frechet_distance_rejects_bad_features():
    with pytest.raises(ValueError, match="at least 2"):
        frechet_distance(np.zeros((1, 3)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match="features"):
        frechet_distance(np.zeros((3, 3)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="2-D"):
        frechet_distance(np.zeros(3), np.zeros((4, 3)))


class _Fixed(torch.nn.Module):
    """Returns given logits row by row (series index in the first time step)."""

    def __init__(self, logits):
        super().__init__()
        self.logits = torch.nn.Parameter(torch.as_tensor(logits, dtype=torch.float32))

    def forward(self, x):
        return self.logits[x[:, 0, 0].long()]


def test_inception_score_bounds():
    K, n = 4, 40
    X = np.arange(n, dtype=np.float32)[:, None, None].repeat(3, 2)
    confident = np.full((n, K), -30.0)
    confident[np.arange(n), np.arange(n) % K] = 30.0
    assert inception_score(X, _Fixed(confident)) == pytest.approx(K, rel=1e-6)
    assert inception_score(X, _Fixed(np.zeros((n, K)))) == pytest.approx(1.0)
    random = np.random.default_rng(0).standard_normal((n, K)) * 3
    score = inception_score(X, _Fixed(random), n_splits=4)
    assert 1.0 <= score <= K
    with pytest.raises(ValueError, match="n_splits"):
        inception_score(X[:2], _Fixed(random), n_splits=3)


def test_fcn_backbone_and_conditional_fid():
    net = make_classification_backbone("fcn", 2, 3, (40,))
    assert isinstance(net, FCN) and net(torch.zeros(5, 2, 40)).shape == (5, 3)
    with pytest.raises(ValueError, match="dims=1"):
        FCN(1, 2, 8, dims=2)
    with pytest.raises(ValueError, match="expects input"):
        net(torch.zeros(5, 1, 40))
    # trained with the protocol's trainer, it separates two wave frequencies
    X = np.concatenate([_waves(20, T=40, freq=2), _waves(20, T=40, freq=6, seed=1)])
    y = np.repeat([0, 1], 20)
    from skdd.classification import ClassificationRecipe

    clf, hist = fit_fidelity_classifier(X, y, recipe=ClassificationRecipe(epochs=15, lr=0.01,
                                                                          batch_size=8),
                                        model_kwargs={"filters": (16, 32, 16)})
    assert hist["train_acc"][-1] > 0.9
    assert inception_score(X, clf) > 1.5
    assert abs(conditional_fid(X, y, X, y, clf)) < 1e-6
    swapped = conditional_fid(X, y, X, 1 - y, clf)  # classes exchanged: far apart
    assert swapped > conditional_fid(X, y, X + 0.05, y, clf)
    with pytest.raises(ValueError, match="no class"):
        conditional_fid(X, y, X[:3], y[:3] * 0 + 5, clf)


def test_fidelity_evaluator_scores_against_the_reference():
    X_ref = _waves(30, T=32)
    ev = FidelityEvaluator(X_ref, num_features=168)
    s = ev.score(X_ref)
    assert abs(s["fid"]) < 1e-9 and s["is"] is None and s["cfid"] is None
    assert ev.score(_waves(30, T=32, freq=7))["fid"] > 0.01


@parametrize_with_checks([MiniRocketFeatures(num_features=84)])
def test_minirocket_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA is not available")
def test_features_and_fid_on_cuda_match_cpu():
    X = _waves(30, T=40, channels=2)
    cpu = MiniRocketFeatures(num_features=840).fit(X)
    gpu = MiniRocketFeatures(num_features=840, device="cuda").fit(X)
    np.testing.assert_allclose(gpu.biases_, cpu.biases_, atol=1e-4)
    Z, Zg = cpu.transform(X), gpu.transform(X)
    assert np.abs(Zg - Z).max() < 1e-3  # PPVs may flip where a value equals a bias
    Y = X + 0.3 * np.random.default_rng(0).standard_normal(X.shape)
    assert frechet_distance(Z, cpu.transform(Y), device="cuda") == pytest.approx(
        frechet_distance(Z, cpu.transform(Y)), rel=1e-6)
