"""Time of a DMDistiller fit on mnist10k (ipc 10) in one process and split over ranks.

DM's real side (a batch of 256 real images per class through a fresh ConvNet every
iteration) dominates its cost; under a process group each rank embeds its classes only.
Run once without and once under ``torchrun`` (one torch thread per process)::

    SKDD_DATA_HOME=... python docs/results/diagnostics/dm_ranks.py 10 >> dm.jsonl
    SKDD_DATA_HOME=... torchrun --standalone --nproc-per-node 2 \
        docs/results/diagnostics/dm_ranks.py 10 >> dm.jsonl

Each run prints one JSON line (rank 0): ranks, fit seconds, peak memory of rank 0 and a
hash of the synthetic set (equal for every number of ranks on this machine).
"""
import hashlib
import json
import os
import resource
import sys
import time

import torch

torch.set_num_threads(1)
world = int(os.environ.get("WORLD_SIZE", "1"))
if world > 1:
    torch.distributed.init_process_group("gloo")
from skdd.benchmarks._classify import load_classification_splits  # noqa: E402
from skdd.classification import DMDistiller  # noqa: E402

X, _, y, _, _ = load_classification_splits("mnist10k")
start = time.perf_counter()
est = DMDistiller(ipc=10, max_iter=int(sys.argv[1]), random_state=0, device="cpu").fit(X, y)
seconds = time.perf_counter() - start
if world == 1 or torch.distributed.get_rank() == 0:
    print(json.dumps({"ranks": world, "max_iter": int(sys.argv[1]), "fit_seconds": seconds,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "X_syn_sha1": hashlib.sha1(est.X_syn_.tobytes()).hexdigest()}))
if world > 1:
    torch.distributed.destroy_process_group()
