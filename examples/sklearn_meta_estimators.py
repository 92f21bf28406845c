"""scikit-learn: train on a distilled set, score on real data, inside a grid search.

``DistilledClassifier(distiller, estimator)`` distils each training fold and fits the
estimator on the synthetic set only; ``predict``/``score`` run on real data. With
``memory=``, a grid over ``estimator__*`` distils once per fold. ``DistilledRegressor``
does the same for regression, here with the ``RandomSubsetDistiller`` baseline. Finally
the distilled set is saved without pickle and read back.

Run ``python examples/sklearn_meta_estimators.py`` (seconds); ``--full`` searches a
larger grid.
"""
import argparse
import tempfile
from pathlib import Path

import numpy as np
from sklearn.datasets import load_diabetes, load_digits
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split

from skdd import DistilledClassifier, DistilledRegressor, load_distilled
from skdd.classification import RandomPerClassDistiller
from skdd.compose import RandomSubsetDistiller


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="a larger grid")
    args = parser.parse_args(argv)

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, test_size=0.25,
                                                        random_state=0, stratify=y)
    with tempfile.TemporaryDirectory() as cache:
        clf = DistilledClassifier(RandomPerClassDistiller(ipc=5, random_state=0),
                                  LogisticRegression(max_iter=1000), memory=cache)
        grid = {"distiller__ipc": [1, 5, 10, 20] if args.full else [1, 10],
                "estimator__C": [0.1, 1.0, 10.0] if args.full else [0.1, 1.0]}
        search = GridSearchCV(clf, grid, cv=3).fit(X_train, y_train)
    best = search.best_estimator_
    print(f"digits: best {search.best_params_}, trained on {best.n_synthetic_} synthetic "
          f"images; accuracy on the {len(X_test)} real test images: "
          f"{best.score(X_test, y_test):.3f}")
    full = LogisticRegression(max_iter=1000).fit(X_train, y_train).score(X_test, y_test)
    print(f"digits: the same model on all {len(X_train)} training images: {full:.3f}")

    Xr, yr = load_diabetes(return_X_y=True)
    reg = DistilledRegressor(RandomSubsetDistiller(n_samples=0.2, random_state=0),
                             Ridge(alpha=0.1))
    scores = cross_val_score(reg, Xr, yr, cv=5)
    print(f"diabetes: R² of Ridge on a 20% random subset, 5-fold: {scores.mean():.3f} "
          f"± {scores.std():.3f}")

    with tempfile.TemporaryDirectory() as folder:
        path = best.distiller_.save_distilled(Path(folder) / "digits_distilled")
        loaded = load_distilled(path)
        again = LogisticRegression(max_iter=1000, C=best.estimator_.C)
        again.fit(loaded.X_syn, loaded.y_syn)
        same = np.array_equal(again.predict(X_test), best.predict(X_test))
        print(f"saved {loaded.X_syn.shape} + labels to {path.name}; a model retrained on "
              f"the loaded set predicts identically: {same}")
    return search


if __name__ == "__main__":
    main()
