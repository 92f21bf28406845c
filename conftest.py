"""Test configuration shared by the doctests of ``skdd`` and the tests in ``tests/``."""
import warnings

import pytest


@pytest.fixture(scope="session", autouse=True)
def _sktime_warning_filters_stay_scoped():
    """Keep the warning filters of the test configuration (pyproject's filterwarnings) in
    force in tests that use sktime.

    sktime's ``_SuppressWarningPattern`` (used around every forecasting-horizon frequency
    change) ends with a global ``filterwarnings("default", category=FutureWarning)``, which
    outranks the configured filters for the rest of the test. Here it restores the filters
    it found instead. Without sktime, nothing is done.
    """
    try:
        from sktime.utils.warnings import _SuppressWarningPattern as cls
    except ImportError:
        yield
        return

    def __enter__(self):
        self._skdd_scope = warnings.catch_warnings()
        self._skdd_scope.__enter__()
        warnings.filterwarnings("ignore", category=self.warning_type,
                                message=self.message_pattern)

    def __exit__(self, *exc_info):
        self._skdd_scope.__exit__(*exc_info)

    original = cls.__enter__, cls.__exit__
    cls.__enter__, cls.__exit__ = __enter__, __exit__
    yield
    cls.__enter__, cls.__exit__ = original
