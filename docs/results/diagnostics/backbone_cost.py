"""CPU cost of one HDT update and of expert epochs per matching backbone on ETTh1.

    SKDD_DATA_HOME=../shared/data python docs/results/diagnostics/backbone_cost.py

Fits HDT as its paper specifies it (harmonic-steps target, 10 + 10 unrolled steps) with one
expert of one epoch at 2 and at 12 updates per backbone (one torch
thread); the difference over 10 is the CPU seconds of one update.
"""
import time

from skdd import HarmonicDistiller
from skdd.forecasting import load_forecasting_splits

splits = load_forecasting_splits("ETTh1")
for backbone in ("dlinear", "itransformer", "xpatch"):
    cpu = {}
    for max_iter in (2, 12):
        start = time.process_time()
        HarmonicDistiller(backbone=backbone, max_iter=max_iter, n_experts=1, expert_epochs=1,
                          target="harmonic_steps", syn_steps=10, lr=0.4,
                          random_state=0, device="cpu", n_threads=1).fit(splits.train)
        cpu[max_iter] = time.process_time() - start
    per_update = (cpu[12] - cpu[2]) / 10
    print(f"{backbone:13} {per_update:6.2f} s per update, "
          f"{cpu[2] - 2 * per_update:6.1f} s for one expert epoch and setup")
