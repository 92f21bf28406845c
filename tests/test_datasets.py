"""Tests for skdd.datasets: data home, ETT loader, forecasting CSVs, generators."""
import gzip
import hashlib
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import require_file

import skdd.datasets as ds
from skdd.datasets import (
    get_data_home,
    load_ett,
    load_forecasting_csv,
    make_seasonal_series,
)
from skdd.datasets import _ett

ETT_COLUMNS = ["HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"]

TOY_CSV = (
    "date,HUFL,HULL,MUFL,MULL,LUFL,LULL,OT\n"
    "2016-07-01 00:00:00,5.8,2.0,1.6,0.46,4.2,1.34,30.5\n"
    "2016-07-01 01:00:00,5.7,2.1,1.5,0.43,4.1,1.37,27.8\n"
    "2016-07-01 02:00:00,5.2,1.8,1.2,0.36,3.9,1.31,27.8\n"
)


@pytest.fixture(autouse=True)
def _no_env_home(monkeypatch):
    monkeypatch.delenv("SKDD_DATA_HOME", raising=False)


# ----------------------------------------------------------------------------- data home
def test_get_data_home_argument_and_tilde(tmp_path):
    assert get_data_home(tmp_path) == tmp_path
    assert get_data_home(str(tmp_path)) == tmp_path
    assert get_data_home("~/somewhere") == Path.home() / "somewhere"


def test_get_data_home_env_and_xdg(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert get_data_home() == tmp_path / "xdg" / "skdd"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert get_data_home() == Path.home() / ".cache" / "skdd"
    monkeypatch.setenv("SKDD_DATA_HOME", str(tmp_path / "env"))
    assert get_data_home() == tmp_path / "env"
    assert get_data_home(tmp_path / "arg") == tmp_path / "arg"  # argument wins
    assert not (tmp_path / "env").exists()  # never created


# ----------------------------------------------------------------------------- ETT, real data
@pytest.mark.parametrize(
    "name, n_rows", [("ETTh1", 17420), ("ETTh2", 17420), ("ETTm2", 69680)]
)
def test_load_ett_real(data_home, name, n_rows):
    require_file(data_home, f"ett/{name}.csv.gz")
    df = load_ett(name, data_home=data_home)
    assert df.shape == (n_rows, 7)
    assert list(df.columns) == ETT_COLUMNS
    assert isinstance(df.index, pd.DatetimeIndex)
    assert df.index.name == "date"
    assert df.index[0] == pd.Timestamp("2016-07-01 00:00:00")
    assert df.index.is_monotonic_increasing
    assert all(dtype == np.float64 for dtype in df.dtypes)
    assert df.attrs["name"] == name
    assert np.isfinite(df.to_numpy()).all()


def test_load_ett_case_insensitive(data_home):
    require_file(data_home, "ett/ETTh1.csv.gz")
    df = load_ett("etth1", data_home=data_home)
    assert df.attrs["name"] == "ETTh1"
    assert df.shape == (17420, 7)


def test_load_ett_env_var(data_home, monkeypatch):
    require_file(data_home, "ett/ETTh2.csv.gz")
    monkeypatch.setenv("SKDD_DATA_HOME", str(data_home))
    assert load_ett("ETTH2").shape == (17420, 7)


# ----------------------------------------------------------------------------- ETT, local files
def test_load_ett_unknown_name(tmp_path):
    with pytest.raises(ValueError, match="name") as info:
        load_ett("ETTx9", data_home=tmp_path)
    for valid in ("ETTh1", "ETTh2", "ETTm1", "ETTm2"):
        assert valid in str(info.value)


def test_load_ett_missing_lists_paths(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        load_ett("ETTm1", data_home=tmp_path)
    msg = str(info.value)
    for rel in ("ett/ETTm1.csv.gz", "ett/ETTm1.csv", "ETTm1.csv.gz", "ETTm1.csv"):
        assert str(tmp_path / rel) in msg
    assert "SKDD_DATA_HOME" in msg and "download=True" in msg
    assert "zhouhaoyi/ETDataset" in msg
    assert not (tmp_path / "ett").exists()


@pytest.mark.parametrize("rel", ["ett/ETTh1.csv", "ETTh1.csv", "ETTh1.csv.gz"])
def test_load_ett_lookup_locations(tmp_path, rel):
    target = tmp_path / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    if rel.endswith(".gz"):
        with gzip.open(target, "wt") as fh:
            fh.write(TOY_CSV)
    else:
        target.write_text(TOY_CSV)
    df = load_ett("ETTh1", data_home=tmp_path)
    assert df.shape == (3, 7)
    assert list(df.columns) == ETT_COLUMNS
    assert df["OT"].iloc[0] == pytest.approx(30.5)


def test_load_ett_env_var_tmp(tmp_path, monkeypatch):
    (tmp_path / "ett").mkdir()
    (tmp_path / "ett" / "ETTm2.csv").write_text(TOY_CSV)
    monkeypatch.setenv("SKDD_DATA_HOME", str(tmp_path))
    assert load_ett("ettm2").attrs["name"] == "ETTm2"


# ----------------------------------------------------------------------------- ETT, download
@pytest.fixture
def fake_server(tmp_path, monkeypatch):
    """A file:// 'server' holding a toy ETTh1.csv; returns (server dir, md5)."""
    server = tmp_path / "server"
    server.mkdir()
    (server / "ETTh1.csv").write_text(TOY_CSV)
    (server / "ETTm1.csv").write_text(TOY_CSV)
    md5 = hashlib.md5(TOY_CSV.encode()).hexdigest()
    monkeypatch.setattr(_ett, "ETT_BASE_URL", server.as_uri() + "/")
    return server, md5


def test_download(tmp_path, fake_server, monkeypatch):
    _, md5 = fake_server
    monkeypatch.setattr(_ett, "ETT_MD5", {**_ett.ETT_MD5, "ETTh1": md5})
    home = tmp_path / "home"
    df = load_ett("ETTh1", data_home=home, download=True)
    assert (home / "ett" / "ETTh1.csv").read_text() == TOY_CSV
    assert os.listdir(home / "ett") == ["ETTh1.csv"]  # no temp files left
    assert df.shape == (3, 7) and df.attrs["name"] == "ETTh1"
    # second call reads the local file (server gone)
    monkeypatch.setattr(_ett, "ETT_BASE_URL", "file:///nonexistent/")
    assert load_ett("etth1", data_home=home, download=True).shape == (3, 7)


def test_download_patch_on_package(tmp_path, fake_server, monkeypatch):
    server, md5 = fake_server
    monkeypatch.setattr(_ett, "ETT_BASE_URL", ds.ETT_BASE_URL)  # undo module patch
    monkeypatch.setattr(ds, "ETT_BASE_URL", server.as_uri())
    monkeypatch.setattr(ds, "ETT_MD5", {"ETTh1": md5})
    assert load_ett("ETTh1", data_home=tmp_path / "h", download=True).shape == (3, 7)


def test_download_md5_mismatch(tmp_path, fake_server, monkeypatch):
    _, md5 = fake_server
    monkeypatch.setattr(_ett, "ETT_MD5", {**_ett.ETT_MD5, "ETTh1": "0" * 32})
    home = tmp_path / "home"
    with pytest.raises((OSError, ValueError)) as info:
        load_ett("ETTh1", data_home=home, download=True)
    msg = str(info.value)
    assert "0" * 32 in msg and md5 in msg and "ETTh1.csv" in msg
    assert list((home / "ett").iterdir()) == []


def test_download_unknown_md5_warns(tmp_path, fake_server):
    with pytest.warns(UserWarning, match="could not be verified"):
        df = load_ett("ETTm1", data_home=tmp_path / "home", download=True)
    assert df.attrs["name"] == "ETTm1"


def test_download_network_error(tmp_path, fake_server, monkeypatch):
    monkeypatch.setattr(_ett, "ETT_BASE_URL", (tmp_path / "nowhere").as_uri() + "/")
    home = tmp_path / "home"
    with pytest.raises(OSError) as info:
        load_ett("ETTh2", data_home=home, download=True)
    msg = str(info.value)
    assert "nowhere/ETTh2.csv" in msg and "manually" in msg
    assert str(home / "ett" / "ETTh2.csv") in msg
    assert list((home / "ett").iterdir()) == []


# ----------------------------------------------------------------------------- custom CSVs
def _write_custom(path, gz=False):
    text = "date,a,b,OT\n2020-01-01 00:00:00,1,2.5,3\n2020-01-01 00:10:00,4,5,6\n"
    if gz:
        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        path.write_text(text)
    return path


def test_forecasting_csv_path(tmp_path):
    path = _write_custom(tmp_path / "weather.csv")
    for arg in (path, str(path)):
        df = load_forecasting_csv(arg)
        assert df.shape == (2, 3)
        assert list(df.columns) == ["a", "b", "OT"]
        assert df.index.name == "date" and isinstance(df.index, pd.DatetimeIndex)
        assert all(dtype == np.float64 for dtype in df.dtypes)
        assert df.attrs["name"] == "weather"
        assert df["OT"].tolist() == [3.0, 6.0]


def test_forecasting_csv_gz_and_names(tmp_path, monkeypatch):
    (tmp_path / "custom").mkdir()
    _write_custom(tmp_path / "custom" / "electricity.csv.gz", gz=True)
    df = load_forecasting_csv("Electricity", data_home=tmp_path)
    assert df.shape == (2, 3) and df.attrs["name"] == "Electricity"
    df = load_forecasting_csv(tmp_path / "custom" / "electricity.csv.gz")
    assert df.attrs["name"] == "electricity"
    _write_custom(tmp_path / "traffic.csv")
    monkeypatch.setenv("SKDD_DATA_HOME", str(tmp_path))
    assert load_forecasting_csv("traffic").shape == (2, 3)


def test_forecasting_csv_date_column(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("time,v\n2020-01-01,1\n2020-01-02,2\n")
    df = load_forecasting_csv(path, date_column="time")
    assert df.index.name == "date" and list(df.columns) == ["v"]
    with pytest.raises(ValueError, match="date_column"):
        load_forecasting_csv(path)


def test_forecasting_csv_errors(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        load_forecasting_csv("Traffic", data_home=tmp_path)
    msg = str(info.value)
    for rel in ("Traffic.csv", "custom/Traffic.csv.gz", "traffic.csv", "custom/traffic.csv"):
        assert str(tmp_path / rel) in msg
    with pytest.raises(FileNotFoundError, match="missing.csv"):
        load_forecasting_csv(tmp_path / "missing.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("date,a,label\n2020-01-01,1,x\n2020-01-02,2,y\n")
    with pytest.raises(ValueError, match="'label'"):
        load_forecasting_csv(bad)


# ----------------------------------------------------------------------------- generator
def test_make_seasonal_series_basic():
    X = make_seasonal_series(random_state=0)
    assert X.shape == (2000, 4) and X.dtype == np.float64
    assert np.isfinite(X).all()
    X = make_seasonal_series(300, 2, periods=[12], trend=0.0, noise=0.0, random_state=1)
    assert X.shape == (300, 2)
    # strong peak at the seasonal frequency
    spec = np.abs(np.fft.rfft(X - X.mean(0), axis=0)) ** 2
    assert np.argmax(spec[1:, 0]) + 1 == 300 // 12


def test_make_seasonal_series_determinism():
    a = make_seasonal_series(500, 3, random_state=42)
    b = make_seasonal_series(500, 3, random_state=42)
    c = make_seasonal_series(500, 3, random_state=43)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    g1 = make_seasonal_series(100, 2, random_state=np.random.default_rng(5))
    g2 = make_seasonal_series(100, 2, random_state=np.random.default_rng(5))
    np.testing.assert_array_equal(g1, g2)
    assert make_seasonal_series(100, 2).shape == (100, 2)


def test_make_seasonal_series_noise_and_correlation():
    X = make_seasonal_series(4000, 6, noise=0.0, random_state=3)
    corr = np.corrcoef(X.T)
    off = np.abs(corr[~np.eye(6, dtype=bool)])
    assert off.mean() > 0.1  # channels share a latent component
    Y = make_seasonal_series(4000, 6, noise=1.0, random_state=3)
    assert np.std(Y - X) == pytest.approx(1.0, rel=0.05)


def test_make_seasonal_series_as_frame():
    df = make_seasonal_series(50, 3, random_state=0, as_frame=True)
    np.testing.assert_array_equal(df.to_numpy(), make_seasonal_series(50, 3, random_state=0))
    assert list(df.columns) == ["x0", "x1", "x2"]
    assert df.index.name == "date" and isinstance(df.index, pd.DatetimeIndex)
    assert df.index[0] == pd.Timestamp("2016-07-01")
    assert df.index[1] - df.index[0] == pd.Timedelta(hours=1)


@pytest.mark.parametrize(
    "kwargs, param",
    [
        ({"n_timesteps": 1}, "n_timesteps"),
        ({"n_timesteps": 10.5}, "n_timesteps"),
        ({"n_channels": 0}, "n_channels"),
        ({"periods": (24, -1)}, "periods"),
        ({"periods": ()}, "periods"),
        ({"periods": (0,)}, "periods"),
        ({"noise": -0.1}, "noise"),
        ({"trend": float("nan")}, "trend"),
        ({"random_state": "seed"}, "random_state"),
    ],
)
def test_make_seasonal_series_bad_params(kwargs, param):
    with pytest.raises(ValueError, match=param):
        make_seasonal_series(**kwargs)
