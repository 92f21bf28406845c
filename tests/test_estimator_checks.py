"""scikit-learn's estimator checks on every public estimator.

Expected failures are listed here with the reason; there are none so far.
"""
from sklearn.utils.estimator_checks import parametrize_with_checks

from skdd import RandomDistiller

# Small window settings: the checks fit on 10-30 row arrays.
ESTIMATORS = [RandomDistiller(length=6, seq_len=3, pred_len=3)]
EXPECTED_FAILURES = {}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=lambda est: EXPECTED_FAILURES.get(
    type(est).__name__, {}))
def test_sklearn_compatible(estimator, check):
    check(estimator)
