"""sktime: forecasters trained on a distilled series, evaluated on the real one.

``DistilledForecaster(distiller, forecaster)`` distils the training series, fits the
forecaster on the synthetic series only and then gives it the real history as context
(``update(..., update_params=False)``). It is evaluated here with sktime's ``evaluate``
(``strategy="no-update_params"``: distil once, score every later window) against the
same model trained on the whole training series, with two inner forecasters: skdd's
DLinear backbone as an sktime forecaster (``NeuralForecaster``) and sktime's own
``LTSFDLinearForecaster``. A ``ForecastingGridSearchCV`` then tunes ``distiller__length``,
and ``DistillerTransformer`` distils a series in one ``fit_transform``.

Run ``python examples/sktime_forecasting.py`` (seconds, on a generated series);
``--dataset ETTh1`` uses the real data (from ``$SKDD_DATA_HOME``), ``--full`` distils
longer.
"""
import argparse
import warnings

import numpy as np
from sktime.forecasting.ltsf import LTSFDLinearForecaster
from sktime.forecasting.model_evaluation import evaluate
from sktime.forecasting.model_selection import ForecastingGridSearchCV
from sktime.performance_metrics.forecasting import MeanSquaredError
from sktime.split import ExpandingWindowSplitter

from skdd import HarmonicDistiller, RandomSegmentDistiller
from skdd.datasets import load_ett, make_seasonal_series
from skdd.sktime import DistilledForecaster, DistillerTransformer, NeuralForecaster



def quiet():
    """Hide two sktime notices unrelated to skdd: a config default changing in sktime 1.3
    and LTSF-DLinear reading pandas' read-only arrays. (sktime re-enables FutureWarnings
    while it converts horizons, so this is called before each sktime call.)"""
    warnings.filterwarnings("ignore", message="The default of config ``remember_data``")
    warnings.filterwarnings("ignore", message="The given NumPy array is not writable")


def load(dataset, n_rows):
    if dataset == "generated":
        frame = make_seasonal_series(n_rows, 3, random_state=0, as_frame=True)
    else:
        frame = load_ett(dataset).iloc[:n_rows]
    train = frame.iloc[:int(0.75 * n_rows)]
    return (frame - train.mean()) / train.std(), len(train)  # train-only scaling


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="generated", help="'generated' or ETTh1, ...")
    parser.add_argument("--full", action="store_true", help="more data, longer distillation")
    args = parser.parse_args(argv)
    quiet()
    seq_len, pred_len, length = 96, 24, 288
    y, n_train = load(args.dataset, 8640 if args.full else 1600)
    cv = ExpandingWindowSplitter(fh=list(range(1, pred_len + 1)), initial_window=n_train,
                                 step_length=pred_len)
    dlinear = NeuralForecaster("dlinear", seq_len=seq_len, pred_len=pred_len, device="cpu",
                               random_state=0)
    hdt = HarmonicDistiller(length=length, seq_len=seq_len, pred_len=pred_len,
                            n_harmonics=24, max_iter=300 if args.full else 20,
                            n_experts=2 if args.full else 1, expert_epochs=3,
                            n_subsequences=8, device="cpu", random_state=0)
    random = RandomSegmentDistiller(length=length, seq_len=seq_len, pred_len=pred_len,
                                    random_state=0)
    ltsf = LTSFDLinearForecaster(seq_len=seq_len, pred_len=pred_len, num_epochs=20,
                                 batch_size=32, in_channels=y.shape[1])
    candidates = {
        f"DLinear on all {n_train} training points": dlinear,
        f"DLinear on Random (M={length})": DistilledForecaster(random, dlinear),
        f"DLinear on HDT (M={length})": DistilledForecaster(hdt, dlinear),
        f"sktime LTSF-DLinear on HDT (M={length})": DistilledForecaster(hdt, ltsf),
    }
    print(f"{args.dataset}: {len(y)} points, {y.shape[1]} channels; forecasting {pred_len} "
          f"steps from {seq_len}, {(len(y) - n_train) // pred_len} test windows")
    for name, forecaster in candidates.items():
        quiet()
        res = evaluate(forecaster, cv, y, strategy="no-update_params",
                       scoring=MeanSquaredError(), return_model=True)
        print(f"  {name:<42} test MSE {res['test_MeanSquaredError'].mean():.3f}")
    fitted = res["fitted_forecaster"].iloc[0]
    print(f"  (the last one: inner forecaster fitted on {fitted.synthetic_.shape} synthetic "
          f"points, indexed like the real series: {type(fitted.synthetic_.index).__name__})")

    quiet()
    grid = ForecastingGridSearchCV(
        DistilledForecaster(random, dlinear),
        ExpandingWindowSplitter(fh=list(range(1, pred_len + 1)), initial_window=n_train // 2,
                                step_length=n_train // 8),
        {"distiller__length": [192, 384]}, strategy="no-update_params", backend=None)
    grid.fit(y.iloc[:n_train])
    print(f"grid over distiller__length: best {grid.best_params_}")

    quiet()
    synthetic = DistillerTransformer(hdt).fit_transform(y.iloc[:n_train])
    print(f"DistillerTransformer: {y.iloc[:n_train].shape} -> {synthetic.shape}, columns "
          f"{list(synthetic.columns)}; finite: {bool(np.isfinite(synthetic.to_numpy()).all())}")
    return grid


if __name__ == "__main__":
    main()
