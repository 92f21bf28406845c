"""imbalanced-learn: a distiller as the sampler step of an ``imblearn`` Pipeline.

A distiller has ``fit_resample`` and no ``transform``, which is exactly imbalanced-learn's
sampler protocol: in ``imblearn.pipeline.Pipeline`` it runs when the pipeline is fitted
(replacing the training fold by the synthetic set) and is skipped at predict time, so
every real test row is scored. A grid search can tune the distiller's parameters
(``randomperclassdistiller__ipc``) like any other step's, and ``memory=`` caches the
distillation across a grid over the downstream model.

Run ``python examples/imblearn_pipeline.py`` (seconds); ``--full`` uses a larger grid.
"""
import argparse
import tempfile

from imblearn.pipeline import Pipeline, make_pipeline
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.preprocessing import StandardScaler

from skdd.classification import RandomPerClassDistiller


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="a larger grid")
    args = parser.parse_args(argv)
    X, y = load_digits(return_X_y=True)

    pipe = make_pipeline(StandardScaler(), RandomPerClassDistiller(ipc=10, random_state=0),
                         LogisticRegression(max_iter=1000))
    cv = cross_validate(pipe, X, y, cv=3, return_estimator=True)
    n_syn = [p.named_steps["randomperclassdistiller"].X_syn_.shape[0] for p in cv["estimator"]]
    print(f"3-fold CV: trained on {n_syn} synthetic rows per fold, tested on every real "
          f"row of each test fold: accuracy {cv['test_score'].mean():.3f}")

    grid = GridSearchCV(pipe, {"randomperclassdistiller__ipc": [1, 5, 10, 30] if args.full
                               else [1, 10]}, cv=3).fit(X, y)
    for ipc, score in zip(grid.cv_results_["param_randomperclassdistiller__ipc"],
                          grid.cv_results_["mean_test_score"]):
        print(f"  ipc={ipc:>2}: mean CV accuracy {score:.3f}")
    print(f"best: {grid.best_params_}")

    with tempfile.TemporaryDirectory() as cache:
        cached = Pipeline([("distiller", RandomPerClassDistiller(ipc=5, random_state=0)),
                           ("model", LogisticRegression(max_iter=1000))], memory=cache)
        Cs = [0.01, 0.1, 1.0, 10.0] if args.full else [0.1, 1.0]
        search = GridSearchCV(cached, {"model__C": Cs}, cv=3).fit(X, y)
    print(f"with memory=: {len(Cs)} values of C x 3 folds share one distillation per fold "
          f"(+ one for the final refit); best {search.best_params_}")
    return grid


if __name__ == "__main__":
    main()
