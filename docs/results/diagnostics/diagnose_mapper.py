"""Where does the neural mapper help or hurt? (ETTh1 windows, seed 0; the script behind the
diagnosis in docs/results_fidelity.md, run as written)

Fits TimeVQVAE (CPU preset) once, then one NeuralMapper per configuration given as a JSON
list, and prints the FID (MiniRocket features fitted on the test windows) of 1000 real
training windows, prior samples, SVQ and deterministic VQ reconstructions, before and after
the mapper, with the mean |.| distance to the real windows where rows correspond:

    SKDD_DATA_HOME=shared/data python docs/results/diagnostics/diagnose_mapper.py \
        '[{"tau":1.0,"max_iter":4000},{"tau":0.1,"max_iter":800}]'
"""
import time, numpy as np, torch, sys
from sklearn.frozen import FrozenEstimator
from skdd.benchmarks._fidelity import load_fidelity_data
from skdd.generative import TimeVQVAE, NeuralMapper
from skdd.metrics import MiniRocketFeatures, frechet_distance
d = load_fidelity_data("ETTh1")
Xtr, Xref = d["X_train"], d["X_ref"]
seed = 0
t=time.time()
gen = TimeVQVAE(preset="cpu", random_state=seed, n_threads=2, device="cpu").fit(Xtr)
print("gen", time.time()-t, flush=True)
import json
for extra in json.loads(sys.argv[1]):
  nm = NeuralMapper(FrozenEstimator(gen), random_state=seed, n_threads=2, device="cpu", **extra).fit(Xtr)
  print(extra, "nm", time.time()-t, nm.tau_, "loss", nm.loss_curve_[:3], nm.loss_curve_[-3:], flush=True)
  rng = np.random.default_rng(0)
  ref = Xref
  feats = MiniRocketFeatures(random_state=seed).fit(ref)
  Zr = feats.transform(ref)
  def fid(X): return frechet_distance(Zr, feats.transform(X), "cpu")
  idx = rng.choice(len(Xtr), 1000, replace=False)
  x = Xtr[idx]
  S = gen.sample(1000, random_state=1)
  xt = gen._prepare(x)
  with torch.no_grad():
      svq = gen._finish(gen._reconstruct_codes(xt, nm.tau_))
      rec = gen._finish(gen._reconstruct_codes(xt, 1e-6))
  for name, X in [("real", x), ("samples", S), ("mapped", nm.transform(S)), ("svq", svq),
                  ("map(svq)", nm.transform(svq)), ("rec", rec), ("map(rec)", nm.transform(rec)), ("map(real)", nm.transform(x))]:
      print(f"{name:10s} fid={fid(X):.4f}  l1_to_real={np.abs(X-x).mean() if X.shape==x.shape and name!='samples' and name!='mapped' else float('nan'):.4f}", flush=True)
