"""sktime integration: distillation inside sktime's forecasting workflows.

- :class:`DistilledForecaster` fits any sktime forecaster on a distilled series only, then
  hands it the real series as context (``update(..., update_params=False)``), so it
  works with :func:`sktime.forecasting.model_evaluation.evaluate` and
  :class:`~sktime.forecasting.model_selection.ForecastingGridSearchCV` over
  ``distiller__*`` parameters.
- :class:`DistillerTransformer` wraps any forecasting distiller as an sktime transformer
  (``fit_transform(series)`` returns the synthetic series).
- :class:`NeuralForecaster` adapts skdd's forecasting backbones (DLinear, iTransformer,
  xPatch) to sktime, trained with :func:`skdd.forecasting.fit_forecaster`.

sktime is an optional dependency (``pip install "skdd[sktime]"``): ``import skdd`` never
imports it; this module does, and its classes raise an ImportError naming the missing
package when sktime is absent.
"""
from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd

from .base import data_fingerprint
from .forecasting import fit_forecaster, get_recipe
from .nn import check_forecasting_backbone
from .utils import check_positive_int, torch_threads

__all__ = ["DistilledForecaster", "DistillerTransformer", "NeuralForecaster"]

try:
    from sktime.forecasting.base import BaseForecaster
    from sktime.forecasting.base._delegate import _DelegatedForecaster
    from sktime.transformations.base import BaseTransformer
except ImportError as _exc:  # pragma: no cover - exercised only without sktime
    _SKTIME_ERROR = _exc

    class _MissingSktime:
        """Stand-in base class when sktime is not installed."""

        def __init__(self, *args, **kwargs):
            raise ImportError(
                f"{type(self).__name__} needs sktime, which is not installed; install it with "
                "pip install 'skdd[sktime]'.") from _SKTIME_ERROR

    BaseForecaster = _DelegatedForecaster = BaseTransformer = _MissingSktime

_AUTHORS = ["skdd developers"]


def _distil_frame(distiller, y):
    """Run a forecasting distiller on the DataFrame ``y``; return the synthetic DataFrame.

    The synthetic series keeps ``y``'s columns. It is indexed by the first ``M`` time
    points of ``y`` (which is what a forecasting distiller's DataFrame output holds for
    a regular index; this also keeps integer, time-zone-aware and irregular indices), so
    its index has the type and frequency of the real series.
    """
    out = distiller.fit_resample(y)
    if isinstance(out, tuple):
        raise ValueError(
            f"distiller={type(distiller).__name__} returned a tuple from fit_resample; a "
            "forecasting distiller (one series in, one synthetic series out) is needed. "
            "Labelled distillers go into skdd.compose.DistilledClassifier.")
    values = np.asarray(out)
    if values.ndim != 2 or values.shape[1] != y.shape[1]:
        raise ValueError(
            f"distiller={type(distiller).__name__} returned shape {values.shape}; a series of "
            f"shape (M, {y.shape[1]}) was expected.")
    if len(values) <= len(y):
        index = y.index[:len(values)]
    else:  # longer than the real series: the distiller's own index
        index = getattr(out, "index", pd.RangeIndex(len(values)))
    return pd.DataFrame(values, index=index, columns=y.columns)


class DistilledForecaster(_DelegatedForecaster):
    """An sktime forecaster trained on a distilled series and run on the real one.

    ``fit(y)`` distils ``y`` with a clone of ``distiller``, fits a clone of
    ``forecaster`` on the synthetic series only, then gives it the real series as
    context with ``update(y, update_params=False)``: the inner forecaster never trains
    on real data, but forecasts from the real history. ``predict`` (and prediction
    intervals, when the inner forecaster has them) are the inner forecaster's.

    ``update(y_new, update_params=False)`` passes new real observations on as context;
    ``update_params=True`` distils everything seen so far again and refits the inner
    forecaster on the new synthetic series (still never on real data). So
    ``evaluate(..., strategy="no-update_params")`` distils once and scores every
    window, ``strategy="refit"`` distils per fold.

    The synthetic series carries the columns of ``y`` and the index of its first ``M``
    time points (the same index type and frequency), so the inner forecaster sees a
    regular series of the same kind; the real context then replaces it.

    Parameters
    ----------
    distiller : skdd forecasting distiller
        E.g. :class:`skdd.HarmonicDistiller` or :class:`skdd.RandomSegmentDistiller`; its
        ``fit_resample(series)`` returns the synthetic series.
    forecaster : sktime forecaster
        Any forecaster that uses the data passed by ``update`` as context, e.g.
        :class:`NeuralForecaster`, sktime's ``LTSFDLinearForecaster`` or
        ``NaiveForecaster`` (a forecaster whose state ignores ``update`` with
        ``update_params=False`` would forecast from the synthetic series' end).

    Attributes
    ----------
    distiller_ : fitted distiller
        Its ``loss_curve_`` etc.; ``distiller_.save_distilled(path)`` saves the set.
    synthetic_ : pandas.DataFrame of shape (M, n_columns)
        The synthetic series the inner forecaster was trained on.
    forecaster_ : fitted sktime forecaster

    Examples
    --------
    >>> from sktime.datasets import load_airline
    >>> from sktime.forecasting.naive import NaiveForecaster
    >>> from skdd import RandomSegmentDistiller
    >>> from skdd.sktime import DistilledForecaster
    >>> y = load_airline()
    >>> f = DistilledForecaster(RandomSegmentDistiller(length=36, seq_len=12, pred_len=12,
    ...                                                random_state=0),
    ...                         NaiveForecaster(strategy="last")).fit(y, fh=[1, 2, 3])
    >>> f.synthetic_.shape
    (36, 1)
    >>> f.predict().tolist()  # the last real value: forecasts start from the real history
    [432.0, 432.0, 432.0]
    """

    _tags = {
        "authors": _AUTHORS,
        "maintainers": _AUTHORS,
        "y_inner_mtype": "pd.DataFrame",
        "X_inner_mtype": "pd.DataFrame",
        "capability:multivariate": True,
        "capability:exogenous": False,
        "capability:insample": False,
        "capability:pred_int": False,
        "capability:pred_int:insample": False,
        "capability:missing_values": False,
        "capability:update": True,
        "requires-fh-in-fit": False,
        "fit_is_empty": False,
    }

    # the data seen is kept in _seen by this class; sktime's own copy is not needed
    _config = {"remember_data": False}

    _delegate_name = "forecaster_"

    def __init__(self, distiller, forecaster):
        self.distiller = distiller
        self.forecaster = forecaster
        super().__init__()
        self._y = self._X = None  # sktime's copy, kept only if remember_data is switched on
        if hasattr(forecaster, "get_tag"):
            self.clone_tags(forecaster, ["requires-fh-in-fit", "capability:pred_int"])

    def _fit(self, y, X, fh):
        from sklearn.base import clone

        if not hasattr(self.distiller, "fit_resample"):
            raise ValueError(f"distiller={self.distiller!r} has no fit_resample method.")
        if not hasattr(self.forecaster, "get_tag") or not hasattr(self.forecaster, "update"):
            raise ValueError(f"forecaster={self.forecaster!r} is not an sktime forecaster.")
        self.distiller_ = clone(self.distiller)
        self.synthetic_ = _distil_frame(self.distiller_, y)
        with warnings.catch_warnings():  # sktime repeats a notice on every clone
            warnings.filterwarnings("ignore", message="The default of config ``remember_data``")
            self.forecaster_ = self.forecaster.clone()
        self.forecaster_.fit(y=self.synthetic_, fh=fh)
        self.forecaster_.update(y=y, update_params=False)
        self._seen = y
        return self

    def _update(self, y, X=None, update_params=True):
        from sktime.datatypes import update_data

        seen = update_data(self._seen, y)
        if update_params:  # distil all data seen so far again
            return self._fit(seen, X=None, fh=self._fh)
        self.forecaster_.update(y=y, update_params=False)
        self._seen = seen
        return self

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        """Cheap settings for sktime's estimator checks.

        Returns
        -------
        list of dict
        """
        from sktime.forecasting.naive import NaiveForecaster

        from .forecasting import RandomSegmentDistiller

        return [
            {"distiller": RandomSegmentDistiller(length=6, seq_len=3, pred_len=3, random_state=0),
             "forecaster": NaiveForecaster()},
            {"distiller": RandomSegmentDistiller(length=8, seq_len=4, pred_len=4, random_state=1),
             "forecaster": NaiveForecaster(strategy="drift")},
        ]


class DistillerTransformer(BaseTransformer):
    """An sktime transformer that replaces a series by its distilled version.

    ``fit(X)`` distils the series ``X`` with a clone of ``distiller``;
    ``transform(X)`` returns the synthetic series, of length ``M``, with ``X``'s columns
    and the index of its first ``M`` time points. Transforming the series seen in fit
    returns the stored result; another series is distilled afresh (with a new clone,
    leaving the fitted state alone). So ``fit_transform(series)`` is the standalone
    distillation of one series, and panels are distilled series by series.

    Parameters
    ----------
    distiller : skdd forecasting distiller

    Attributes
    ----------
    distiller_ : fitted distiller (of the series seen in fit)
    synthetic_ : pandas.DataFrame of shape (M, n_columns)

    Examples
    --------
    >>> from skdd import RandomSegmentDistiller
    >>> from skdd.datasets import make_seasonal_series
    >>> from skdd.sktime import DistillerTransformer
    >>> series = make_seasonal_series(200, 2, random_state=0, as_frame=True)
    >>> t = DistillerTransformer(RandomSegmentDistiller(length=48, seq_len=12, pred_len=12,
    ...                                                 random_state=0))
    >>> t.fit_transform(series).shape
    (48, 2)
    """

    _tags = {
        "authors": _AUTHORS,
        "maintainers": _AUTHORS,
        "scitype:transform-input": "Series",
        "scitype:transform-output": "Series",
        "scitype:instancewise": True,
        "scitype:transform-labels": "None",
        "X_inner_mtype": "pd.DataFrame",
        "y_inner_mtype": "None",
        "capability:multivariate": True,
        "capability:missing_values": False,
        "capability:inverse_transform": False,
        "fit_is_empty": False,
        "requires_y": False,
        "transform-returns-same-time-index": False,
    }

    def __init__(self, distiller):
        self.distiller = distiller
        super().__init__()

    def _fit(self, X, y=None):
        from sklearn.base import clone

        self.distiller_ = clone(self.distiller)
        self.synthetic_ = _distil_frame(self.distiller_, X)
        self._fingerprint = self._key(X)
        return self

    @staticmethod
    def _key(X):
        return (tuple(map(str, X.columns)), tuple(map(str, X.index[[0, -1]])),
                data_fingerprint(X.to_numpy(dtype=np.float64)))

    def _transform(self, X, y=None):
        from sklearn.base import clone

        if self._key(X) == self._fingerprint:
            return self.synthetic_.copy()
        return _distil_frame(clone(self.distiller), X)

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        """Cheap settings for sktime's estimator checks.

        Returns
        -------
        list of dict
        """
        from .forecasting import RandomSegmentDistiller

        return [{"distiller": RandomSegmentDistiller(length=6, seq_len=3, pred_len=3,
                                                     random_state=0)},
                {"distiller": RandomSegmentDistiller(length=5, seq_len=2, pred_len=2,
                                                     random_state=1)}]


class NeuralForecaster(BaseForecaster):
    """skdd's forecasting backbones (DLinear, iTransformer, xPatch) as an sktime forecaster.

    ``fit(y)`` standardises each column of ``y`` (optional) and trains the backbone with
    :func:`skdd.forecasting.fit_forecaster` on all ``(seq_len, pred_len)`` windows of
    ``y``, under the fixed recipe skdd uses for synthetic series (override epochs, lr,
    batch size here). ``predict`` forecasts from the last ``seq_len`` observations seen
    (those of fit, or of the latest ``update``); horizons beyond ``pred_len`` are
    forecast recursively, feeding forecasts back as input.

    Parameters
    ----------
    backbone : {"dlinear", "itransformer", "xpatch"}, default="dlinear"
    seq_len : int, default=96
        Look-back window.
    pred_len : int, default=96
        Horizon of one forward pass.
    epochs, lr, batch_size : optional
        Replace the fields of the backbone's recipe for synthetic data
        (``skdd.forecasting.SYNTHETIC_RECIPES``).
    model_kwargs : dict, optional
        Extra backbone arguments (e.g. ``{"d_model": 64}`` for iTransformer).
    scale : bool, default=True
        Standardise each column with the statistics of the series seen in fit.
    device : str, default="auto"
    random_state : int or None, default=None
        Seeds the initialisation and the shuffling.
    n_threads : int, default=None
        Torch CPU threads (None: ``SKDD_NUM_THREADS`` or 1).

    Attributes
    ----------
    model_ : torch.nn.Module
        The trained backbone (eval mode).
    history_ : dict
        Training history from :func:`skdd.forecasting.fit_forecaster`.
    mean_, scale_ : ndarray of shape (n_columns,)
        The standardisation (zeros and ones when ``scale=False``).

    Examples
    --------
    >>> from skdd.datasets import make_seasonal_series
    >>> from skdd.sktime import NeuralForecaster
    >>> y = make_seasonal_series(300, 2, random_state=0, as_frame=True)
    >>> f = NeuralForecaster("dlinear", seq_len=48, pred_len=12, random_state=0)
    >>> f.fit(y[:250]).predict(fh=list(range(1, 25))).shape  # two passes of 12 steps
    (24, 2)
    """

    _tags = {
        "authors": _AUTHORS,
        "maintainers": _AUTHORS,
        "y_inner_mtype": "pd.DataFrame",
        "X_inner_mtype": "pd.DataFrame",
        "capability:multivariate": True,
        "capability:exogenous": False,
        "capability:insample": False,
        "capability:pred_int": False,
        "capability:missing_values": False,
        "capability:update": True,
        "capability:random_state": True,
        "property:randomness": "derandomized",
        "requires-fh-in-fit": False,
    }

    # the data seen is kept in _seen by this class; sktime's own copy is not needed
    _config = {"remember_data": False}

    def __init__(self, backbone="dlinear", seq_len=96, pred_len=96, epochs=None, lr=None,
                 batch_size=None, model_kwargs=None, scale=True, device="auto",
                 random_state=None, n_threads=None):
        self.backbone = backbone
        self.seq_len = seq_len
        self.pred_len = pred_len
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.model_kwargs = model_kwargs
        self.scale = scale
        self.device = device
        self.random_state = random_state
        self.n_threads = n_threads
        super().__init__()
        self._y = self._X = None  # sktime's copy, kept only if remember_data is switched on

    def _recipe(self):
        overrides = {k: getattr(self, k) for k in ("epochs", "lr", "batch_size")
                     if getattr(self, k) is not None}
        return dataclasses.replace(get_recipe(self.backbone, "synthetic"), **overrides)

    def _fit(self, y, X, fh):
        name = check_forecasting_backbone(self.backbone)
        seq_len = check_positive_int(self.seq_len, "seq_len")
        pred_len = check_positive_int(self.pred_len, "pred_len")
        if len(y) < seq_len + pred_len:
            raise ValueError(
                f"y has {len(y)} time points; NeuralForecaster(seq_len={seq_len}, "
                f"pred_len={pred_len}) trains on windows of seq_len + pred_len = "
                f"{seq_len + pred_len} points.")
        values = y.to_numpy(dtype=np.float64)
        if self.scale:
            self.mean_ = values.mean(0)
            std = values.std(0)
            self.scale_ = np.where(std > 1e-12, std, 1.0)
        else:
            self.mean_, self.scale_ = np.zeros(values.shape[1]), np.ones(values.shape[1])
        self.model_, self.history_ = fit_forecaster(
            name, self._to_model(values), seq_len=seq_len, pred_len=pred_len,
            recipe=self._recipe(), model_kwargs=self.model_kwargs, device=self.device,
            random_state=self.random_state, n_threads=self.n_threads)
        self._columns = y.columns
        self._seen = y
        return self

    def _to_model(self, values):
        return ((values - self.mean_) / self.scale_).astype(np.float32)

    def _update(self, y, X=None, update_params=True):
        from sktime.datatypes import update_data

        # all data seen so far; values at time points seen before are replaced
        seen = update_data(self._seen, y)
        if update_params:
            return self._fit(seen, X=None, fh=self._fh)
        self._seen = seen
        return self

    def _forecast(self, n_steps):
        """``n_steps`` forecasts from the last ``seq_len`` points seen, recursively past
        ``pred_len``."""
        import torch

        device = next(self.model_.parameters()).device
        context = self._to_model(self._seen.to_numpy(dtype=np.float64)[-self.seq_len:])
        window = torch.as_tensor(context[None], device=device)
        parts, done = [], 0
        with torch.no_grad(), torch_threads(self.n_threads, device):
            while done < n_steps:
                out = self.model_(window)
                parts.append(out[0])
                done += out.shape[1]
                window = torch.cat([window, out], dim=1)[:, -self.seq_len:]
        return torch.cat(parts)[:n_steps].cpu().numpy().astype(np.float64)

    def _predict(self, fh, X=None):
        steps = fh.to_relative(self.cutoff).to_numpy().astype(np.int64)
        forecast = self._forecast(int(steps.max()))[steps - 1]
        values = forecast * self.scale_ + self.mean_
        return pd.DataFrame(values, index=fh.to_absolute_index(self.cutoff),
                            columns=self._columns)

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        """Cheap settings for sktime's estimator checks.

        Returns
        -------
        list of dict
        """
        return [
            {"backbone": "dlinear", "seq_len": 4, "pred_len": 2, "epochs": 2,
             "model_kwargs": {"moving_avg": 3}, "device": "cpu", "random_state": 0},
            {"backbone": "xpatch", "seq_len": 6, "pred_len": 2, "epochs": 1,
             "model_kwargs": {"patch_len": 4, "stride": 2}, "device": "cpu",
             "random_state": 0, "scale": False},
        ]
