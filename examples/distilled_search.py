"""Tune on distilled data, refit on real data: a grid search ranked on distilled folds.

``DistilledGridSearchCV`` distils every training fold once (here with distribution
matching, ten images per class), trains every SVC setting of the grid on those 100
synthetic images, scores it on the fold's real held-out images, and refits the winner on
all real training images. The same search runs with ten random real images per class
(the baseline under the same interface), as scikit-learn's ``GridSearchCV`` on the full
folds (the reference), and as successive halving on the full data at the distilled
search's training budget (``budget_matched_halving``).

Run ``python examples/distilled_search.py`` (under a minute on one core); ``--full``
distils longer.
"""
import argparse
import time

from scipy.stats import spearmanr
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.svm import SVC

from skdd.classification import DMDistiller
from skdd.datasets import load_digits_images
from skdd.model_selection import DistilledGridSearchCV, budget_matched_halving

from skdd.classification import RandomPerClassDistiller as RandomPerClass


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="distil for 200 iterations")
    args = parser.parse_args(argv)

    X_train, X_test, y_train, y_test = load_digits_images()  # (n, 1, 8, 8) in [0, 1]
    # the SVC sees flat rows; the distiller sees images
    X_train, X_test = X_train.reshape(len(X_train), -1), X_test.reshape(len(X_test), -1)
    grid = {"C": [0.1, 1.0, 10.0, 100.0], "gamma": [0.001, 0.01, 0.1, 1.0]}
    cv = StratifiedKFold(3, shuffle=True, random_state=0)

    start = time.perf_counter()
    full = GridSearchCV(SVC(), grid, cv=cv).fit(X_train, y_train)
    full_seconds = time.perf_counter() - start
    reference = full.cv_results_["mean_test_score"]
    print(f"full-data search: best {full.best_params_}, test accuracy "
          f"{full.score(X_test, y_test):.3f}, {full_seconds:.1f} s")

    distillers = {
        "DM, ipc 10": DMDistiller(ipc=10, max_iter=200 if args.full else 10, random_state=0),
        "random, ipc 10": RandomPerClass(ipc=10, random_state=0),
    }
    for name, distiller in distillers.items():
        start = time.perf_counter()
        search = DistilledGridSearchCV(SVC(), grid, distiller, cv=cv).fit(X_train, y_train)
        seconds = time.perf_counter() - start
        rho = spearmanr(search.cv_results_["mean_test_score"], reference).statistic
        print(f"{name} search: best {search.best_params_}, refit on all "
              f"{search.best_estimator_.shape_fit_[0]} real rows: test accuracy "
              f"{search.score(X_test, y_test):.3f}; Spearman vs full-data ranking "
              f"{rho:.2f}; {seconds:.1f} s (distillation {search.distill_time_.sum():.1f} s)")

    halving = budget_matched_halving(search, y_train, random_state=0)
    start = time.perf_counter()
    halving.fit(X_train, y_train)
    print(f"successive halving at {search.n_train_rows_} training rows (min_resources "
          f"{halving.min_resources}): best {halving.best_params_}, test accuracy "
          f"{halving.score(X_test, y_test):.3f}, {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
