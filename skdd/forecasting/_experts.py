"""Expert trajectories of a forecasting backbone on real windows, stored compactly.

Trajectory-matching distillers (MTT, CondTSF) compare synthetic steps with stored expert
checkpoints; HDT starts its steps from them. One buffer serves all: ``n_experts`` runs of
plain SGD with the shared trainer, the parameters after every epoch kept as flat float32
vectors (``n_experts × (epochs + 1) × n_params``).
"""
from __future__ import annotations

import torch
from torch import nn

from ..nn import make_forecasting_backbone
from ..objectives import parameters_of
from ._protocol import TrainingRecipe, train_forecaster


class ExpertTrajectories(nn.Module):
    """Flat snapshots of expert training runs, with the template model to unflatten them.

    Attributes
    ----------
    snapshots : tensor of shape (n_experts, epochs + 1, n_params)
    model : torch.nn.Module
        The backbone whose parameter layout the snapshots follow.
    """

    def __init__(self, model, snapshots):
        super().__init__()
        self.model = model
        self.register_buffer("snapshots", snapshots)
        self._layout = [(name, p.shape, p.numel()) for name, p in model.named_parameters()
                        if p.requires_grad]

    @property
    def n_experts(self):
        return self.snapshots.shape[0]

    @property
    def n_epochs(self):
        return self.snapshots.shape[1] - 1

    @property
    def nbytes(self):
        return self.snapshots.numel() * self.snapshots.element_size()

    def params(self, expert, epoch):
        """Parameters ``{name: tensor}`` of ``expert`` after ``epoch`` epochs."""
        return self.unflatten(self.snapshots[expert, epoch])

    def unflatten(self, flat):
        out, offset = {}, 0
        for name, shape, size in self._layout:
            out[name] = flat[offset:offset + size].view(shape)
            offset += size
        return out

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
        runs = []
        template = None
        for _ in range(n_experts):
            model = make_forecasting_backbone(backbone, seq_len, pred_len, series.shape[1],
                                              **(model_kwargs or {})).to(device)
            if template is None:
                template = model
            snaps = []

            def record(epoch, m, snaps=snaps):
                snaps.append(torch.cat([p.detach().flatten()
                                        for p in parameters_of(m).values()]))

            train_forecaster(model, series, recipe, seq_len=seq_len, pred_len=pred_len,
                             device=device, on_epoch_end=record)
            runs.append(torch.stack(snaps))
        template.train()
        return cls(template, torch.stack(runs))
