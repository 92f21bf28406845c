"""The distiller contract shared by every skdd estimator.

A distiller is a parametrization of the synthetic set, a matching objective and one
optimisation loop. :class:`BaseDistiller` owns what every distiller shares: parameter
handling in the scikit-learn way, device resolution, local seeding, the torch thread
count, the optimisation loop with its progress bar, checkpoint/resume, and saving the
distilled set. Subclasses implement ``_fit(data, device)`` and set their fitted
attributes; optimising ones call :meth:`BaseDistiller._optimize` with a module that
owns the learnable tensors and a loss closure.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, validate_data

from .utils import check_positive_int, resolve_device, seeded, torch_threads

__all__ = ["BaseDistiller", "BaseForecastDistiller", "LabelledSamplerMixin", "observe_optimization"]

# Parameters that change how a fit is run or reported but not what it computes; they
# are left out of a checkpoint's fingerprint so a resumed fit may change them.
_RUN_ONLY_PARAMS = frozenset({"verbose", "checkpoint_path", "checkpoint_every", "n_threads"})


def _equal(a, b):
    """``a == b`` as a plain bool (False where the comparison is not one)."""
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


_OBSERVERS = []


@contextlib.contextmanager
def observe_optimization(callback):
    """Call ``callback(distiller, iteration, synthetic)`` after every update of any
    distiller's optimisation loop run inside the block.

    ``iteration`` counts completed updates (1 after the first); ``synthetic`` is the
    module that renders the synthetic data (call it under ``torch.no_grad()``). The
    callback must not draw from torch's random number generator (that would change the
    run it observes). Use it to monitor a distillation (e.g. how a property of the
    synthetic data evolves) without changing the estimator's parameters.

    Examples
    --------
    >>> import numpy as np
    >>> from skdd import HarmonicDistiller
    >>> from skdd.base import observe_optimization
    >>> from skdd.datasets import make_seasonal_series
    >>> seen = []
    >>> est = HarmonicDistiller(length=40, seq_len=12, pred_len=12, n_harmonics=4, max_iter=3,
    ...                         n_experts=1, expert_epochs=1, batch_size=8, random_state=0)
    >>> with observe_optimization(lambda d, it, syn: seen.append(it)):
    ...     _ = est.fit(make_seasonal_series(300, 2, random_state=0))
    >>> seen
    [1, 2, 3]
    """
    _OBSERVERS.append(callback)
    try:
        yield callback
    finally:
        _OBSERVERS.remove(callback)


class BaseDistiller(BaseEstimator):
    """Base class of all distillers (not used directly).

    Subclasses store their parameters in ``__init__`` without validation and implement
    ``_fit(data, device)``. :meth:`fit` resolves ``device`` and ``random_state``, sets the
    torch thread count and runs ``_fit`` inside :func:`torch.random.fork_rng`, so equal
    seeds give identical synthetic data and the caller's RNG state is untouched.

    Common fitted attributes: ``loss_curve_`` (ndarray of per-iteration losses),
    ``n_iter_`` (iterations run), ``device_`` (the device used, as a string),
    ``seed_`` (the integer seed the fit used).
    """

    #: parameters left out of a checkpoint's fingerprint (they do not change the result)
    _run_only_params = _RUN_ONLY_PARAMS
    #: parameters added after checkpoints of the class were written, with the value that
    #: computes what the class computed before: at that value they are left out of the
    #: fingerprint, so those checkpoints stay valid
    _fingerprint_neutral = {}

    # -- sklearn plumbing ---------------------------------------------------------
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False
        tags.input_tags.allow_nan = False
        tags.non_deterministic = False
        return tags

    # -- public API -----------------------------------------------------------------
    def fit(self, X, y=None):
        """Learn the synthetic set from the training data ``X`` (and labels ``y``)."""
        data = self._validate_fit_input(X, y)
        device = resolve_device(getattr(self, "device", "cpu"))
        with torch_threads(getattr(self, "n_threads", None), device):
            with seeded(getattr(self, "random_state", None), device) as seed:
                self.seed_ = seed
                self._fit(data, device)
        self.device_ = str(device)
        return self

    def fit_resample(self, X, y=None):
        """Fit, then return the synthetic set (the imbalanced-learn sampler protocol)."""
        return self.fit(X, y)._synthetic_output()

    def save_distilled(self, path):
        """Save the distilled set to ``path`` (``.npz`` with JSON metadata, no pickle).

        Read it back with :func:`skdd.load_distilled`.
        """
        check_is_fitted(self)
        from .io import save_distilled

        return save_distilled(self, path)

    # -- hooks for subclasses -------------------------------------------------------
    def _validate_fit_input(self, X, y):  # pragma: no cover - abstract
        raise NotImplementedError

    def _fit(self, data, device):  # pragma: no cover - abstract
        raise NotImplementedError

    def _synthetic_output(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _distilled_arrays(self):
        """Arrays written by :meth:`save_distilled` (name -> ndarray)."""
        return {"X_syn": self.X_syn_}

    def _distilled_metadata(self):
        """JSON-serialisable metadata written by :meth:`save_distilled`."""
        return {}

    # -- the optimisation loop ------------------------------------------------------
    def _optimize(self, synthetic, loss_fn, *, data_fingerprint, lr, max_iter,
                  state_modules=(), optimizer="adam", betas=(0.9, 0.999),
                  schedule="constant", after_step=None, checkpoint=True):
        """Run the one optimisation loop shared by every distiller.

        Parameters
        ----------
        synthetic : torch.nn.Module
            Owns the learnable tensors (a parametrization, possibly with extra learnable
            scalars such as a synthetic learning rate). If it has a method
            ``param_groups(lr)``, its groups (with their own learning rates) are used.
        loss_fn : callable
            ``loss_fn(iteration) -> scalar tensor``. It draws randomness only from torch's
            global RNG (seeded by :meth:`fit`), never from NumPy, so that a resumed run
            continues the exact random stream.
        data_fingerprint : str
            Identifies the training data; a checkpoint written for other data or other
            parameters is refused.
        lr, max_iter : float, int
            Learning rate and number of iterations.
        state_modules : sequence of torch.nn.Module
            Extra stateful modules (running statistics, a network trained between
            updates) saved in checkpoints; on an interrupt, their state from the start of
            the interrupted iteration is saved, so ``loss_fn`` may change them.
        optimizer : {"adam", "sgd"}
        schedule : {"constant", "cosine"}
        after_step : callable, optional
            ``after_step(iteration)`` after each update, under ``torch.no_grad`` (a
            projection such as CondTSF's value update). It must not draw random numbers.
        checkpoint : bool, default=True
            Use the estimator's ``checkpoint_path`` (when set). False for auxiliary runs
            inside one fit (e.g. a model selection) that must not share its checkpoint.

        Returns
        -------
        loss_curve : ndarray of shape (max_iter,)
        """
        if hasattr(synthetic, "param_groups"):
            params = synthetic.param_groups(lr)
        else:
            params = [p for p in synthetic.parameters() if p.requires_grad]
        if optimizer == "adam":
            opt = torch.optim.Adam(params, lr=lr, betas=betas)
        elif optimizer == "sgd":
            opt = torch.optim.SGD(params, lr=lr, momentum=0.5)
        else:  # pragma: no cover - guarded by subclasses
            raise ValueError(f"optimizer={optimizer!r} is not supported; use 'adam' or 'sgd'.")
        if schedule == "cosine":
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(max_iter, 1))
        else:
            sched = None

        checkpoint = _Checkpoint.from_estimator(self, data_fingerprint) if checkpoint else None
        losses = []
        start = 0
        if checkpoint is not None and checkpoint.exists():
            state = checkpoint.load()
            synthetic.load_state_dict(state["synthetic"])
            opt.load_state_dict(state["optimizer"])
            if sched is not None:
                sched.load_state_dict(state["scheduler"])
            for module, sd in zip(state_modules, state["state_modules"]):
                module.load_state_dict(sd)
            _set_rng_state(state["rng"])
            losses = list(state["loss_curve"])
            start = int(state["iteration"])

        def module_states():
            return [{k: v.detach().clone() for k, v in m.state_dict().items()}
                    for m in state_modules]

        def snapshot(iteration, rng_state, modules=None):
            return {
                "synthetic": synthetic.state_dict(),
                "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict() if sched is not None else {},
                "state_modules": modules if modules is not None else module_states(),
                "rng": rng_state,
                "loss_curve": [float(v) for v in losses],
                "iteration": int(iteration),
            }

        progress = _progress(getattr(self, "verbose", 0), start, max_iter, type(self).__name__)
        pending = []  # detached losses not yet turned into floats (avoids a sync per step)

        def flush():
            if pending:
                losses.extend(torch.stack(pending).cpu().tolist())
                pending.clear()

        iteration = saved_at = start
        stepped = False
        rng_at_start = None
        modules_at_start = None
        try:
            while iteration < max_iter:
                rng_at_start = _get_rng_state()
                if checkpoint is not None and state_modules:
                    # the loss may change these modules (e.g. train a network) before an
                    # interrupt: keep their state at the start of the iteration
                    modules_at_start = module_states()
                stepped = False
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(iteration)
                if not torch.isfinite(loss.detach()):
                    raise FloatingPointError(
                        f"{type(self).__name__}: the loss became {float(loss.detach())} at iteration "
                        f"{iteration}; lower lr (now {lr})."
                    )
                loss.backward()
                opt.step()
                stepped = True
                if after_step is not None:
                    with torch.no_grad():
                        after_step(iteration)
                if sched is not None:
                    sched.step()
                pending.append(loss.detach())
                iteration += 1
                stepped = False
                # an interrupt from here on saves the state as it is now: iteration
                # `iteration` has not drawn anything yet
                rng_at_start = modules_at_start = None
                for observer in list(_OBSERVERS):
                    observer(self, iteration, synthetic)
                if progress is not None and (iteration % 10 == 0 or iteration == max_iter):
                    flush()
                    progress.update(iteration - progress.n)
                    progress.set_postfix(loss=f"{losses[-1]:.4g}")
                if checkpoint is not None and checkpoint.due(iteration):
                    flush()
                    checkpoint.save(snapshot(iteration, _get_rng_state()))
                    saved_at = iteration
        except KeyboardInterrupt:
            # Save a consistent state: if the interrupt came before the update of this
            # iteration, restart it from its first random draw.
            flush()
            if checkpoint is not None:
                if stepped:  # the update happened but the bookkeeping did not
                    losses.append(float("nan"))
                    checkpoint.save(snapshot(iteration + 1, _get_rng_state()))
                else:
                    checkpoint.save(snapshot(iteration, rng_at_start or _get_rng_state(),
                                             modules_at_start))
            raise
        finally:
            if progress is not None:
                progress.close()
        flush()
        if checkpoint is not None and saved_at != iteration:
            checkpoint.save(snapshot(iteration, _get_rng_state()))
        self.n_iter_ = int(iteration)
        return np.asarray(losses, dtype=float)

    def _params_fingerprint(self):
        neutral = self._fingerprint_neutral
        # a parameter left at None ("choose from the data") is fingerprinted by the value
        # the fit chose (``_fingerprint_resolved``, set in ``fit``), so a default that
        # became data-dependent keeps the checkpoints written when it was that value
        resolved = getattr(self, "_fingerprint_resolved", {})
        params = {k: repr(resolved[k] if v is None and k in resolved else v)
                  for k, v in sorted(self.get_params(deep=False).items())
                  if k not in self._run_only_params
                  and not (k in neutral and _equal(v, neutral[k]))}
        return json.dumps({"class": type(self).__name__, "params": params}, sort_keys=True)


class BaseForecastDistiller(BaseDistiller):
    """Base class of forecasting distillers: one series ``(T, C)`` in, one ``(M, C)`` out.

    Subclasses have the parameters ``length`` (M), ``seq_len`` and ``pred_len``. ``fit``
    takes the training series as an array or DataFrame; ``fit_resample`` returns the
    synthetic series, as a DataFrame with the same columns and an index of the same type
    when the input was a DataFrame.

    Fitted attributes: ``X_syn_`` (ndarray (M, C), float32), ``n_features_in_``,
    ``feature_names_in_`` (for DataFrame input), plus those of :class:`BaseDistiller`.
    """

    def _min_series_length(self):
        """Shortest training series the method accepts (default: ``length``)."""
        return self.length

    def _check_window_params(self):
        length = check_positive_int(self.length, "length")
        seq_len = check_positive_int(self.seq_len, "seq_len")
        pred_len = check_positive_int(self.pred_len, "pred_len")
        if length < seq_len + pred_len:
            raise ValueError(
                f"length={length} is below seq_len + pred_len = {seq_len + pred_len}: the "
                "synthetic series must hold at least one (input, target) window."
            )
        return length, seq_len, pred_len

    def _validate_fit_input(self, X, y=None):
        self._check_window_params()
        if isinstance(X, pd.Series):
            X = X.to_frame()
        ndim = X.ndim if hasattr(X, "ndim") else np.ndim(X)
        if ndim != 2:
            raise ValueError(
                f"X (the training series) must be 2-D (n_timesteps, n_channels), got {ndim}-D "
                f"input of shape {np.shape(X)}; reshape one channel with X.reshape(-1, 1)."
            )
        self._index_template = _index_template(X) if isinstance(X, pd.DataFrame) else None
        arr = validate_data(self, X, reset=True, dtype=[np.float64, np.float32],
                            ensure_all_finite=True, ensure_min_samples=1)
        arr = np.ascontiguousarray(arr, dtype=np.float32)
        needed = self._min_series_length()
        if arr.shape[0] < needed:
            raise ValueError(
                f"X has n_samples = {arr.shape[0]} time steps, too short for "
                f"{type(self).__name__}(length={self.length}, seq_len={self.seq_len}, "
                f"pred_len={self.pred_len}): at least {needed} are needed."
            )
        return arr

    @staticmethod
    def _standardize(series):
        """Per-channel standardisation used inside optimising distillers.

        Learning rates then mean the same on any scale; the synthetic series is mapped back
        with :meth:`_unstandardize`. Constant channels get unit scale.
        """
        mean = series.mean(0, keepdims=True)
        scale = series.std(0, keepdims=True)
        scale = np.where(scale > 1e-8 * np.maximum(np.abs(mean), 1.0), scale, 1.0)
        return ((series - mean) / scale).astype(np.float32), (mean, scale)

    @staticmethod
    def _unstandardize(synthetic, stats):
        mean, scale = stats
        return (synthetic * scale + mean).astype(np.float32)

    def _synthetic_output(self):
        check_is_fitted(self, "X_syn_")
        if self._index_template is None:
            return self.X_syn_.copy()
        columns = getattr(self, "feature_names_in_", None)
        return pd.DataFrame(self.X_syn_.copy(), columns=columns,
                            index=_make_index(self._index_template, len(self.X_syn_)))

    def _distilled_metadata(self):
        names = getattr(self, "feature_names_in_", None)
        return {"kind": "forecast",
                "channel_names": None if names is None else [str(n) for n in names]}



class LabelledSamplerMixin:
    """``fit_resample`` of distillers of labelled rows: ``(X_syn, y_syn)`` in the
    containers of the input, as imbalanced-learn's samplers return them.

    A DataFrame ``X`` gives a DataFrame ``X_syn`` with the same columns (and a fresh
    ``RangeIndex``: synthetic rows have no place in the input's index); a Series ``y``
    gives a Series ``y_syn`` with the same name and dtype, a DataFrame ``y`` a DataFrame
    with the same columns. Arrays (images and series ``(n, C, ...)`` included) give
    arrays. The fitted attributes ``X_syn_`` and ``y_syn_`` stay NumPy arrays.
    """

    def fit_resample(self, X, y):
        """Fit, then return the synthetic set ``(X_syn, y_syn)`` (the imbalanced-learn
        sampler protocol), in the containers of ``X`` and ``y``."""
        X_syn, y_syn = self.fit(X, y)._synthetic_output()
        return _like_input(X_syn, X), _like_input(y_syn, y)

    def _synthetic_output(self):
        check_is_fitted(self, "X_syn_")
        return self.X_syn_.copy(), self.y_syn_.copy()


def _like_input(values, template):
    """``values`` in the pandas container of ``template`` (a DataFrame keeps its columns, a
    Series its name and dtype); ``values`` itself when ``template`` is not pandas."""
    if isinstance(template, pd.Series) and values.ndim == 1:
        out = pd.Series(values, name=template.name)
        with contextlib.suppress(TypeError, ValueError):
            out = out.astype(template.dtype)
        return out
    if isinstance(template, pd.DataFrame) and values.ndim == 2 \
            and values.shape[1] == template.shape[1]:
        return pd.DataFrame(values, columns=template.columns)
    return values

# ----------------------------------------------------------------------------------
def data_fingerprint(*arrays):
    """A short hash identifying training arrays (used to match checkpoints to data)."""
    h = hashlib.sha1()
    for a in arrays:
        if a is None:
            continue
        a = np.ascontiguousarray(a)
        h.update(str((a.shape, a.dtype.str)).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _index_template(frame):
    index = frame.index
    if isinstance(index, pd.DatetimeIndex):
        freq = index.freq or (pd.infer_freq(index) if len(index) >= 3 else None)
        if freq is None and len(index) >= 2:  # irregular: the median spacing
            freq = pd.Series(index).diff().median()
        return ("datetime", index[0] if len(index) else None, freq, index.name)
    if isinstance(index, pd.PeriodIndex):
        return ("period", index[0] if len(index) else None, index.freq, index.name)
    return ("range", None, None, index.name)


def _make_index(template, n):
    """An index of ``n`` steps of the input's kind: same start (and time zone), frequency
    and name."""
    kind, start, freq, name = template
    if kind == "datetime" and start is not None:
        return pd.date_range(start=start, periods=n, freq=freq or "h", name=name)
    if kind == "period" and start is not None:
        return pd.period_range(start=start, periods=n, freq=freq, name=name)
    return pd.RangeIndex(n, name=name)


def _get_rng_state():
    state = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state):
    torch.set_rng_state(state["cpu"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _progress(verbose, start, total, desc):
    if not verbose or verbose < 1:
        return None
    from tqdm.auto import tqdm

    # leave=None: the bar stays when it is the only one, and clears when it runs under an
    # enclosing bar (the benchmark runner's bar over its runs)
    return tqdm(total=total, initial=start, desc=desc, leave=None, dynamic_ncols=True)


#: A long loop also saves its checkpoint once this many wall-clock seconds have passed
#: since the last save, so a killed run loses at most about this much work however slow
#: its iterations are (:func:`skdd.classification.fit_classifier` saves on this alone).
CHECKPOINT_SECONDS = 30.0


class _Checkpoint:
    """Periodic, atomic checkpoints of a loop (``torch.save``, weights only).

    A step is :meth:`due` for a save every ``every`` steps (``None``: never by count) and
    whenever :data:`CHECKPOINT_SECONDS` have passed since the last save.
    """

    def __init__(self, path, every, fingerprint):
        self.path = Path(path)
        self.every = every
        self.fingerprint = fingerprint
        self._last_save = time.perf_counter()

    def due(self, step):
        return ((self.every is not None and step % self.every == 0)
                or time.perf_counter() - self._last_save >= CHECKPOINT_SECONDS)

    @classmethod
    def from_estimator(cls, est, data_fp):
        path = getattr(est, "checkpoint_path", None)
        if path is None:
            return None
        every = check_positive_int(getattr(est, "checkpoint_every", 100), "checkpoint_every")
        fingerprint = hashlib.sha1(
            (est._params_fingerprint() + data_fp).encode()).hexdigest()
        return cls(os.fspath(path), every, fingerprint)

    def exists(self):
        return self.path.exists()

    def load(self):
        state = torch.load(self.path, map_location="cpu", weights_only=True)
        if state.get("fingerprint") != self.fingerprint:
            raise ValueError(
                f"checkpoint_path={str(self.path)!r} holds a checkpoint of another fit "
                "(different parameters, a default changed since it was written, or different "
                "training data); delete it or choose another path."
            )
        return state

    def save(self, state):
        state = dict(state, fingerprint=self.fingerprint)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        torch.save(state, tmp)
        os.replace(tmp, self.path)
        self._last_save = time.perf_counter()
