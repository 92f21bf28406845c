"""CPU time of DM updates on MNIST-10k with glibc's default allocator and with
``tune_cpu_allocator()`` (docs/results_cost.md, "CPU allocator").

Each mode runs in a fresh process (the call changes the process's allocator): a DM fit
at ipc 10 with the MNIST table's ``batch_real=64``, one torch thread, timed after one
warm-up fit; user and system seconds and minor page faults from ``getrusage``.

Run: SKDD_DATA_HOME=... python docs/results/diagnostics/allocator.py [UPDATES]
"""
import subprocess
import sys

CHILD = """
import resource, sys, time
from skdd.classification import DMDistiller
from skdd.datasets import load_mnist
from skdd.utils import tune_cpu_allocator

if sys.argv[1] == "tuned":
    assert tune_cpu_allocator()
X, _, y, _ = load_mnist()
def fit(n):
    DMDistiller(ipc=10, batch_real=64, max_iter=n, random_state=0, device="cpu",
                n_threads=1).fit(X, y)
fit(1)
r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
fit(int(sys.argv[2]))
r1 = resource.getrusage(resource.RUSAGE_SELF)
print(f"{sys.argv[1]:8s} wall {time.perf_counter() - t0:6.1f} s  user {r1.ru_utime - r0.ru_utime:6.1f} s"
      f"  sys {r1.ru_stime - r0.ru_stime:6.1f} s  minor faults {r1.ru_minflt - r0.ru_minflt}")
"""

updates = sys.argv[1] if len(sys.argv) > 1 else "20"
for mode in ("default", "tuned", "default", "tuned"):
    subprocess.run([sys.executable, "-c", CHILD, mode, updates], check=True)
