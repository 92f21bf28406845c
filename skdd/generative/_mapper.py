"""NeuralMapper (NM-VQTSG): a U-Net that maps VQ-generated series closer to real ones.

Lee, Malacarne and Aune, "Closing the Gap Between Synthetic and Ground Truth Time Series
Distributions via Neural Mapping" (2025). A VQ generator's samples carry two errors: the
lossy tokenizer and the imperfect prior. Stochastic VQ (SVQ) imitates both on real
data: encode a real series, draw each token from ``softmax(-distance / tau)``, decode.
The temperature ``tau`` is chosen on a grid so that the FID (MiniRocket features fitted on
the real series) between SVQ reconstructions and prior samples is smallest, i.e. SVQ
reconstructions look as wrong as samples do. A U-Net is then trained with L1 to map
``SVQ(x)`` back to ``x``, with fresh SVQ draws at every step; at inference it refines any
sample of the generator.
"""
from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin, clone
from sklearn.frozen import FrozenEstimator
from sklearn.utils.validation import check_is_fitted

from ..base import BaseDistiller, check_run_params, data_fingerprint, divergence_error
from ..metrics import MiniRocketFeatures, frechet_distance
from ..nn import AttentionUNet1D, UNet1D
from ..utils import (check_interval, check_option, check_positive_float, check_positive_int,
                     resolve_device, seeded, torch_threads)
from ._timevqvae import TimeVQVAE, check_panel, preset_config

__all__ = ["NeuralMapper", "MAPPER_PRESETS"]

#: U-Net and schedule presets. "cpu" (the default) is the fast setting: :class:`UNet1D` of
#: width 16 with multipliers 1, 2, 4 (one residual block per level, attention at the
#: bottleneck only), 800 steps at batch 32, lr 1e-3, no dropout. "paper" is the reference
#: configuration of ML4ITS/TimeVQVAE (configs/config.yaml, generators/neural_mapper.py):
#: :class:`AttentionUNet1D` of width 8 with multipliers 1, 2, 4, 8, 4 group-norm groups,
#: dropout 0.5, 3000 steps at batch 32, lr 5e-3.
MAPPER_PRESETS = {
    "cpu": dict(max_iter=800, batch_size=32, lr=1e-3, dropout=0.0, arch="compact", dim=16,
                dim_mults=(1, 2, 4)),
    "paper": dict(max_iter=3000, batch_size=32, lr=5e-3, dropout=0.5, arch="reference", dim=8,
                  dim_mults=(1, 2, 4, 8)),
}

#: The temperature grid of NM-VQTSG's search.
TAU_GRID = (0.1, 0.5, 1.0, 2.0, 4.0)


class NeuralMapper(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Refine synthetic series with a U-Net trained on stochastic-VQ reconstructions.

    A scikit-learn transformer: ``fit`` on real series (training the generator first
    unless it is already fitted), ``transform`` maps any series (typically the
    generator's samples) to refined series of the same shape, row by row. For 2-D input
    ``(n_series, n_timesteps)`` each time step is a feature:
    ``set_output(transform="pandas")`` makes ``transform`` and ``fit_transform`` return
    DataFrames with the input's column names (and, for DataFrame input, its index).

    Parameters
    ----------
    generator : TimeVQVAE or FrozenEstimator, optional
        The VQ generator whose tokenizer and prior are used. It is cloned and fitted on
        the same data; wrap a fitted one in :class:`sklearn.frozen.FrozenEstimator` to
        reuse it. A generator without a ``random_state`` gets this estimator's seed.
        Default: ``TimeVQVAE(preset=preset)``. Anything else raises ValueError in
        ``fit`` before any training.
    tau : "validation", "auto" or float, default="validation"
        SVQ temperature. "validation" trains one U-Net per grid value on the series
        outside a held-out ``validation_fraction`` and picks the value whose mapped prior
        samples are closest in FID to the held-out series: one extra U-Net training per
        grid value, and a guard against a temperature so high that the U-Net can only
        learn to smooth. "auto" is NM-VQTSG's rule: the value of ``tau_grid`` whose SVQ
        reconstructions of the real series are closest in FID to the generator's prior
        samples (no extra training). The paper's rule picks τ = 1 on ETTh1 windows and
        τ = 2 on OSULeaf, where the mapper then raises the FID of the samples (+58 % on
        ETTh1); "validation" picks 0.1 on ETTh1 and lowers it (−13 %) and never did worse
        than "auto" beyond the spread (docs/fidelity.md), hence the default. FIDs per
        grid value are in :attr:`tau_fids_`.
    tau_grid : tuple of float, default=(0.1, 0.5, 1, 2, 4)
    validation_fraction : float, default=0.2
        Share of the series held out by ``tau="validation"``.
    n_tau_samples : int, default=1000
        Real series (a random subset when there are more) and as many prior samples used
        by the search.
    max_iter : int, optional
        U-Net training steps (default: the preset's).
    batch_size : int, optional
    lr : float, optional
        Adam learning rate (cosine decay); default: the preset's (1e-3 on "cpu", 5e-3 on
        "paper").
    dropout : float, optional
        Dropout rate inside the U-Net's residual blocks while it trains (inactive in
        :meth:`transform`); default: the preset's (0 on "cpu", 0.5 on "paper").
    preset : {"cpu", "paper"}, default="cpu"
        U-Net and schedule (:data:`MAPPER_PRESETS`), and the default generator's: "cpu"
        is the fast default; "paper" is the reference code's mapper layer by layer
        (:class:`skdd.nn.AttentionUNet1D`, 314 545 parameters for one channel).
    device : str, default="auto"
    random_state : int, optional
    verbose : int or bool, default=0
        ``>= 1`` shows progress bars. A bool or an int >= 0 (None is rejected: use 0).
    n_threads : int, optional
        Torch CPU threads (see :func:`skdd.utils.torch_threads`). Results can differ in
        the last bits between thread counts, so a checkpoint records the count and is
        resumed only under it.
    checkpoint_path : str, optional
        Periodic checkpoints of the U-Net training (see :class:`skdd.base.BaseDistiller`).
    checkpoint_every : int, default=100

    Attributes
    ----------
    generator_ : TimeVQVAE
    unet_ : UNet1D or AttentionUNet1D (on CPU)
    tau_ : float
    tau_fids_ : dict or None
        Per grid value: ``tau="auto"``, the FID of the SVQ reconstructions against prior
        samples; ``tau="validation"``, the FID of the mapped prior samples against the
        held-out series. None for a fixed ``tau``.
    loss_curve_ : ndarray
    n_iter_ : int
    stage_seconds_ : dict
        Wall time of "generator", "tau_search" and "mapper".

    Examples
    --------
    >>> import numpy as np
    >>> from skdd.generative import NeuralMapper, TimeVQVAE
    >>> X = np.sin(np.linspace(0, 6, 32) + np.random.default_rng(0).uniform(0, 3, (12, 1)))
    >>> gen = TimeVQVAE(stage1_steps=3, stage2_steps=3, codebook_size=32, random_state=0)
    >>> nm = NeuralMapper(gen, tau=1.0, max_iter=3, random_state=0).fit(X)
    >>> nm.transform(gen.fit(X).sample(5, random_state=0)).shape
    (5, 32)
    """

    # the one optimisation loop (progress bar, checkpoints) of the distillers
    _optimize = BaseDistiller._optimize
    _params_fingerprint = BaseDistiller._params_fingerprint
    _learning_rate_params = BaseDistiller._learning_rate_params
    _learning_rates = ("lr",)
    _run_only_params = BaseDistiller._run_only_params
    _fingerprint_neutral = {"dropout": 0.0}  # came after the first mapper checkpoints

    def __init__(self, generator=None, tau="validation", tau_grid=TAU_GRID, validation_fraction=0.2,
                 n_tau_samples=1000, max_iter=None, batch_size=None, lr=None, dropout=None,
                 preset="cpu", device="auto", random_state=None, verbose=0, n_threads=None,
                 checkpoint_path=None, checkpoint_every=100):
        self.generator = generator
        self.tau = tau
        self.tau_grid = tau_grid
        self.validation_fraction = validation_fraction
        self.n_tau_samples = n_tau_samples
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.lr = lr
        self.dropout = dropout
        self.preset = preset
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.n_threads = n_threads
        self.checkpoint_path = checkpoint_path
        self.checkpoint_every = checkpoint_every

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.target_tags.required = False
        return tags

    def _check_generator(self):
        gen = self.generator
        inner = gen.estimator if isinstance(gen, FrozenEstimator) else gen
        if gen is not None and not isinstance(inner, TimeVQVAE):
            what = (f"a FrozenEstimator of {type(inner).__name__}"
                    if isinstance(gen, FrozenEstimator) else type(gen).__name__)
            raise ValueError(f"generator must be None, a TimeVQVAE or a FrozenEstimator of a "
                             f"fitted TimeVQVAE, got {what}.")

    def _config(self):
        self._check_generator()
        cfg = preset_config(self, MAPPER_PRESETS, ("max_iter", "batch_size"))
        if self.lr is not None:
            cfg["lr"] = check_positive_float(self.lr, "lr")
        check_positive_int(self.n_tau_samples, "n_tau_samples", minimum=2)
        if self.dropout is not None:
            check_interval(self.dropout, "dropout", 0, 1, closed="left")
            cfg["dropout"] = float(self.dropout)
        if isinstance(self.tau, str):
            check_option(self.tau, "tau", ("auto", "validation"))
            if self.tau == "validation" and not (
                    isinstance(self.validation_fraction, float)
                    and 0.0 < self.validation_fraction < 1.0):
                raise ValueError(f"validation_fraction must be a float in (0, 1), got "
                                 f"{self.validation_fraction!r}.")
            grid = tuple(self.tau_grid)
            if not grid:
                raise ValueError("tau_grid must hold at least one temperature.")
            for t in grid:
                check_positive_float(t, "tau_grid")
        else:
            check_positive_float(self.tau, "tau")
        return cfg

    def _preset_fingerprint(self):
        """The preset's values of ``lr`` and ``dropout`` for the checkpoints' fingerprint
        (the "cpu" preset's are the former defaults, so its checkpoints stay valid)."""
        preset = MAPPER_PRESETS.get(self.preset, {})
        return {k: preset[k] for k in ("lr", "dropout") if k in preset}

    def _make_generator(self, seed):
        if self.generator is None:
            return TimeVQVAE(preset=self.preset, device=self.device, random_state=seed,
                             n_threads=self.n_threads)
        gen = clone(self.generator)
        if not isinstance(gen, FrozenEstimator) and gen.get_params().get("random_state") is None:
            gen.set_params(random_state=seed)
        return gen

    def fit(self, X, y=None):
        """Fit the generator (unless frozen), choose ``tau`` and train the U-Net on ``X``.

        Parameters
        ----------
        X : array-like (n, C, T) or (n, T)
            Real series.
        y : array-like (n,), optional
            Labels, passed to the generator's ``fit``.
        """
        cfg = self._config()
        device = check_run_params(self)
        X = check_panel(self, X, reset=True)
        seconds = {}
        with torch_threads(self.n_threads, device), seeded(self.random_state, device) as seed:
            self.seed_ = seed
            start = time.perf_counter()
            gen = self._make_generator(seed).fit(X[:, 0] if self._input_2d else X, y)
            gen = gen.estimator if isinstance(gen, FrozenEstimator) else gen
            check_is_fitted(gen, "tokenizer_")
            if (gen.n_channels_, gen.series_length_) != X.shape[1:]:
                raise ValueError(f"the generator was fitted on series of shape "
                                 f"{(gen.n_channels_, gen.series_length_)} (channels, length), "
                                 f"X holds {X.shape[1:]}.")
            self.generator_ = gen
            seconds["generator"] = time.perf_counter() - start
            xt = gen._prepare(X).to(device)
            with gen._on(device):
                start = time.perf_counter()
                if self.tau == "validation":
                    self.tau_, self.tau_fids_ = self._validate_tau(X, xt, seed, device, cfg)
                else:
                    self.tau_, self.tau_fids_ = self._choose_tau(X, xt, seed, device)
                seconds["tau_search"] = time.perf_counter() - start
                start = time.perf_counter()
                unet, self.loss_curve_ = self._fit_unet(xt, self.tau_, cfg, device)
                self.unet_ = unet.cpu()
                seconds["mapper"] = time.perf_counter() - start
        self.stage_seconds_ = seconds
        self.device_ = str(device)
        return self

    def _choose_tau(self, X, xt, seed, device):
        if not isinstance(self.tau, str):
            return float(self.tau), None
        gen = self.generator_
        n = min(int(self.n_tau_samples), X.shape[0])
        idx = torch.randperm(X.shape[0])[:n].numpy()
        features = MiniRocketFeatures(random_state=seed % 2**32, device=str(device)).fit(X[idx])
        Z_prior = features.transform(_as_3d(gen._finish(gen._sample_codes(n, None, device))))
        fids = {}
        for tau in self.tau_grid:
            rec = gen._finish(gen._reconstruct_codes(xt[torch.from_numpy(idx).to(device)],
                                                     float(tau)))
            Z = features.transform(_as_3d(rec))
            fids[float(tau)] = frechet_distance(Z_prior, Z, device)
        return min(fids, key=fids.get), fids

    def _validate_tau(self, X, xt, seed, device, cfg):
        """Pick the grid temperature whose U-Net, trained on the series outside a
        held-out share, maps prior samples closest (FID) to the held-out series."""
        gen = self.generator_
        n = X.shape[0]
        n_val = int(round(self.validation_fraction * n))
        if n_val < 2 or n - n_val < 2:
            raise ValueError(f"tau='validation' needs at least two series on each side of "
                             f"the split: validation_fraction={self.validation_fraction} of "
                             f"{n} series holds out {n_val}.")
        perm = torch.randperm(n)
        val, train = perm[:n_val], perm[n_val:]
        val = val[:int(self.n_tau_samples)].sort().values.numpy()
        features = MiniRocketFeatures(random_state=seed % 2**32, device=str(device)).fit(X[val])
        Z_val = features.transform(X[val])
        samples = gen._sample_codes(len(val), None, device)
        fids = {}
        for tau in self.tau_grid:
            unet, _ = self._fit_unet(xt[train.to(xt.device)], float(tau), cfg, device,
                                     checkpoint=False)
            with torch.no_grad():
                mapped = gen._finish(unet.eval()(samples))
            fids[float(tau)] = frechet_distance(Z_val, features.transform(_as_3d(mapped)), device)
        return min(fids, key=fids.get), fids

    def _fit_unet(self, xt, tau, cfg, device, checkpoint=True):
        """Train a U-Net with L1 on (SVQ(x), x) pairs of ``xt``; return it (eval mode) and
        its loss curve."""
        gen = self.generator_
        n, C, _ = xt.shape
        T = self.series_length_
        if cfg["arch"] == "reference":
            unet = AttentionUNet1D(C, dim=cfg["dim"], dim_mults=cfg["dim_mults"],
                                   dropout=cfg["dropout"])
        else:
            unet = UNet1D(C, dim=cfg["dim"], dim_mults=cfg["dim_mults"], dropout=cfg["dropout"])
        unet = unet.to(device).train()
        bs = cfg["batch_size"]

        def loss_fn(iteration):
            x = xt[torch.randint(n, (bs,), device=device)]
            x_svq = gen._reconstruct_codes(x, tau)  # fresh stochastic draws every step
            return F.l1_loss(unet(x_svq)[..., :T], x[..., :T])

        loss_curve = self._optimize(
            unet, loss_fn, data_fingerprint=data_fingerprint(xt.cpu().numpy()), lr=cfg["lr"],
            max_iter=cfg["max_iter"], schedule="cosine", checkpoint=checkpoint)
        return unet.eval(), loss_curve

    def get_feature_names_out(self, input_features=None):
        """Output feature names for 2-D input ``(n_series, n_timesteps)``: the input's
        (one per time step; ``x0``, ``x1``, ... for arrays).

        3-D series ``(n, C, T)`` have no tabular form: they raise ValueError (and so does
        ``transform`` under ``set_output(transform="pandas")``).
        """
        check_is_fitted(self, "unet_")
        if not self._input_2d:
            raise ValueError(
                f"{type(self).__name__} was fitted on 3-D series (n, C, T), which have no "
                "feature names and stay arrays; fit on 2-D series (n_series, n_timesteps) "
                "for feature names and set_output(transform='pandas').")
        return super().get_feature_names_out(input_features)

    def transform(self, X):
        """Map series through the U-Net (deterministic, row by row).

        Parameters
        ----------
        X : array-like (n, C, T) or (n, T)
            Same channels and length as in ``fit``.

        Returns
        -------
        ndarray of the same shape as ``X`` (float64 for float64 input, else float32)
        """
        check_is_fitted(self, "unet_")
        dtype = np.float64 if np.asarray(X).dtype == np.float64 else np.float32
        X = check_panel(self, X, reset=False)
        gen = self.generator_
        device = resolve_device(self.device)
        xt = gen._prepare(X)
        out = []
        with torch_threads(self.n_threads, device), torch.no_grad():
            self.unet_.to(device)
            try:
                for s in range(0, xt.shape[0], 512):
                    out.append(self.unet_(xt[s:s + 512].to(device)).cpu())
            finally:
                self.unet_.cpu()
        mapped = _as_3d(gen._finish(torch.cat(out)))
        if not np.isfinite(mapped).all():
            raise divergence_error(self, "the mapped series hold NaN or inf values",
                                   MAPPER_PRESETS[self.preset]["lr"] if self.lr is None
                                   else float(self.lr))
        return (mapped[:, 0, :] if self._input_2d else mapped).astype(dtype)


def _as_3d(arr):
    return arr[:, None, :] if arr.ndim == 2 else arr
