"""Seconds per TM update on MNIST-10k at ipc 10 (docs/results_classification.md, the TM
rows at ipc 10).

Times fits of 1 and 3 updates at MTT's defaults (20 student steps on all 100 images);
the difference over 2 is the cost of one update. The expert buffer comes from the
benchmark's cache (seed 0's, shared with ipc 1), so no expert is trained here.

Run: SKDD_DATA_HOME=... python docs/results/diagnostics/tm_update_cost.py CACHE/experts
"""
import sys
import time

from skdd.classification import MTTDistiller
from skdd.datasets import load_mnist

X_train, _, y_train, _ = load_mnist()
seconds = {}
for n in (1, 3):
    tm = MTTDistiller(ipc=10, max_iter=n, expert_cache=sys.argv[1], random_state=0,
                      device="cpu")
    start = time.perf_counter()
    tm.fit(X_train, y_train)
    seconds[n] = time.perf_counter() - start
    print(f"{n} updates: {seconds[n]:.1f} s")
print(f"one update: {(seconds[3] - seconds[1]) / 2:.1f} s")
