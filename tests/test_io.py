"""save_distilled / load_distilled: a round trip without pickle."""

import numpy as np
import pytest

from skdd import RandomSegmentDistiller, load_distilled
from skdd.datasets import make_seasonal_series


def test_round_trip_keeps_data_and_metadata(tmp_path):
    frame = make_seasonal_series(300, 3, random_state=0, as_frame=True)
    d = RandomSegmentDistiller(length=60, seq_len=12, pred_len=12, random_state=5).fit(frame)
    path = d.save_distilled(tmp_path / "syn")
    assert path.suffix == ".npz"
    loaded = load_distilled(path)
    np.testing.assert_array_equal(loaded.X_syn, d.X_syn_)
    assert loaded.y_syn is None
    meta = loaded.metadata
    assert meta["estimator"] == "RandomSegmentDistiller"
    assert meta["params"]["length"] == 60 and meta["params"]["random_state"] == 5
    assert meta["seed"] == d.seed_ and meta["channel_names"] == ["x0", "x1", "x2"]
    assert {"skdd", "torch", "numpy", "scikit-learn"} <= set(meta["versions"])
    assert list(loaded.to_frame().columns) == ["x0", "x1", "x2"]
    # plain numpy can read it with pickle disabled
    with np.load(path, allow_pickle=False) as npz:
        assert "X_syn" in npz.files


def test_unfitted_and_bad_files(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        RandomSegmentDistiller().save_distilled(tmp_path / "x.npz")
    with pytest.raises(FileNotFoundError):
        load_distilled(tmp_path / "missing.npz")
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="metadata"):
        load_distilled(tmp_path / "other.npz")
