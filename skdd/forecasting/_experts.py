"""Expert trajectories of a forecasting backbone on real windows, stored compactly.

Trajectory-matching distillers (MTT, CondTSF) compare synthetic steps with stored expert
checkpoints; HDT starts its steps from them. One buffer serves all: ``n_experts`` runs of
plain SGD with the shared trainer, the parameters after every epoch kept as flat float32
vectors (``n_experts × (epochs + 1) × n_params``).
"""
from __future__ import annotations

import torch

from ..nn import make_forecasting_backbone
from ..objectives import ExpertTrajectories as _ExpertTrajectories
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
    def for_estimator(cls, est, series, device):
        """Train the experts an estimator's parameters ask for (``backbone``, ``seq_len``,
        ``pred_len``, ``n_experts``, ``expert_epochs``, ``inner_lr``, ``batch_size``)."""
        return cls.train(str(est.backbone).lower(), series, seq_len=est.seq_len,
                         pred_len=est.pred_len, n_experts=est.n_experts,
                         epochs=est.expert_epochs, lr=float(est.inner_lr),
                         batch_size=est.batch_size, device=device)

    @classmethod
    def train(cls, backbone, series, *, seq_len, pred_len, n_experts, epochs, lr, batch_size,
              device, model_kwargs=None):
        """Train ``n_experts`` backbones with plain SGD on the windows of ``series``.

        Randomness comes from torch's global RNG (call inside :func:`skdd.utils.seeded`).
        """
        series = torch.as_tensor(series, dtype=torch.float32, device=device)
        recipe = TrainingRecipe(epochs=epochs, lr=lr, batch_size=batch_size, optimizer="sgd")

        def make_model():
            return make_forecasting_backbone(backbone, seq_len, pred_len, series.shape[1],
                                             **(model_kwargs or {})).to(device)

        def train(model, record):
            train_forecaster(model, series, recipe, seq_len=seq_len, pred_len=pred_len,
                             device=device, on_epoch_end=record)

        return cls.collect(make_model, train, n_experts)
