"""skorch: skdd's networks as scikit-learn estimators, trained on distilled sets.

``make_forecasting_net`` wraps a forecasting backbone (DLinear here) in a skorch
``NeuralNetRegressor`` on (input, target) windows: it is trained on the windows of a
distilled series and scored on the real test windows, and tuned with ``GridSearchCV``.
``make_convnet_classifier`` wraps the ConvNet in a ``NeuralNetClassifier`` that goes
into ``DistilledClassifier`` like any scikit-learn classifier.

Run ``python examples/skorch_nets.py`` (seconds); ``--full`` trains longer.
"""
import argparse

import numpy as np
import torch
from sklearn.model_selection import GridSearchCV

from skdd import DistilledClassifier, RandomSegmentDistiller
from skdd.classification import RandomPerClassDistiller
from skdd.datasets import load_digits_images, make_seasonal_series
from skdd.forecasting import evaluate_forecaster, make_windows
from skdd.skorch import make_convnet_classifier, make_forecasting_net
from skdd.utils import torch_threads


def neg_mse(estimator, X, y):
    return -float(np.mean((estimator.predict(X) - y) ** 2))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="train longer")
    args = parser.parse_args(argv)
    torch.manual_seed(0)  # skorch trains in torch's global RNG

    with torch_threads(None):  # skdd's thread default (SKDD_NUM_THREADS or 1)
        series = make_seasonal_series(3000, 3, random_state=0).astype(np.float32)
        train, test = series[:2400], series[2400:]
        synthetic = RandomSegmentDistiller(length=384, seq_len=96, pred_len=24,
                                           random_state=0).fit_resample(train)
        X_syn, Y_syn = make_windows(synthetic, seq_len=96, pred_len=24)
        net = make_forecasting_net("dlinear", seq_len=96, pred_len=24, n_channels=3)
        search = GridSearchCV(net, {"lr": [1e-3, 1e-2], "max_epochs": [20, 40] if args.full
                                    else [20]}, cv=3, scoring=neg_mse).fit(X_syn, Y_syn)
        scores = evaluate_forecaster(search.best_estimator_.module_, test, seq_len=96,
                                     pred_len=24)
        print(f"DLinear (skorch) on {len(X_syn)} windows of a 384-step distilled series, "
              f"best {search.best_params_}: real test MSE {scores['mse']:.3f}")

        X, X_test, y, y_test = load_digits_images()
        convnet = make_convnet_classifier(1, 10, (8, 8), model_kwargs={"width": 64, "depth": 2},
                                          max_epochs=150 if args.full else 40, batch_size=100,
                                          lr=0.05)
        clf = DistilledClassifier(RandomPerClassDistiller(ipc=10, random_state=0), convnet)
        clf.fit(X, y)
        print(f"ConvNet (skorch) trained on {clf.n_synthetic_} distilled digits: real test "
              f"accuracy {clf.score(X_test, y_test):.3f}")
    return search


if __name__ == "__main__":
    main()
