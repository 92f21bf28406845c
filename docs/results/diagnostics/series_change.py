"""How far does each distiller move its synthetic series from the real segment it starts
from? (the script behind "What HDT's series look like" in docs/results_forecasting.md, run as
written; output in series_change.txt)

For seeds 0-2 it distils with HDT, MTT and CondTSF at their defaults (reusing the
checkpoints of a ``--cache-dir`` run of the test-split protocol when there are any) and
HDT with one update of lr 1e-12, i.e. the starting segment, which all three draw alike.
In standardised units it prints, per frequency band (rfft bins), the energy of the change
relative to the start's energy, the roughness (mean squared first difference / variance)
and the mean per-channel std of the series.

    SKDD_DATA_HOME=shared/data SKDD_CACHE_DIR=cache python docs/results/diagnostics/series_change.py ETTh1
"""
import os, sys, numpy as np
from skdd.forecasting import load_forecasting_splits
from skdd.benchmarks._registry import FORECAST_DISTILLERS
from skdd.benchmarks._cache import keep_work_in
# a `--cache-dir` folder of the benchmark runs to reuse their distillations (the table
# was made with one); unset: distil afresh, same seeds, same series
CACHE = os.environ.get("SKDD_CACHE_DIR")
ds = sys.argv[1]
splits = load_forecasting_splits(ds, seq_len=96)
tr = splits.train
mu, sd = tr.mean(0), tr.std(0)
def syn(name, seed, **p):
    est = FORECAST_DISTILLERS[name](length=384, seq_len=96, pred_len=96, random_state=seed, device="cpu", **p)
    if not p:
        keep_work_in(est, CACHE, ["forecast", splits.name, name, "M384", "96-96", "test", f"seed{seed}"], {})
    return (np.asarray(est.fit_resample(tr)) - mu) / sd
bands = [(0, 4), (4, 16), (16, 48), (48, 100), (100, 193)]
for seed in range(3):
    init = syn("hdt", seed, max_iter=1, lr=1e-12)
    for name in ("hdt", "mtt", "condtsf"):
        s = syn(name, seed)
        fi, fs = np.fft.rfft(init, axis=0), np.fft.rfft(s, axis=0)
        ch = np.abs(fs - fi) ** 2
        tot = np.abs(fi) ** 2
        rel = [ch[a:b].sum() / tot[a:b].sum() for a, b in bands]
        rough = (np.diff(s, axis=0) ** 2).mean() / s.var()
        print(f"{ds} s{seed} {name:8s} rel-change by band {np.round(rel,3)}  rough {rough:.3f} (init {(np.diff(init,axis=0)**2).mean()/init.var():.3f}) std {s.std(0).mean():.2f}", flush=True)
