"""The ``theorem1`` task: HDT's Theorem 1 checked over a distillation run.

HDT's Theorem 1 bounds the autocorrelation gap ``max_{|k|<=K} |r_S(k) − r_X(k)|`` between
the synthetic series S and the real series X by the error on the dominant harmonics'
amplitudes (the autocorrelation is the inverse transform of the power spectrum). This task
records both quantities along a run of any forecasting distiller, every ``every`` updates,
with :func:`skdd.base.observe_optimization` (the run itself is unchanged):

- harmonic error: ``‖ |F̃_X| − |F̃_S| ‖_2`` on the top-``k`` harmonics of a fixed set of
  real subsequences of length M (forward-normalised rfft, the quantity HDT's loss
  minimises, here on a fixed reference instead of a fresh random batch);
- autocorrelation gap: ``max_{0<=k<=K} |r_S(k) − r_X(k)|`` against the whole (standardised)
  training split, averaged over channels.
"""
from __future__ import annotations

import platform

import numpy as np
import torch

from ._forecast import _versions
from ._progress import track, with_verbose
from ._registry import FORECAST_DISTILLERS


def _spearman(a, b):
    from scipy.stats import spearmanr

    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(spearmanr(a, b).statistic)


def run_theorem1_check(dataset="ETTh1", distiller="hdt", *, seeds=(0, 1, 2), every=10,
                       max_lag=96, n_reference=64, n_harmonics=None, length=384, params=None,
                       data_home=None, device="cpu", splits=None, log=print, progress=None,
                       verbose=0):
    """Record the harmonic error and the autocorrelation gap along distillation runs.

    Parameters
    ----------
    dataset : str
        Forecasting dataset (ignored when ``splits`` is given).
    distiller : str
        A registered forecasting distiller (HDT by default; MTT/CondTSF for comparison).
    every : int
        Record every ``every`` updates (and at the last one).
    max_lag : int
        K, the largest lag of the autocorrelation gap.
    n_reference : int
        Fixed real subsequences (length M) of the harmonic error, drawn with seed 0.
    n_harmonics : int, optional
        k of the harmonic error (default: the distiller's ``n_harmonics``, else 48).
    length : int
        Synthetic length M.
    progress : bool, optional
        Show a bar over the seeds; ``verbose`` is passed to the distiller.
    """
    from ..base import BaseForecastDistiller, observe_optimization
    from ..forecasting import load_forecasting_splits
    from ..metrics import autocorrelation
    from ..objectives import harmonic_loss, subsequences, top_k_harmonics
    from ..utils import check_positive_int, resolve_device

    name = str(distiller).lower()
    if name not in FORECAST_DISTILLERS:
        raise ValueError(f"distiller={distiller!r} is unknown; choose one of "
                         f"{sorted(FORECAST_DISTILLERS)}.")
    every = check_positive_int(every, "every")
    params = dict(params or {})
    if splits is None:
        splits = load_forecasting_splits(dataset, seq_len=96, data_home=data_home)
    dev = resolve_device(device)
    scaled, _ = BaseForecastDistiller._standardize(np.asarray(splits.train, dtype=np.float32))
    r_x = autocorrelation(scaled, max_lag)
    real = torch.as_tensor(scaled)
    records = {}
    for seed in track(seeds, progress, f"theorem1 {splits.name} {name}"):
        est = FORECAST_DISTILLERS[name](length=length, seq_len=96, pred_len=96,
                                        random_state=seed, device=str(dev), **params)
        M = int(est.length)
        k = int(n_harmonics or getattr(est, "n_harmonics", None) or 48)
        starts = np.random.default_rng(0).integers(0, real.shape[0] - M + 1, n_reference)
        x_sub = subsequences(real, starts, M)
        f_x = torch.fft.rfft(x_sub, dim=1, norm="forward")
        mask = top_k_harmonics(f_x, k)
        rec = {"iteration": [], "harmonic_error": [], "acf_gap": []}
        max_iter = int(est.max_iter)

        def observer(d, iteration, synthetic, rec=rec, f_x=f_x, mask=mask, max_iter=max_iter):
            if iteration % every and iteration != max_iter:
                return
            with torch.no_grad():
                s = synthetic().detach().cpu().float()
            f_s = torch.fft.rfft(s, dim=0, norm="forward").expand_as(f_x)
            rec["iteration"].append(int(iteration))
            rec["harmonic_error"].append(float(harmonic_loss(f_x, f_s, mask, p=2)))
            gap = np.abs(autocorrelation(s.numpy(), max_lag) - r_x).max(0).mean()
            rec["acf_gap"].append(float(gap))

        with observe_optimization(observer):
            with_verbose(est, verbose).fit(splits.train)
        rec["spearman"] = _spearman(rec["harmonic_error"], rec["acf_gap"])
        records[str(seed)] = rec
        if log is not None:
            log(f"[{splits.name} {name} seed={seed}] harmonic error "
                f"{rec['harmonic_error'][0]:.4f} -> {rec['harmonic_error'][-1]:.4f}, "
                f"ACF gap {rec['acf_gap'][0]:.4f} -> {rec['acf_gap'][-1]:.4f}, "
                f"Spearman {rec['spearman']:.2f}")
    return {
        "task": "theorem1",
        "dataset": splits.name,
        "distiller": name,
        "params": params,
        "seeds": list(seeds),
        "every": every,
        "max_lag": max_lag,
        "n_reference": n_reference,
        "records": records,
        "device": str(dev),
        "machine": platform.platform(),
        "versions": _versions(),
    }


def format_theorem1_table(result):
    """Per seed: first and last recorded harmonic error / ACF gap and their rank correlation."""
    rows = [f"{result['dataset']}  {result['distiller']}  K={result['max_lag']}  "
            f"every={result['every']}",
            f"{'seed':<6}{'harm. error first→last':>26}{'ACF gap first→last':>24}{'Spearman':>10}"]
    for seed, r in result["records"].items():
        rows.append(f"{seed:<6}{r['harmonic_error'][0]:>12.4f} → {r['harmonic_error'][-1]:<10.4f}"
                    f"{r['acf_gap'][0]:>10.4f} → {r['acf_gap'][-1]:<10.4f}{r['spearman']:>10.2f}")
    return "\n".join(rows)
