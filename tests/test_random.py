"""RandomSegmentDistiller and the forecasting-distiller input contract."""
import numpy as np
import pandas as pd
import pytest

from skdd import RandomSegmentDistiller as Segment
from skdd.datasets import make_seasonal_series


def test_segment_is_a_real_contiguous_slice(small_series):
    d = Segment(length=100, seq_len=24, pred_len=12, random_state=0).fit(small_series)
    s = d.start_
    np.testing.assert_allclose(d.X_syn_, small_series[s:s + 100].astype(np.float32))
    assert d.X_syn_.dtype == np.float32 and d.n_features_in_ == 3
    assert d.n_iter_ == 0 and d.device_ in ("cpu", "cuda", "cuda:0")


def test_same_seed_same_segment(small_series):
    starts = {Segment(length=50, seq_len=10, pred_len=10, random_state=7)
              .fit(small_series).start_ for _ in range(3)}
    assert len(starts) == 1
    others = {Segment(length=50, seq_len=10, pred_len=10, random_state=s)
              .fit(small_series).start_ for s in range(10)}
    assert len(others) > 1


def test_dataframe_in_dataframe_out():
    frame = make_seasonal_series(500, 3, random_state=0, as_frame=True)
    out = Segment(length=120, seq_len=24, pred_len=24, random_state=0).fit_resample(frame)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == list(frame.columns)
    assert isinstance(out.index, pd.DatetimeIndex) and len(out) == 120
    assert out.index.freq == frame.index.freq
    ranged = frame.reset_index(drop=True)
    out2 = Segment(length=120, seq_len=24, pred_len=24, random_state=0).fit_resample(ranged)
    assert isinstance(out2.index, pd.RangeIndex)
    np.testing.assert_array_equal(out.to_numpy(), out2.to_numpy())
    series = Segment(length=120, seq_len=24, pred_len=24, random_state=0).fit_resample(
        frame["x0"])
    assert list(series.columns) == ["x0"]


def test_ndarray_in_ndarray_out(small_series):
    out = Segment(length=100, seq_len=24, pred_len=12, random_state=0).fit_resample(small_series)
    assert isinstance(out, np.ndarray) and out.shape == (100, 3)


@pytest.mark.parametrize("bad,match", [
    (lambda s: np.where(np.arange(s.size).reshape(s.shape) == 5, np.nan, s), "NaN"),
    (lambda s: np.where(np.arange(s.size).reshape(s.shape) == 5, np.inf, s), "inf"),
    (lambda s: s[None], "2-D"),
    (lambda s: s[:, 0], "2-D"),
    (lambda s: s[:80], "n_samples = 80"),
    (lambda s: s.astype(complex), "[Cc]omplex"),
])
def test_bad_series_is_rejected_clearly(small_series, bad, match):
    with pytest.raises(ValueError, match=match):
        Segment(length=100, seq_len=24, pred_len=12).fit(bad(small_series))


@pytest.mark.parametrize("params,match", [
    ({"length": 30, "seq_len": 24, "pred_len": 12}, "length=30 is below seq_len \\+ pred_len"),
    ({"length": 0}, "length"),
    ({"seq_len": 2.5}, "seq_len"),
    ({"pred_len": -1}, "pred_len"),
    ({"device": "tpu-9000"}, "device"),
    ({"random_state": "x"}, "random_state"),
])
def test_bad_parameters_are_rejected_clearly(small_series, params, match):
    base = {"length": 100, "seq_len": 24, "pred_len": 12}
    with pytest.raises(ValueError, match=match):
        Segment(**{**base, **params}).fit(small_series)
