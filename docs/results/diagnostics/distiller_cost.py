"""CPU cost of each distiller at its defaults, one torch thread (the README's table).

Forecasting distillers fit the ETTh1 train split (8640 x 7, protocol scaling, length 384);
classification distillers fit GunPoint's train split (50 series of 150 steps, bundled
with sktime) at ipc 1. One fit per distiller, one after the other, seed 0::

    SKDD_DATA_HOME=... python docs/results/diagnostics/distiller_cost.py [name ...]
"""
import sys
import time

import numpy as np


def forecasting(name):
    from skdd import forecasting
    from skdd.forecasting import load_forecasting_splits

    train = load_forecasting_splits("ETTh1", seq_len=96).train
    cls = getattr(forecasting, name)
    return cls(random_state=0, device="cpu"), (train,)


def classification(name):
    from skdd import classification
    from skdd.datasets import load_ucr

    X, y = load_ucr("GunPoint", split="train")
    cls = getattr(classification, name)
    return cls(random_state=0, device="cpu"), (np.asarray(X, dtype=np.float32), y)


CASES = {
    "HarmonicDistiller": (forecasting, "HarmonicDistiller"),
    "ForecastingMTTDistiller": (forecasting, "ForecastingMTTDistiller"),
    "CondTSFDistiller": (forecasting, "CondTSFDistiller"),
    "RandomSegmentDistiller": (forecasting, "RandomSegmentDistiller"),
    "FreDDistiller": (classification, "FreDDistiller"),
    "CFMDistiller": (classification, "CFMDistiller"),
    "DCDistiller": (classification, "DCDistiller"),
    "DMDistiller": (classification, "DMDistiller"),
    "MTTDistiller (classification)": (classification, "MTTDistiller"),
    "SRe2LDistiller": (classification, "SRe2LDistiller"),
    "RandomPerClassDistiller": (classification, "RandomPerClassDistiller"),
}


def main(names):
    for label in names or CASES:
        build, name = CASES[label]
        est, args = build(name)
        start = time.perf_counter()
        est.fit(*args)
        print(f"{label:32} {time.perf_counter() - start:8.1f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
