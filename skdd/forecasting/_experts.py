"""Expert trajectories of a forecasting backbone on real windows, stored compactly.

Trajectory-matching distillers (MTT, CondTSF) compare synthetic steps with stored expert
checkpoints; HDT starts its steps from them. One buffer serves all: ``n_experts`` runs of
plain SGD with the shared trainer, the parameters after every epoch kept as flat float32
vectors (``n_experts × (epochs + 1) × n_params``). A distiller whose ``backbone`` is a list
holds one buffer per backbone (:class:`ExpertPool`) and matches each iteration through one
of them, drawn at random.
"""
from __future__ import annotations

import torch

from ..nn import check_forecasting_backbones, make_forecasting_backbone
from ..objectives import ExpertTrajectories as _ExpertTrajectories, TrajectoryMatching
from ..utils._parallel import check_n_jobs
from ._protocol import TrainingRecipe, train_forecaster


class ForecastingExpertTrajectories(_ExpertTrajectories):
    """Expert trajectories of a forecasting backbone (see
    :class:`skdd.objectives.ExpertTrajectories`), trained with the forecasting trainer.

    Attributes
    ----------
    snapshots : tensor of shape (n_experts, epochs + 1, n_params)
    model : torch.nn.Module
        The backbone whose parameter layout the snapshots follow.
    """

    @classmethod
    def train(cls, backbone, series, *, seq_len, pred_len, n_experts, epochs, lr, batch_size,
              device, model_kwargs=None, window_norm=False, n_jobs=None):
        """Train ``n_experts`` backbones with plain SGD on the windows of ``series``.

        ``window_norm=True`` trains (and later matches through) the backbone wrapped in
        :class:`skdd.nn.WindowNormalized`. Randomness comes from torch's global RNG (call
        inside :func:`skdd.utils.seeded`): one seed per expert, drawn before training, so
        ``n_jobs`` (experts trained at the same time through joblib, see
        :meth:`skdd.objectives.ExpertTrajectories.collect`) does not change the result.
        """
        series = torch.as_tensor(series, dtype=torch.float32, device=device)
        recipe = TrainingRecipe(epochs=epochs, lr=lr, batch_size=batch_size, optimizer="sgd")

        def make_model():
            return make_forecasting_backbone(backbone, seq_len, pred_len, series.shape[1],
                                             window_norm=window_norm,
                                             **(model_kwargs or {})).to(device)

        def train(model, record):
            train_forecaster(model, series, recipe, seq_len=seq_len, pred_len=pred_len,
                             device=device, on_epoch_end=record)

        return cls.collect(make_model, train, n_experts, n_jobs=n_jobs)


class ExpertPool:
    """One buffer of expert trajectories per backbone of a distiller's ``backbone``.

    Built by :meth:`for_estimator` from the estimator's ``backbone`` (a name or a list of
    names), ``window_norm``, ``seq_len``, ``pred_len``, ``n_experts``, ``expert_epochs``,
    ``inner_lr``, ``batch_size`` and ``n_jobs`` (experts trained at the same time); the
    buffers are trained one backbone after the other, in the order given. :meth:`draw`
    picks the backbone of an iteration uniformly at random from torch's global RNG (with
    one backbone it draws nothing, so a single name gives the same fit as before pools
    existed).

    Attributes
    ----------
    names : tuple of str
    experts : list of ForecastingExpertTrajectories
    matchings : list of TrajectoryMatching
    """

    def __init__(self, names, experts):
        self.names = tuple(names)
        self.experts = list(experts)
        self.matchings = [TrajectoryMatching(e.model) for e in self.experts]

    @classmethod
    def for_estimator(cls, est, series, device):
        names = check_forecasting_backbones(est.backbone)
        experts = [ForecastingExpertTrajectories.train(
            name, series, seq_len=est.seq_len, pred_len=est.pred_len, n_experts=est.n_experts,
            epochs=est.expert_epochs, lr=float(est.inner_lr), batch_size=est.batch_size,
            device=device, window_norm=bool(getattr(est, "window_norm", False)),
            n_jobs=check_n_jobs(getattr(est, "n_jobs", None)))
            for name in names]
        return cls(names, experts)

    def __len__(self):
        return len(self.names)

    @property
    def nbytes(self):
        """Memory of all stored snapshots in bytes."""
        return sum(e.nbytes for e in self.experts)

    def draw(self):
        """``(experts, matching)`` of a backbone drawn uniformly at random."""
        i = 0 if len(self.names) == 1 else int(torch.randint(len(self.names), (1,)))
        return self.experts[i], self.matchings[i]
