"""A small optimising forecasting distiller used to test the shared loop (tests only)."""
import torch

from skdd.base import BaseForecastDistiller, data_fingerprint
from skdd.forecasting import make_windows


class WindowMomentDistiller(BaseForecastDistiller):
    """Learns a series whose random windows match the mean and spread of real windows.

    Every iteration draws random real windows and random synthetic windows (torch RNG), so
    a resumed fit only matches an uninterrupted one if the RNG stream is restored.
    """

    _run_only_params = BaseForecastDistiller._run_only_params | {"interrupt_at"}

    def __init__(self, length=32, seq_len=8, pred_len=4, max_iter=30, lr=0.05,
                 random_state=None, device="cpu", verbose=0, checkpoint_path=None,
                 checkpoint_every=5, n_threads=None, interrupt_at=None):
        self.length = length
        self.seq_len = seq_len
        self.pred_len = pred_len
        self.max_iter = max_iter
        self.lr = lr
        self.random_state = random_state
        self.device = device
        self.verbose = verbose
        self.checkpoint_path = checkpoint_path
        self.checkpoint_every = checkpoint_every
        self.n_threads = n_threads
        self.interrupt_at = interrupt_at

    def _fit(self, series, device):
        real = torch.as_tensor(series, device=device)
        start = int(torch.randint(series.shape[0] - self.length + 1, (1,)))
        synthetic = torch.nn.ParameterDict(
            {"series": torch.nn.Parameter(real[start:start + self.length].clone())})
        rx, _ = make_windows(real, self.seq_len, self.pred_len)

        def loss_fn(iteration):
            if self.interrupt_at is not None and iteration == self.interrupt_at:
                raise KeyboardInterrupt
            sx, _ = make_windows(synthetic["series"], self.seq_len, self.pred_len)
            ri = torch.randint(rx.shape[0], (16,), device=device)
            si = torch.randint(sx.shape[0], (16,), device=device)
            r, s = rx[ri], sx[si]
            return ((r.mean(0) - s.mean(0)) ** 2).mean() + ((r.std(0) - s.std(0)) ** 2).mean()

        fp = data_fingerprint(series)
        self.loss_curve_ = self._optimize(synthetic, loss_fn, data_fingerprint=fp, lr=self.lr,
                                          max_iter=self.max_iter)
        self.X_syn_ = synthetic["series"].detach().cpu().numpy()
