"""scikit-learn's estimator checks on every public estimator.

Expected failures are listed here with the reason; there are none so far.
"""
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from skdd import HarmonicDistiller, RandomSegmentDistiller
from skdd.classification import CFMDistiller, DCDistiller, DMDistiller, FreDDistiller
from skdd.classification import SRe2LDistiller
from skdd.classification import MTTDistiller
from skdd.classification import RandomPerClassDistiller
from skdd.forecasting import CondTSFDistiller, ForecastingMTTDistiller

# Small settings: the checks fit on 10-30 row arrays and must stay fast.
_TINY = dict(length=8, seq_len=3, pred_len=3, max_iter=2, n_experts=1, expert_epochs=1,
             batch_size=4, device="cpu")
ESTIMATORS = [
    RandomSegmentDistiller(length=6, seq_len=3, pred_len=3),
    HarmonicDistiller(n_harmonics=2, expert_steps=1, syn_steps=1, expert_span=1, **_TINY),
    ForecastingMTTDistiller(syn_steps=1, expert_span=1, **_TINY),
    CondTSFDistiller(syn_steps=1, expert_span=1, cond_every=1, **_TINY),
]
# Classification distillers see the checks' 2-D tables as one-channel series of
# n_features steps; a one-block ConvNet without normalisation handles any length (instance
# norm refuses a single position, as with the checks' one-feature tables).
_NET = dict(net_width=4, net_depth=1, net_norm="none", batch_real=4, max_iter=2, device="cpu")
_TM = dict(n_experts=1, expert_epochs=1, syn_steps=1, expert_span=1)
ESTIMATORS += [
    RandomPerClassDistiller(),
    DCDistiller(outer_loop=2, inner_loop=1, **_NET),
    DMDistiller(**_NET),
    MTTDistiller(**_TM, **_NET),
    FreDDistiller(objective="dc", n_coefficients=1, outer_loop=2, inner_loop=1, **_NET),
    FreDDistiller(objective="dm", n_coefficients=1, **_NET),
    FreDDistiller(objective="tm", n_coefficients=1, **_TM, **_NET),
]
_RECOVER = dict(net_width=4, net_depth=1, net_norm="none", max_iter=2, teacher_epochs=1,
                device="cpu")
ESTIMATORS += [CFMDistiller(**_RECOVER), SRe2LDistiller(**_RECOVER)]
EXPECTED_FAILURES = {}


# the checks fit every estimator with a y; forecasting distillers ignore it, with a warning
@pytest.mark.filterwarnings("ignore:.*fit ignores y:UserWarning")
@parametrize_with_checks(ESTIMATORS, expected_failed_checks=lambda est: EXPECTED_FAILURES.get(
    type(est).__name__, {}))
def test_sklearn_compatible(estimator, check):
    check(estimator)
