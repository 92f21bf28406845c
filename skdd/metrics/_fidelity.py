"""Fidelity of synthetic series: FID, inception score and conditional FID.

- :func:`fid_score` — Fréchet distance between Gaussian fits of MiniRocket features
  (:class:`~skdd.metrics.MiniRocketFeatures`, fixed kernels and seed, L2-normalised) of a
  real and a synthetic set: NM-VQTSG's FID on ROCKET-family features.
- :func:`inception_score` and :func:`conditional_fid` — from a classifier trained on the
  real training set: FCN (Wang et al. 2017) trained by
  :func:`skdd.classification.fit_classifier` (:func:`fit_fidelity_classifier`). cFID is
  the mean over classes of the Fréchet distance between the classifier's embeddings of
  the real and the synthetic series of each class.
- :class:`FidelityEvaluator` holds a real reference set with its fitted features and
  classifier, and scores any number of synthetic sets against it.

The Fréchet distance ``|mu1 - mu2|² + tr S1 + tr S2 - 2 tr (S1 S2)^½`` is computed
exactly without a matrix square root: write each covariance as ``S = F Fᵀ`` (``F`` the
centred features over ``sqrt(n - 1)`` when there are fewer samples than features, else a
symmetric factor from an eigendecomposition); then ``tr (S1 S2)^½`` is the sum of the
singular values of ``F1ᵀ F2``. With n < d this is an ``n1 x n2`` SVD instead of a ``d x d``
square root (10 000 features, a few hundred series): much faster, same value.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..utils import check_positive_int, resolve_device, torch_threads
from ._rocket import MiniRocketFeatures

__all__ = [
    "frechet_distance",
    "fid_score",
    "inception_score",
    "conditional_fid",
    "fit_fidelity_classifier",
    "FidelityEvaluator",
]


def _check_features(Z, name):
    Z = torch.as_tensor(np.asarray(Z) if not isinstance(Z, torch.Tensor) else Z)
    if Z.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got shape "
                         f"{tuple(Z.shape)}.")
    if Z.shape[0] < 2:
        raise ValueError(f"{name} has n_samples = {Z.shape[0]}; a covariance needs at least 2.")
    if not torch.isfinite(Z).all():
        raise ValueError(f"{name} contains NaN or inf values.")
    return Z.double()


def _cov_factor(Z):
    """``F`` with ``F Fᵀ`` the sample covariance of ``Z`` (n, d), with at most min(n, d) columns."""
    n, d = Z.shape
    A = Z - Z.mean(0)
    if n <= d:
        return A.T / np.sqrt(n - 1)
    w, V = torch.linalg.eigh(A.T @ A / (n - 1))
    return V * w.clamp_min(0).sqrt()


def frechet_distance(Z1, Z2, device="cpu", n_threads=None):
    """Fréchet distance between Gaussian fits of two feature sets (exact, float64).

    Parameters
    ----------
    Z1, Z2 : array-like of shape (n1, d) and (n2, d)
        At least two samples each.
    device : str, default="cpu"
    n_threads : int, optional
        Torch CPU threads (see :func:`skdd.utils.torch_threads`).

    Returns
    -------
    float
        ``|mu1 - mu2|² + tr S1 + tr S2 - 2 tr (S1 S2)^½`` (>= 0 up to rounding).

    Examples
    --------
    >>> import numpy as np
    >>> from skdd.metrics import frechet_distance
    >>> Z = np.random.default_rng(0).standard_normal((50, 5))
    >>> abs(frechet_distance(Z, Z)) < 1e-9
    True
    >>> round(frechet_distance(Z, Z + 1.0) - frechet_distance(Z, Z), 6)  # the mean shift
    5.0
    """
    device = resolve_device(device)
    Z1 = _check_features(Z1, "Z1").to(device)
    Z2 = _check_features(Z2, "Z2").to(device)
    if Z1.shape[1] != Z2.shape[1]:
        raise ValueError(f"Z1 has {Z1.shape[1]} features but Z2 has {Z2.shape[1]}.")
    with torch_threads(n_threads, device):
        F1, F2 = _cov_factor(Z1), _cov_factor(Z2)
        tr_sqrt = torch.linalg.svdvals(F1.T @ F2).sum()
        mean_term = ((Z1.mean(0) - Z2.mean(0)) ** 2).sum()
        return float(mean_term + (F1 ** 2).sum() + (F2 ** 2).sum() - 2 * tr_sqrt)


def fid_score(X_real, X_syn, *, features=None, num_features=10_000, random_state=0,
              device="cpu"):
    """FID between real and synthetic series on MiniRocket features.

    Parameters
    ----------
    X_real, X_syn : array-like of shape (n, C, T) or (n, T)
        At least two series each, the same C and T.
    features : MiniRocketFeatures, optional
        A fitted feature map (reuse it to compare several synthetic sets on the same
        features). By default one is fitted on ``X_real`` with ``num_features`` and
        ``random_state``.
    num_features : int, default=10_000
    random_state : int, default=0
    device : str, default="cpu"

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> from skdd.metrics import fid_score
    >>> rng = np.random.default_rng(0)
    >>> t = np.linspace(0, 1, 64)
    >>> X = np.sin(2 * np.pi * (3 * t + rng.uniform(size=(40, 1))))[:, None, :]
    >>> noise = rng.standard_normal(X.shape)
    >>> fids = [fid_score(X, X + s * noise, num_features=840) for s in (0.0, 0.3, 1.0)]
    >>> abs(fids[0]) < 1e-9, fids[0] < fids[1] < fids[2]
    (True, True)

    MiniRocket's kernels sum to zero, so its features (and this FID) barely see a constant
    offset of the whole series; they measure shape.
    """
    if features is None:
        features = MiniRocketFeatures(num_features=num_features, random_state=random_state,
                                      device=device).fit(X_real)
    return frechet_distance(features.transform(X_real), features.transform(X_syn), device)


@torch.no_grad()
def _predict(classifier, X, batch_size=512, embed=False):
    device = next(classifier.parameters()).device
    X = np.asarray(X, dtype=np.float32)
    if X.ndim == 2:
        X = X[:, None, :]
    was_training = classifier.training
    classifier.eval()
    fn = classifier.embed if embed else classifier
    out = torch.cat([fn(torch.from_numpy(X[s:s + batch_size]).to(device)).double()
                     for s in range(0, X.shape[0], batch_size)])
    classifier.train(was_training)
    return out


def inception_score(X_syn, classifier, n_splits=1):
    """Inception score ``exp(E_x KL(p(y|x) || p(y)))`` of synthetic series.

    Parameters
    ----------
    X_syn : array-like of shape (n, C, T)
    classifier : torch.nn.Module
        Returns logits; typically :func:`fit_fidelity_classifier`'s FCN.
    n_splits : int, default=1
        The set is cut into ``n_splits`` equal parts; the mean over parts is returned.

    Returns
    -------
    float
        Between 1 (every series gets the same class distribution, or the classifier is
        unsure) and ``n_classes`` (confident and balanced predictions).

    Examples
    --------
    >>> import torch
    >>> from skdd.metrics import inception_score
    >>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(8, 3))
    >>> 1.0 <= inception_score(torch.randn(30, 1, 8).numpy(), net) <= 3.0
    True
    """
    n_splits = check_positive_int(n_splits, "n_splits")
    log_p = F.log_softmax(_predict(classifier, X_syn), dim=1)
    if log_p.shape[0] < n_splits:
        raise ValueError(f"X_syn has {log_p.shape[0]} series, fewer than n_splits={n_splits}.")
    scores = []
    for part in torch.tensor_split(log_p, n_splits):
        log_py = torch.logsumexp(part, 0) - np.log(part.shape[0])
        kl = (part.exp() * (part - log_py)).sum(1).mean()
        scores.append(float(kl.exp()))
    return float(np.mean(scores))


def conditional_fid(X_real, y_real, X_syn, y_syn, classifier, device=None):
    """Conditional FID: mean over classes of the per-class FID in a classifier's embedding.

    For each class present (with at least two series) in both sets, the Fréchet distance
    between ``classifier.embed`` of its real and its synthetic series; the mean over those
    classes.

    Parameters
    ----------
    X_real, X_syn : array-like of shape (n, C, T)
    y_real, y_syn : array-like of shape (n,)
        Class labels (the same encoding in both).
    classifier : torch.nn.Module
        With an ``embed`` method (FCN's globally pooled features).
    device : str, optional
        Where the distances are computed (default: the classifier's device).

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> from skdd.metrics import conditional_fid
    >>> from skdd.nn import FCN
    >>> X = np.random.default_rng(0).standard_normal((20, 1, 16)).astype("float32")
    >>> y = np.arange(20) % 2
    >>> abs(conditional_fid(X, y, X, y, FCN(1, 2, 16).eval())) < 1e-6
    True
    """
    y_real, y_syn = np.asarray(y_real), np.asarray(y_syn)
    if y_real.shape != (len(X_real),) or y_syn.shape != (len(X_syn),):
        raise ValueError(f"y_real and y_syn must be 1-D with one label per series, got shapes "
                         f"{y_real.shape} for {len(X_real)} and {y_syn.shape} for {len(X_syn)}.")
    device = device if device is not None else next(classifier.parameters()).device
    E_real = _predict(classifier, X_real, embed=True)
    E_syn = _predict(classifier, X_syn, embed=True)
    classes = [c for c in np.unique(y_real)
               if (y_real == c).sum() >= 2 and (y_syn == c).sum() >= 2]
    if not classes:
        raise ValueError("no class has at least two real and two synthetic series; "
                         "conditional FID is undefined.")
    def rows(E, mask):
        return E[torch.from_numpy(mask).to(E.device)]

    return float(np.mean([frechet_distance(rows(E_real, y_real == c), rows(E_syn, y_syn == c),
                                           device) for c in classes]))


def _fcn_recipe():
    """The FCN recipe of the fidelity metrics: the protocol's SGD schedule (momentum 0.9,
    weight decay 5e-4, lr x0.1 for the second half) with small batches, as the training
    sets are tiny (36-537 series). It never sees the test split. (Imported lazily: the
    metrics do not load the classification package until a classifier is needed.)"""
    from ..classification import ClassificationRecipe

    return ClassificationRecipe(epochs=100, lr=0.01, batch_size=16)


def fit_fidelity_classifier(X, y, *, n_classes=None, recipe=None, model_kwargs=None,
                            device="cpu", random_state=0, n_threads=None):
    """Train the FCN behind IS and cFID on the real training set.

    A thin wrapper over :func:`skdd.classification.fit_classifier` with ``model="fcn"``
    and the recipe ``ClassificationRecipe(epochs=100, lr=0.01, batch_size=16)`` (SGD,
    momentum 0.9, weight decay 5e-4, step decay at the midpoint) unless ``recipe`` is
    given.

    Parameters
    ----------
    X : array-like of shape (n, C, T)
    y : array-like of shape (n,)
        Labels 0..n_classes-1.
    n_classes : int, optional
        Defaults to ``max(y) + 1``.
    model_kwargs : dict, optional
        Arguments of :class:`skdd.nn.FCN` (``filters``, ``kernel_sizes``).

    Returns
    -------
    model : FCN (eval mode)
    history : dict
    """
    from ..classification import fit_classifier

    y = np.asarray(y)
    n_classes = int(y.max()) + 1 if n_classes is None else n_classes
    return fit_classifier(np.asarray(X, dtype=np.float32), y, n_classes=n_classes,
                          recipe=recipe or _fcn_recipe(), model="fcn",
                          model_kwargs=model_kwargs, device=device,
                          random_state=random_state, n_threads=n_threads)


class FidelityEvaluator:
    """Score synthetic sets against one real reference: FID, IS and cFID.

    Fits :class:`MiniRocketFeatures` on the reference once (and caches its features) and,
    for labelled data, trains the FCN on the real training set once.

    Parameters
    ----------
    X_ref : array-like of shape (n, C, T)
        The real reference (a held-out test split).
    y_ref : array-like of shape (n,), optional
        Its labels 0..K-1 (needed for cFID).
    X_train, y_train : array-like, optional
        The real training set of the FCN (IS and cFID are skipped without them).
    num_features : int, default=10_000
    random_state : int, default=0
        Seed of the MiniRocket features and of the FCN.
    device : str, default="cpu"
    n_threads : int, optional
        Torch CPU threads of the FCN training.
    classifier_params : dict, optional
        Extra arguments of :func:`fit_fidelity_classifier` (``recipe``, ``model_kwargs``).

    Examples
    --------
    >>> import numpy as np
    >>> from skdd.metrics import FidelityEvaluator
    >>> rng = np.random.default_rng(0)
    >>> X_ref = rng.standard_normal((30, 1, 32))
    >>> ev = FidelityEvaluator(X_ref, num_features=168)
    >>> scores = ev.score(rng.standard_normal((30, 1, 32)))
    >>> sorted(scores), scores["is"] is None
    (['cfid', 'fid', 'is'], True)
    """

    def __init__(self, X_ref, y_ref=None, X_train=None, y_train=None, *, num_features=10_000,
                 random_state=0, device="cpu", n_threads=None, classifier_params=None):
        self.device = resolve_device(device)
        self.features = MiniRocketFeatures(num_features=num_features, random_state=random_state,
                                           device=str(self.device)).fit(X_ref)
        self.Z_ref = self.features.transform(X_ref)
        self.y_ref = None if y_ref is None else np.asarray(y_ref)
        self.X_ref = np.asarray(X_ref, dtype=np.float32)
        self.classifier = None
        self.classifier_seconds = 0.0
        if X_train is not None and y_train is not None:
            self.classifier, hist = fit_fidelity_classifier(
                X_train, y_train, device=self.device, random_state=random_state,
                n_threads=n_threads, **(classifier_params or {}))
            self.classifier_seconds = hist["train_seconds"]

    def fid(self, X):
        """FID of ``X`` against the reference."""
        return frechet_distance(self.Z_ref, self.features.transform(X), self.device)

    def score(self, X, y=None):
        """``{"fid", "is", "cfid"}`` of the synthetic set ``X`` (labels ``y`` for cFID).

        IS needs the classifier; cFID needs it, reference labels and ``y``; a missing
        score is None.
        """
        out = {"fid": self.fid(X), "is": None, "cfid": None}
        if self.classifier is not None:
            out["is"] = inception_score(X, self.classifier)
            if y is not None and self.y_ref is not None:
                out["cfid"] = conditional_fid(self.X_ref, self.y_ref, X, y, self.classifier,
                                              self.device)
        return out
