"""Does the amplitude of a distilled series matter to each evaluation model? (the script
behind "What HDT's series look like" in docs/results_forecasting.md, run as written; output in
amplitude.txt)

Distils with the given distiller on the ETTh1 training split (seeds 0-2, reusing
``--cache-dir`` checkpoints of the validation runs when present), scales each channel's
deviation from its mean by a factor, trains the three evaluation models with the
synthetic recipe and prints the validation MSE (mean ± std over seeds).

    SKDD_DATA_HOME=shared/data SKDD_CACHE_DIR=cache python docs/results/diagnostics/amplitude.py ETTh1 hdt 0.5,1,2,3
"""
import os, sys, numpy as np
from skdd.forecasting import load_forecasting_splits, fit_forecaster, evaluate_forecaster, get_recipe
from skdd.benchmarks._registry import FORECAST_DISTILLERS
from skdd.benchmarks._cache import keep_work_in
# a `--cache-dir` folder of the benchmark runs to reuse their distillations (the table
# was made with one); unset: distil afresh, same seeds, same series
CACHE = os.environ.get("SKDD_CACHE_DIR")
ds, name = sys.argv[1], sys.argv[2]
factors = [float(f) for f in sys.argv[3].split(",")]
splits = load_forecasting_splits(ds, seq_len=96)
tr = splits.train; mu, sd = tr.mean(0), tr.std(0)
res = {f: {m: [] for m in ("dlinear", "itransformer", "xpatch")} for f in factors}
for seed in range(3):
    est = FORECAST_DISTILLERS[name](length=384, seq_len=96, pred_len=96, random_state=seed, device="cpu")
    keep_work_in(est, CACHE, ["forecast", splits.name, name, "M384", "96-96", "val", f"seed{seed}"], {})
    s = np.asarray(est.fit_resample(tr), dtype=np.float32)
    z = (s - mu) / sd
    for f in factors:
        zz = z.mean(0) + f * (z - z.mean(0))
        x = (zz * sd + mu).astype(np.float32)
        for m in res[f]:
            model, _ = fit_forecaster(m, x, seq_len=96, pred_len=96, recipe=get_recipe(m, "synthetic"), dataset=splits.name, device="cpu", random_state=seed)
            res[f][m].append(evaluate_forecaster(model, splits.val, seq_len=96, pred_len=96)["mse"])
for f in factors:
    print(ds, name, "x", f, {m: f"{np.mean(v):.3f}±{np.std(v):.3f}" for m, v in res[f].items()}, flush=True)
