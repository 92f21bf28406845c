"""TimeVQVAE as a scikit-learn estimator: a generator that stands where a distiller stands.

``fit(X, y)`` trains stage 1 (the LF/HF tokenizer, :mod:`._tokenizer`) and stage 2 (the
class-conditional bidirectional priors, :mod:`._prior`), each through the one
optimisation loop of :class:`skdd.base.BaseDistiller`, then draws ``ipc`` series per class
with MaskGIT; ``fit_resample`` returns them. ``sample`` and ``reconstruct`` (with
stochastic VQ) work on the fitted model.
"""
from __future__ import annotations

import contextlib
import os
import time

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted, validate_data

from ..base import BaseDistiller, data_fingerprint
from sklearn.utils.multiclass import check_classification_targets

from ..utils import (channel_scaling, check_float32_range, check_interval, check_option,
                     check_positive_float, check_positive_int, resolve_device, seeded,
                     torch_threads)
from ._prior import (BidirectionalPrior, MaskGITPrior, iterative_decode,
                     masked_prediction_loss)
from ._tokenizer import Tokenizer

__all__ = ["TimeVQVAE", "TIMEVQVAE_PRESETS"]

#: Series shorter than this are right-padded (edge values) inside the models and cropped
#: back on the way out, so that the STFT and the down-sampling have room.
MIN_INTERNAL_LENGTH = 16

#: Architecture and schedule presets. "cpu" (the default) is the reduced, fast setting that
#: runs on two CPU cores (a few thousand steps per stage, 1-D convolutions of width 32,
#: small priors). "paper" is the reference configuration, layer by layer, of
#: ML4ITS/TimeVQVAE (configs/config.yaml; models/vq_vae_encdec.py,
#: models/bidirectional_transformer.py): encoders that start at 4 channels and widen to
#: 128 with 2 residual blocks per level (the "reference" layout of :class:`Tokenizer`),
#: codebooks of 1024 x 8, MaskGIT priors (:class:`MaskGITPrior`; LF 128-dim x 4 layers x
#: 2 heads, HF 32-dim x 1 layer x 1 head, embeddings 128, ff_mult 1, embedding dropout
#: 0.3), 20 000 stage-1 and 40 000 stage-2 steps at batch 32, lr 5e-3, choice temperatures
#: 10 (LF) and 0 (HF), 10 decoding steps per grid.
TIMEVQVAE_PRESETS = {
    "cpu": dict(stage1_steps=1500, stage2_steps=2000, batch_size=(32, 32), lr=1e-3,
                choice_temperature=(4.0, 4.0), hidden=32, n_res=1, arch="compact",
                prior="compact",
                prior_lf=dict(dim=64, n_layers=2, heads=2, ff_mult=2, dropout=0.1),
                prior_hf=dict(dim=64, n_layers=1, heads=2, ff_mult=2, dropout=0.1)),
    "paper": dict(stage1_steps=20000, stage2_steps=40000, batch_size=(32, 32), lr=5e-3,
                  choice_temperature=(10.0, 0.0), hidden=128, n_res=2, arch="reference",
                  prior="maskgit",
                  prior_lf=dict(embed_dim=128, hidden_dim=128, n_layers=4, heads=2, ff_mult=1,
                                emb_dropout=0.3),
                  prior_hf=dict(embed_dim=128, hidden_dim=32, n_layers=1, heads=1, ff_mult=1,
                                emb_dropout=0.3)),
}


def preset_config(estimator, presets, keys):
    """The estimator's preset (``estimator.preset``, a key of ``presets``) as a dict, with
    the integer parameters ``keys`` overridden where the estimator sets them (not None)
    and checked to be positive."""
    check_option(estimator.preset, "preset", presets)
    cfg = dict(presets[estimator.preset])
    for key in keys:
        value = getattr(estimator, key)
        cfg[key] = check_positive_int(cfg[key] if value is None else value, key)
    return cfg


def check_panel(est, X, *, reset):
    """Validate a panel of series: ``(n, T)`` (one channel) or ``(n, C, T)``.

    Returns a float32 ``(n, C, T)`` array. With ``reset=False`` the channels and the
    length must match those seen in ``fit`` (``est.n_channels_``, ``est.series_length_``).
    """
    X = validate_data(est, X, reset=reset, allow_nd=True, dtype=[np.float64, np.float32],
                      ensure_all_finite=True)
    check_float32_range(X, "X")
    if X.ndim not in (2, 3):
        raise ValueError(f"X must be 2-D (n_series, n_timesteps) or 3-D (n_series, n_channels, "
                         f"n_timesteps), got an array of shape {X.shape}.")
    two_d = X.ndim == 2
    X = X[:, None, :] if two_d else X
    if X.shape[-1] < 2:
        raise ValueError(f"X holds series of length {X.shape[-1]} (n_features = {X.shape[-1]} "
                         "for 2-D input); at least 2 time steps are needed.")
    if reset:
        est._input_2d = two_d
        est.n_channels_, est.series_length_ = X.shape[1], X.shape[2]
    elif X.shape[1:] != (est.n_channels_, est.series_length_):
        raise ValueError(f"X holds series of shape {X.shape[1:]} (channels, length), but "
                         f"{type(est).__name__} was fitted on "
                         f"{(est.n_channels_, est.series_length_)}.")
    return np.ascontiguousarray(X, dtype=np.float32)


class _Stage:
    """One stage of a multi-stage fit as the one optimisation loop sees it: the
    estimator's run settings, with a checkpoint file of its own (``<path>.<stage>``)."""

    _optimize = BaseDistiller._optimize

    def __init__(self, est, stage):
        self._est = est
        path = est.checkpoint_path
        self.checkpoint_path = None if path is None else f"{os.fspath(path)}.{stage}"
        self.checkpoint_every = est.checkpoint_every
        self.verbose = est.verbose

    def _params_fingerprint(self):
        return self._est._params_fingerprint()

    def _learning_rate_params(self):
        return self._est._learning_rate_params()

    def __getattr__(self, name):  # the estimator's parameters, for error messages
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._est, name)

    @classmethod
    def of(cls, est, stage):
        """The view of ``est`` for ``stage`` (named so in progress bars)."""
        return type(f"{type(est).__name__} {stage}", (cls,), {})(est, stage)


class TimeVQVAE(BaseDistiller):
    """TimeVQVAE: vector-quantised time-frequency tokens and a bidirectional prior.

    Lee, Malacarne and Aune, "Vector Quantized Time Series Generation with a
    Bidirectional Prior Model" (AISTATS 2023). Stage 1 learns the LF/HF tokenizer
    (STFT with ``n_fft = 4``, encoders, EMA codebooks of ``codebook_size`` x
    ``codebook_dim``, decoders; MSE on LF + L1 on HF); stage 2 learns class-conditional
    bidirectional transformer priors by masked token prediction; sampling is MaskGIT's
    iterative decoding. Series are standardised per channel inside (and mapped back).
    ``y`` must hold class labels: continuous floats are rejected as scikit-learn's
    classifiers reject them.

    Parameters
    ----------
    ipc : int, default=10
        Series per class drawn at the end of ``fit`` (``fit_resample``'s output); without
        labels, ``ipc`` series in all.
    preset : {"cpu", "paper"}, default="cpu"
        Architecture and default schedule (:data:`TIMEVQVAE_PRESETS`): "cpu" is the fast
        default (small 1-D tokenizer and priors); "paper" is the reference code's
        configuration layer by layer (85 076 stage-1 parameters and priors of 656 592
        (LF) and 796 884 (HF) parameters on a univariate length-150 series with two
        classes).
    stage1_steps, stage2_steps : int, optional
        Optimisation steps of each stage (default: the preset's).
    batch_size : int, optional
        Batch size of both stages (default: the preset's, 32 on "cpu").
    lr : float, optional
        Adam learning rate (cosine decay) of both stages (default: the preset's, 1e-3 on
        "cpu", 5e-3 on "paper").
    codebook_size : int, default=1024
    codebook_dim : int, default=8
    n_sampling_steps : int, default=10
        MaskGIT decoding steps per grid.
    choice_temperature : float, optional
        Scale of the Gumbel noise when choosing which tokens to re-mask, for both grids
        (default: the preset's, 4 on "cpu"; 10 for the LF and 0 for the HF grid on
        "paper").
    guidance_scale : float, default=1.0
        Classifier-free guidance of class-conditional sampling (1 = plain conditional).
    p_unconditional : float, default=0.2
        Probability of training the prior with the "no class" token.
    device : str, default="auto"
    random_state : int, optional
    verbose : int or bool, default=0
        ``>= 1`` shows a progress bar per stage. A bool or an int >= 0 (None is
        rejected: use 0).
    n_threads : int, optional
        Torch CPU threads (see :func:`skdd.utils.torch_threads`). Results can differ in
        the last bits between thread counts, so a checkpoint records the count and is
        resumed only under it.
    checkpoint_path : str, optional
        Periodic checkpoints of each stage (files ``<checkpoint_path>.stage1`` and
        ``.stage2``, see :class:`skdd.base.BaseDistiller`): an interrupted fit started
        again with the same parameters and data resumes where it stopped, with the same
        result.
    checkpoint_every : int, default=100

    Attributes
    ----------
    X_syn_ : ndarray (ipc * n_classes, C, T), or (.., T) for 2-D input
    y_syn_ : ndarray of labels (None without labels)
    classes_ : ndarray or None
    tokenizer_, prior_ : torch modules (on CPU)
    stage1_loss_curve_, stage2_loss_curve_ : ndarray
    loss_curve_ : ndarray
        Both stages' losses, one after the other.
    n_iter_ : int
        Steps of both stages.
    stage_seconds_ : dict
        Wall time of "stage1", "stage2" and "sampling".
    n_channels_, series_length_ : int
    mean_, scale_ : ndarray of shape (1, C, 1)
        Per-channel standardisation of the series inside the models.
    constant_channels_ : ndarray of bool, shape (1, C, 1)
        Channels too close to constant for float32 to standardise
        (:func:`skdd.utils.channel_scaling`); generated series hold them at their mean.

    Examples
    --------
    >>> import numpy as np
    >>> from skdd.generative import TimeVQVAE
    >>> rng = np.random.default_rng(0)
    >>> t = np.linspace(0, 1, 32)
    >>> y = np.arange(20) % 2
    >>> X = np.sin(2 * np.pi * (y[:, None] + 1) * t) + 0.1 * rng.standard_normal((20, 32))
    >>> gen = TimeVQVAE(ipc=3, stage1_steps=5, stage2_steps=5, codebook_size=32, random_state=0)
    >>> X_syn, y_syn = gen.fit_resample(X, y)
    >>> X_syn.shape, y_syn.tolist()
    ((6, 32), [0, 0, 0, 1, 1, 1])
    >>> gen.sample(4, y=1, random_state=0).shape
    (4, 32)
    """

    def __init__(self, ipc=10, preset="cpu", stage1_steps=None, stage2_steps=None,
                 batch_size=None, lr=None, codebook_size=1024, codebook_dim=8,
                 n_sampling_steps=10, choice_temperature=None, guidance_scale=1.0,
                 p_unconditional=0.2, device="auto", random_state=None, verbose=0,
                 n_threads=None, checkpoint_path=None, checkpoint_every=100):
        self.ipc = ipc
        self.preset = preset
        self.stage1_steps = stage1_steps
        self.stage2_steps = stage2_steps
        self.batch_size = batch_size
        self.lr = lr
        self.codebook_size = codebook_size
        self.codebook_dim = codebook_dim
        self.n_sampling_steps = n_sampling_steps
        self.choice_temperature = choice_temperature
        self.guidance_scale = guidance_scale
        self.p_unconditional = p_unconditional
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.n_threads = n_threads
        self.checkpoint_path = checkpoint_path
        self.checkpoint_every = checkpoint_every

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags

    # -- validation -------------------------------------------------------------------
    def _config(self):
        cfg = preset_config(self, TIMEVQVAE_PRESETS, ("stage1_steps", "stage2_steps"))
        if self.batch_size is not None:
            bs = check_positive_int(self.batch_size, "batch_size")
            cfg["batch_size"] = (bs, bs)
        check_positive_int(self.ipc, "ipc")
        if self.lr is not None:
            cfg["lr"] = check_positive_float(self.lr, "lr")
        check_positive_int(self.codebook_size, "codebook_size", minimum=2)
        check_positive_int(self.codebook_dim, "codebook_dim")
        check_positive_int(self.n_sampling_steps, "n_sampling_steps")
        if self.choice_temperature is not None:
            t = check_positive_float(self.choice_temperature, "choice_temperature",
                                     allow_zero=True)
            cfg["choice_temperature"] = (t, t)
        check_positive_float(self.guidance_scale, "guidance_scale", allow_zero=True)
        check_interval(self.p_unconditional, "p_unconditional", 0, 1)
        return cfg

    def _preset_fingerprint(self):
        """The preset's ``lr`` and ``choice_temperature`` for the checkpoints' fingerprint
        (the "cpu" preset's are the former defaults, so its checkpoints stay valid)."""
        preset = TIMEVQVAE_PRESETS.get(self.preset)
        if preset is None:
            return {}
        t_lf, t_hf = preset["choice_temperature"]
        return {"lr": preset["lr"], "choice_temperature": t_lf if t_lf == t_hf else (t_lf, t_hf)}

    def _build_tokenizer(self, cfg, n_channels, length):
        """The stage-1 tokenizer of the configuration ``cfg`` (:meth:`_config`)."""
        return Tokenizer(n_channels, length, hidden=cfg["hidden"], n_res=cfg["n_res"],
                         codebook_size=int(self.codebook_size),
                         codebook_dim=int(self.codebook_dim), arch=cfg["arch"])

    def _build_priors(self, cfg, tok, n_classes):
        """The stage-2 priors ("lf", "hf") of ``cfg`` over the tokens of ``tok``."""
        K = int(self.codebook_size)
        cls = MaskGITPrior if cfg["prior"] == "maskgit" else BidirectionalPrior
        return torch.nn.ModuleDict({
            "lf": cls(tok.n_tokens_lf, K, n_classes, **cfg["prior_lf"]),
            "hf": cls(tok.n_tokens_hf, K, n_classes, n_prefix=tok.n_tokens_lf,
                      prefix_codebook_size=K, **cfg["prior_hf"]),
        })

    def _validate_fit_input(self, X, y):
        self._config()
        X = check_panel(self, X, reset=True)
        if y is None:
            self.classes_ = None
            return X, None
        y = np.asarray(y)
        if y.ndim != 1 or y.shape[0] != X.shape[0]:
            raise ValueError(f"y must be 1-D with one label per series ({X.shape[0]}), got shape "
                             f"{y.shape}.")
        if y.dtype.kind == "f" and not np.isfinite(y).all():
            raise ValueError("y contains NaN or inf labels.")
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"y holds one class ({self.classes_[0]!r}); class-conditional "
                             "generation needs at least two. Pass y=None to train an "
                             "unconditional generator.")
        return X, codes.astype(np.int64)

    # -- scaling and padding ----------------------------------------------------------
    def _prepare(self, X):
        """float32 ``(n, C, T)`` -> standardised, padded tensor ``(n, C, L)`` on CPU."""
        x = torch.from_numpy((X - self.mean_) / self.scale_)
        if x.shape[-1] < MIN_INTERNAL_LENGTH:
            x = torch.nn.functional.pad(x, (0, MIN_INTERNAL_LENGTH - x.shape[-1]),
                                        mode="replicate")
        return x.float()

    def _finish(self, x):
        """Model-space tensor -> cropped, unscaled float32 array in the input layout."""
        out = x[..., :self.series_length_].detach().cpu().numpy() * self.scale_ + self.mean_
        constant = getattr(self, "constant_channels_", None)
        if constant is not None:  # held at their mean (see ``channel_scaling``)
            out = np.where(constant, self.mean_, out)
        out = out.astype(np.float32)
        return out[:, 0, :] if self._input_2d else out

    @contextlib.contextmanager
    def _on(self, device):
        """Move the fitted modules to ``device`` for the block, then back to the CPU."""
        modules = (self.tokenizer_, self.prior_)
        for m in modules:
            m.to(device).eval()
        try:
            yield
        finally:
            for m in modules:
                m.cpu()

    # -- fit ------------------------------------------------------------------------
    def _fit(self, data, device):
        X, y = data
        cfg = self._config()
        n, C, _ = X.shape
        self.mean_, scale, self.constant_channels_ = channel_scaling(X, axes=(0, 2),
                                                                   dtype=X.dtype)
        self.scale_ = scale
        self.mean_ = self.mean_.astype(np.float32)
        self.scale_ = self.scale_.astype(np.float32)
        xt = self._prepare(X).to(device)
        length = xt.shape[-1]
        fingerprint = data_fingerprint(X, y)
        bs1, bs2 = cfg["batch_size"]

        # stage 1: the tokenizer
        start = time.perf_counter()
        tok = self._build_tokenizer(cfg, C, length).to(device).train()

        def stage1_loss(iteration):
            return tok.loss(xt[torch.randint(n, (bs1,), device=device)])[0]

        curve1 = _Stage.of(self, "stage1")._optimize(
            tok, stage1_loss, data_fingerprint=fingerprint + ":stage1", lr=cfg["lr"],
            max_iter=cfg["stage1_steps"], schedule="cosine")
        tok.eval()
        seconds = {"stage1": time.perf_counter() - start}

        # stage 2: the priors, on the tokens of the training series
        start = time.perf_counter()
        with torch.no_grad():
            codes = [tok.encode(xt[s:s + 512]) for s in range(0, n, 512)]
        codes_lf = torch.cat([c[0] for c in codes])
        codes_hf = torch.cat([c[1] for c in codes])
        n_classes = 0 if self.classes_ is None else len(self.classes_)
        priors = self._build_priors(cfg, tok, n_classes).to(device).train()
        labels = None if y is None else torch.from_numpy(y).to(device)
        p_uncond = float(self.p_unconditional)

        def stage2_loss(iteration):
            idx = torch.randint(n, (bs2,), device=device)
            cls = torch.full((bs2,), n_classes, dtype=torch.long, device=device)
            if labels is not None:
                keep = torch.rand(bs2, device=device) >= p_uncond
                cls = torch.where(keep, labels[idx], cls)
            lf = codes_lf[idx]
            return (masked_prediction_loss(priors["lf"], lf, cls)
                    + masked_prediction_loss(priors["hf"], codes_hf[idx], cls, prefix=lf))

        curve2 = _Stage.of(self, "stage2")._optimize(
            priors, stage2_loss, data_fingerprint=fingerprint + ":stage2", lr=cfg["lr"],
            max_iter=cfg["stage2_steps"], schedule="cosine")
        priors.eval()
        seconds["stage2"] = time.perf_counter() - start

        self.tokenizer_, self.prior_ = tok.cpu(), priors.cpu()
        self.stage1_loss_curve_, self.stage2_loss_curve_ = curve1, curve2
        self.loss_curve_ = np.concatenate([curve1, curve2])
        self.n_iter_ = int(cfg["stage1_steps"] + cfg["stage2_steps"])

        # the synthetic set: ipc series per class
        start = time.perf_counter()
        ipc = int(self.ipc)
        cls = None if n_classes == 0 else np.repeat(np.arange(n_classes), ipc)
        with self._on(device):
            x_syn = self._sample_codes(ipc * max(n_classes, 1), cls, device)
        self.X_syn_ = self._finish(x_syn)
        self.y_syn_ = None if cls is None else self.classes_[cls]
        seconds["sampling"] = time.perf_counter() - start
        self.stage_seconds_ = seconds

    def _real_array(self, data):
        return data[0]

    def _synthetic_output(self):
        check_is_fitted(self, "X_syn_")
        if self.y_syn_ is None:
            return self.X_syn_.copy()
        return self.X_syn_.copy(), self.y_syn_.copy()

    def _distilled_arrays(self):
        arrays = {"X_syn": self.X_syn_}
        if self.y_syn_ is not None:
            y = np.asarray(self.y_syn_)
            arrays["y_syn"] = y if y.dtype.kind in "biuf" else np.searchsorted(self.classes_, y)
        return arrays

    def _distilled_metadata(self):
        classes = None if self.classes_ is None else [str(c) for c in self.classes_]
        return {"kind": "series", "classes": classes}

    # -- generation ---------------------------------------------------------------------
    def _class_ids(self, n, y):
        """Class codes (the "no class" code for y=None) for ``n`` samples."""
        n_classes = 0 if self.classes_ is None else len(self.classes_)
        if y is None:
            return np.full(n, n_classes, dtype=np.int64)
        if self.classes_ is None:
            raise ValueError("this TimeVQVAE was fitted without labels; sample with y=None.")
        y = np.asarray(y)
        y = np.full(n, y.item()) if y.ndim == 0 else y
        if y.shape != (n,):
            raise ValueError(f"y must be one label or {n} labels, got shape {y.shape}.")
        unknown = ~np.isin(y, self.classes_)
        if unknown.any():
            raise ValueError(f"y holds labels {sorted(set(y[unknown].tolist()))} not seen in fit; "
                             f"known classes are {self.classes_.tolist()}.")
        return np.searchsorted(self.classes_, y).astype(np.int64)

    @torch.no_grad()
    def _sample_codes(self, n, class_codes, device, batch_size=512):
        """Model-space samples ``(n, C, L)``; draws from torch's global RNG."""
        if class_codes is None:
            class_codes = self._class_ids(n, None)
        cls = torch.as_tensor(class_codes, device=device)
        out = []
        t_lf, t_hf = self._config()["choice_temperature"]
        for s in range(0, n, batch_size):
            c = cls[s:s + batch_size]
            kw = dict(steps=int(self.n_sampling_steps), guidance_scale=float(self.guidance_scale))
            lf = iterative_decode(self.prior_["lf"], c, choice_temperature=t_lf, **kw)
            hf = iterative_decode(self.prior_["hf"], c, prefix=lf, choice_temperature=t_hf, **kw)
            out.append(self.tokenizer_.decode(lf, hf))
        return torch.cat(out)

    @torch.no_grad()
    def _reconstruct_codes(self, x, tau, batch_size=512):
        """Decode(VQ(encode(x))) for model-space ``x``; SVQ at ``tau`` (global RNG)."""
        out = []
        for s in range(0, x.shape[0], batch_size):
            out.append(self.tokenizer_.decode(*self.tokenizer_.encode(x[s:s + batch_size], tau)))
        return torch.cat(out)

    def sample(self, n, y=None, random_state=None):
        """Draw ``n`` series with MaskGIT.

        Parameters
        ----------
        n : int
        y : label, array-like of n labels, or None
            Class(es) to condition on; None draws unconditionally (the "no class" token).
        random_state : int, optional
            Seed of the draws (None: fresh entropy).

        Returns
        -------
        ndarray (n, C, T), or (n, T) when fitted on 2-D input; float32
        """
        check_is_fitted(self, "tokenizer_")
        n = check_positive_int(n, "n")
        codes = self._class_ids(n, y)
        device = resolve_device(self.device)
        with torch_threads(self.n_threads, device), seeded(random_state, device), \
                self._on(device):
            return self._finish(self._sample_codes(n, codes, device))

    def reconstruct(self, X, tau=None, random_state=None):
        """Tokenize and decode ``X``; with ``tau``, draw the tokens by stochastic VQ.

        Parameters
        ----------
        X : array-like (n, C, T) or (n, T)
        tau : float, optional
            SVQ temperature; None (or 0) uses the nearest codes.
        random_state : int, optional
            Seed of the stochastic draws.

        Returns
        -------
        ndarray of the same shape as ``X``, float32
        """
        check_is_fitted(self, "tokenizer_")
        if tau is not None:
            tau = check_positive_float(tau, "tau", allow_zero=True)
        X = check_panel(self, X, reset=False)
        device = resolve_device(self.device)
        with torch_threads(self.n_threads, device), seeded(random_state, device), \
                self._on(device):
            return self._finish(self._reconstruct_codes(self._prepare(X).to(device), tau))
