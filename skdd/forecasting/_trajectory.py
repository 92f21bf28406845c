"""Trajectory-matching baselines for forecasting: MTT and CondTSF."""
from __future__ import annotations

import torch

from ..base import BaseForecastDistiller, data_fingerprint
from ..nn import check_forecasting_backbones
from ..objectives import check_expert_schedule
from ..parametrization import TimeDomain, WithLearnableStep
from ..utils import check_bool, check_interval, check_positive_float, check_positive_int
from ..utils._parallel import check_n_jobs
from ._experts import ExpertPool
from ._windows import make_windows, sample_window_batches


class ForecastingMTTDistiller(BaseForecastDistiller):
    """Matching training trajectories (MTT, Cazenavette et al. 2022) on one series.

    The synthetic series is stored in the time domain. Before distillation,
    ``n_experts`` backbones are trained with SGD on the real training windows and their
    parameters saved after every epoch. Each iteration picks an expert and a start epoch
    t, takes ``syn_steps`` differentiable SGD steps on synthetic windows from the expert's
    epoch-t parameters (with a learnable step size, kept positive through its log), and
    minimises the normalised distance to the expert's epoch ``t + expert_span`` parameters.

    Parameters
    ----------
    length : int, default=384
    backbone : str or list of str, default="dlinear"
        Backbone of the experts and the matching ("dlinear", "itransformer", "xpatch",
        "patchtst"). A list of distinct names is a backbone pool: one expert buffer per
        backbone, and each iteration matches through one of them drawn at random.
    window_norm : bool, default=False
        Normalise every input window of the matching backbone per channel
        (:class:`skdd.nn.WindowNormalized`), as iTransformer, xPatch and PatchTST do.
    seq_len, pred_len : int, default=96
    max_iter : int, default=300
    lr : float, default=0.03
        Adam learning rate on the synthetic series (chosen on the ETTh1 validation split).
    syn_steps : int, default=20
        Student steps per iteration.
    expert_span : int, default=2
        Epochs of the expert trajectory the student must cover.
    max_start_epoch : int, default=None
        Latest start epoch (default ``expert_epochs - expert_span``).
    syn_lr : float, default=0.1
        Initial student step size (learned).
    lr_lr : float, default=1e-3
        Adam learning rate of the log step size.
    inner_lr : float, default=0.1
        SGD learning rate of the experts.
    batch_size : int, default=64
    n_experts : int, default=5
    expert_epochs : int, default=5
    device, random_state, verbose, checkpoint_path, checkpoint_every, n_threads, n_jobs
        As in :class:`~skdd.HarmonicDistiller`.

    Attributes
    ----------
    X_syn_ : ndarray of shape (length, n_channels)
    syn_lr_ : float
        The learned student step size.
    loss_curve_, n_iter_, device_, n_features_in_, expert_buffer_bytes_

    Examples
    --------
    >>> from skdd.forecasting import ForecastingMTTDistiller
    >>> from skdd.datasets import make_seasonal_series
    >>> series = make_seasonal_series(600, 2, random_state=0)
    >>> mtt = ForecastingMTTDistiller(length=96, seq_len=24, pred_len=12, max_iter=5, n_experts=1,
    ...                               expert_epochs=3, random_state=0)
    >>> mtt.fit_resample(series).shape
    (96, 2)
    """

    _learning_rates = ("lr", "syn_lr", "lr_lr", "inner_lr")
    _fingerprint_neutral = {"window_norm": False}
    # n_jobs changes how the experts are run, not what they compute
    _run_only_params = BaseForecastDistiller._run_only_params | {"n_jobs"}

    def __init__(self, length=384, backbone="dlinear", window_norm=False, seq_len=96,
                 pred_len=96, max_iter=300, lr=0.03, syn_steps=20, expert_span=2,
                 max_start_epoch=None, syn_lr=0.1, lr_lr=1e-3, inner_lr=0.1, batch_size=64,
                 n_experts=5, expert_epochs=5, device="auto", random_state=None, verbose=0,
                 checkpoint_path=None, checkpoint_every=100, n_threads=None, n_jobs=None):
        self.length = length
        self.backbone = backbone
        self.window_norm = window_norm
        self.seq_len = seq_len
        self.pred_len = pred_len
        self.max_iter = max_iter
        self.lr = lr
        self.syn_steps = syn_steps
        self.expert_span = expert_span
        self.max_start_epoch = max_start_epoch
        self.syn_lr = syn_lr
        self.lr_lr = lr_lr
        self.inner_lr = inner_lr
        self.batch_size = batch_size
        self.n_experts = n_experts
        self.expert_epochs = expert_epochs
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.checkpoint_path = checkpoint_path
        self.checkpoint_every = checkpoint_every
        self.n_threads = n_threads
        self.n_jobs = n_jobs

    def _check_window_params(self):
        out = super()._check_window_params()
        for name in ("max_iter", "syn_steps", "expert_span", "batch_size", "n_experts",
                     "expert_epochs"):
            check_positive_int(getattr(self, name), name)
        for name in ("lr", "syn_lr", "lr_lr", "inner_lr"):
            check_positive_float(getattr(self, name), name)
        check_expert_schedule(self.expert_epochs, self.expert_span, self.max_start_epoch)
        check_forecasting_backbones(self.backbone)
        check_bool(self.window_norm, "window_norm")
        check_n_jobs(self.n_jobs)
        return out

    def _after_step_hook(self, synthetic, pool):
        """Extra projection after each update (CondTSF's value term); None for MTT."""
        return None

    def _fit(self, series, device):
        M, L, H = self.length, self.seq_len, self.pred_len
        scaled, stats = self._standardize(series)
        real = torch.as_tensor(scaled, device=device)
        start = int(torch.randint(real.shape[0] - M + 1, (1,)))
        synthetic = WithLearnableStep(TimeDomain(real[start:start + M]), float(self.syn_lr),
                                      float(self.lr_lr))
        pool = ExpertPool.for_estimator(self, real, device)
        self.expert_buffer_bytes_ = int(pool.nbytes)
        span = int(self.expert_span)
        last_start = (self.expert_epochs - span if self.max_start_epoch is None
                      else int(self.max_start_epoch))

        def loss_fn(iteration):
            experts, matching = pool.draw()
            e = int(torch.randint(experts.n_experts, (1,)))
            t = int(torch.randint(last_start + 1, (1,)))
            theta, target = experts.params(e, t), experts.params(e, t + span)
            batches = sample_window_batches(synthetic(), L, H, self.syn_steps, self.batch_size)
            return matching.loss(theta, target, batches, synthetic.step())

        self.loss_curve_ = self._optimize(
            synthetic, loss_fn, data_fingerprint=data_fingerprint(series), lr=float(self.lr),
            max_iter=int(self.max_iter), after_step=self._after_step_hook(synthetic, pool))
        self.X_syn_ = self._unstandardize(synthetic().detach().cpu().numpy(), stats)
        self.syn_lr_ = float(synthetic.step().detach())


class CondTSFDistiller(ForecastingMTTDistiller):
    """CondTSF (Ding et al., NeurIPS 2024): MTT plus a value term on the targets.

    Every ``cond_every`` iterations, the fully trained experts forecast every window of the
    synthetic series; the forecasts of each time step (from all windows whose target covers
    it) are averaged, and the synthetic values after the first ``seq_len`` steps are pulled
    toward them: ``S[t] ← (1 − cond_weight) S[t] + cond_weight · forecast[t]``. This makes
    the synthetic targets consistent with what a model trained on real data predicts from
    the synthetic inputs. (CondTSF states the update for separate (input, target) samples;
    on one series, where targets are later inputs, averaging the overlapping forecasts is
    the direct adaptation.)

    Parameters
    ----------
    cond_every : int, default=10
    cond_weight : float, default=0.1
        In (0, 1].
    (the others as :class:`ForecastingMTTDistiller`)

    Examples
    --------
    >>> from skdd.forecasting import CondTSFDistiller
    >>> from skdd.datasets import make_seasonal_series
    >>> series = make_seasonal_series(600, 2, random_state=0)
    >>> d = CondTSFDistiller(length=96, seq_len=24, pred_len=12, max_iter=5, n_experts=1,
    ...                      expert_epochs=3, cond_every=2, random_state=0)
    >>> d.fit_resample(series).shape
    (96, 2)
    """

    def __init__(self, length=384, backbone="dlinear", window_norm=False, seq_len=96,
                 pred_len=96, max_iter=300, lr=0.03, syn_steps=20, expert_span=2,
                 max_start_epoch=None, syn_lr=0.1, lr_lr=1e-3, inner_lr=0.1, batch_size=64,
                 n_experts=5, expert_epochs=5, cond_every=10, cond_weight=0.1, device="auto",
                 random_state=None, verbose=0, checkpoint_path=None, checkpoint_every=100,
                 n_threads=None, n_jobs=None):
        super().__init__(length=length, backbone=backbone, window_norm=window_norm,
                         seq_len=seq_len, pred_len=pred_len,
                         max_iter=max_iter, lr=lr, syn_steps=syn_steps, expert_span=expert_span,
                         max_start_epoch=max_start_epoch, syn_lr=syn_lr, lr_lr=lr_lr,
                         inner_lr=inner_lr, batch_size=batch_size, n_experts=n_experts,
                         expert_epochs=expert_epochs, device=device, random_state=random_state,
                         verbose=verbose, checkpoint_path=checkpoint_path,
                         checkpoint_every=checkpoint_every, n_threads=n_threads,
                         n_jobs=n_jobs)
        self.cond_every = cond_every
        self.cond_weight = cond_weight

    def _check_window_params(self):
        out = super()._check_window_params()
        check_positive_int(self.cond_every, "cond_every")
        check_interval(self.cond_weight, "cond_weight", 0, 1, closed="right")
        return out

    def _after_step_hook(self, synthetic, pool):
        from torch.func import functional_call

        L, H, M = self.seq_len, self.pred_len, self.length
        # every fully trained expert of every backbone of the pool
        finals = [(ex.model, ex.params(e, ex.n_epochs)) for ex in pool.experts
                  for e in range(ex.n_experts)]
        weight = float(self.cond_weight)
        coverage = None

        def project(iteration):
            nonlocal coverage
            if (iteration + 1) % self.cond_every:
                return
            values = synthetic.parametrization.values
            X, _ = make_windows(values, L, H)
            for model, _ in finals:
                model.eval()
            forecast = torch.stack([functional_call(model, p, (X,)) for model, p in finals]).mean(0)
            for model, _ in finals:
                model.train()
            # average the forecasts of each time step over the windows that cover it
            n_win = X.shape[0]
            rows = (torch.arange(n_win, device=values.device)[:, None]
                    + torch.arange(L, L + H, device=values.device)[None, :]).flatten()
            total = torch.zeros_like(values).index_add_(0, rows, forecast.reshape(-1, values.shape[1]))
            if coverage is None:
                coverage = torch.zeros(M, device=values.device).index_add_(
                    0, rows, torch.ones_like(rows, dtype=values.dtype))
            covered = coverage > 0
            mean_forecast = total[covered] / coverage[covered, None]
            values[covered] = (1 - weight) * values[covered] + weight * mean_forecast

        return project
