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
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, validate_data

from .utils import (MatchGradients, channel_scaling, check_float32_range, check_folder,
                    check_output_path, check_positive_int, check_same_on_ranks, check_verbose,
                    is_distributed, is_main_process, resolve_device, resolve_n_threads, seeded,
                    torch_threads)

__all__ = ["BaseDistiller", "BaseForecastDistiller", "LabelledSamplerMixin",
           "observe_optimization", "DIVERGENCE_FACTOR", "check_run_params"]

# Parameters that change how a fit is run or reported but not what it computes; they
# are left out of a checkpoint's fingerprint so a resumed fit may change them.
# ``n_threads`` is not one of them: torch's CPU reductions split their sums by thread
# count, so results differ in the last bits between thread counts; the fingerprint holds
# the thread count a fit used (see ``BaseDistiller._params_fingerprint``).
_RUN_ONLY_PARAMS = frozenset({"verbose", "checkpoint_path", "checkpoint_every"})

#: A fit whose synthetic data ends up larger than this many times the largest magnitude
#: of the real training data has diverged (a learning rate too high), even when every
#: value is finite: it raises FloatingPointError like a NaN loss.
DIVERGENCE_FACTOR = 1e4

#: Parameters naming folders where intermediate results are cached.
_CACHE_PARAMS = ("expert_cache", "teacher_cache")


def check_run_params(est):
    """Check the run settings every fit shares before any work starts.

    ``verbose`` (:func:`skdd.utils.check_verbose`), ``device``
    (:func:`skdd.utils.resolve_device`), that ``checkpoint_path`` can be written and that
    the cache folders (``expert_cache``, ``teacher_cache``) are folders, so a bad path
    fails at once, not at the first save after minutes of work. Records the CPU thread
    count the fit will use (``_threads_used``, for the checkpoint fingerprint). Returns
    the device.
    """
    check_verbose(getattr(est, "verbose", 0))
    device = resolve_device(getattr(est, "device", "cpu"))
    path = getattr(est, "checkpoint_path", None)
    if path is not None:
        check_output_path(path, "checkpoint_path")
    for name in _CACHE_PARAMS:
        folder = getattr(est, name, None)
        if folder is not None:
            check_folder(folder, name)
    est._threads_used = (resolve_n_threads(getattr(est, "n_threads", None))
                         if device.type == "cpu" else None)
    return device


def thread_tag(est):
    """What a disk cache key of ``est``'s intermediate results adds for its thread count:
    nothing for one thread (the default, and the keys written before the count was
    recorded) or a run off the CPU, else ``(("n_threads", count),)``."""
    threads = getattr(est, "_threads_used", None)
    return () if threads in (None, 1) else (("n_threads", threads),)


def _or_join(items):
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def divergence_error(est, what, lr=None):
    """FloatingPointError for a diverged fit of ``est``: ``what`` happened; the message
    names the learning-rate parameters of ``est`` that can cause it, with their values
    (``lr`` is the rate the loop used, for an ``lr`` parameter left at None)."""
    names = est._learning_rate_params()
    parts = []
    for name in names:
        value = getattr(est, name, None)
        if name == "lr" and lr is not None:
            value = lr
        parts.append(f"`{name}` ({value:.4g})" if isinstance(value, (int, float))
                     and not isinstance(value, bool) else f"`{name}` ({value!r})")
    return FloatingPointError(f"{type(est).__name__}: {what}; the optimisation diverged: "
                              f"lower {_or_join(parts)}.")


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
    ...                         n_experts=1, expert_epochs=1, expert_span=1, batch_size=8,
    ...                         random_state=0)
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

    Common parameters are checked before any work starts: ``device`` is "auto" (or
    None), "cpu", "cuda", "cuda:N" or a torch.device of those types (anything else raises
    ValueError listing them); ``verbose`` is a bool or an int >= 0 (None, floats and
    strings raise TypeError; 0 is silent); ``checkpoint_path`` must be writable and the
    cache folders must be folders. ``n_threads`` may change results in the last bits
    (torch's CPU reductions depend on the thread count), so a checkpoint records the
    thread count it was written with and is not resumed under another one.

    A fit whose loss becomes NaN or inf, whose learned parameters grow beyond
    :data:`DIVERGENCE_FACTOR` times their start (checked every 10 updates) or end
    non-finite, or whose synthetic data ends beyond :data:`DIVERGENCE_FACTOR` times the
    largest magnitude of the real data raises FloatingPointError naming the
    learning-rate parameters that can cause it.
    """

    #: the parameters that set a learning rate this estimator's fit can diverge with
    _learning_rates = ("lr",)

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
        device = check_run_params(self)
        data = self._validate_fit_input(X, y)
        with torch_threads(getattr(self, "n_threads", None), device):
            with seeded(getattr(self, "random_state", None), device) as seed:
                self.seed_ = seed
                self._fit(data, device)
        self.device_ = str(device)
        self._check_divergence(self._real_array(data))
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

    def _real_array(self, data):
        """The real training samples in ``data`` (what ``_validate_fit_input`` returned)
        that ``X_syn_`` is compared with after the fit; None skips the comparison."""
        return None

    def _learning_rate_params(self):
        """Names of the parameters whose learning rates can make this fit diverge."""
        return tuple(self._learning_rates)

    def _check_divergence(self, real):
        """Raise FloatingPointError if ``X_syn_`` is non-finite or beyond
        :data:`DIVERGENCE_FACTOR` times the real data's largest magnitude."""
        X_syn = getattr(self, "X_syn_", None)
        if real is None or X_syn is None:
            return
        X_syn = np.asarray(X_syn, dtype=np.float64)
        if not np.isfinite(X_syn).all():
            raise divergence_error(self, "the synthetic data became non-finite (NaN or inf) "
                                   "by the end of the fit", getattr(self, "lr_", None))
        peak_real = float(np.abs(real).max()) if np.size(real) else 0.0
        peak = float(np.abs(X_syn).max()) if X_syn.size else 0.0
        if peak_real > 0 and peak > DIVERGENCE_FACTOR * peak_real:
            raise divergence_error(
                self, f"the synthetic data reached max |X_syn| = {peak:.3g}, "
                f"{peak / peak_real:.3g} times the real data's max |X| = {peak_real:.3g} "
                f"(the limit is {DIVERGENCE_FACTOR:g} times)", getattr(self, "lr_", None))

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

        if is_distributed():
            check_same_on_ranks(self._params_fingerprint() + data_fingerprint,
                                "training data or parameters")
        checkpoint = _Checkpoint.from_estimator(self, data_fingerprint) if checkpoint else None
        if checkpoint is not None and not is_main_process():
            checkpoint.read_only = True  # rank 0 writes the checkpoint all ranks resume from
        losses = []
        start = 0
        if checkpoint is not None and checkpoint.exists():
            state = checkpoint.load(_Checkpoint.LOOP_KEYS)
            try:
                synthetic.load_state_dict(state["synthetic"])
                opt.load_state_dict(state["optimizer"])
                if sched is not None:
                    sched.load_state_dict(state["scheduler"])
                if len(state["state_modules"]) != len(state_modules):
                    raise ValueError(f"{len(state['state_modules'])} state modules stored, "
                                     f"{len(state_modules)} expected")
                for module, sd in zip(state_modules, state["state_modules"]):
                    module.load_state_dict(sd)
                _set_rng_state(state["rng"])
                losses = list(state["loss_curve"])
                start = int(state["iteration"])
            except (KeyError, IndexError, RuntimeError, TypeError, ValueError) as exc:
                raise checkpoint.corrupted(f"{type(exc).__name__}: {exc}") from exc

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

        progress = _progress(getattr(self, "verbose", 0) if is_main_process() else 0, start,
                             max_iter, type(self).__name__)
        pending = []  # detached losses not yet turned into floats (avoids a sync per step)

        def flush():
            if pending:
                losses.extend(torch.stack(pending).cpu().tolist())
                pending.clear()

        # parameters that grow far beyond their start have diverged (checked every
        # _DIVERGENCE_EVERY updates, so a long run stops early)
        start_peak = max(_peak(synthetic), 1.0)
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
                sharded = isinstance(loss, MatchGradients)
                if sharded:  # gradients taken per match: gathered over the ranks
                    loss = loss.reduce()
                if not torch.isfinite(loss.detach()):
                    raise divergence_error(
                        self, f"the loss became {float(loss.detach())} at iteration "
                        f"{iteration + 1} of {max_iter}", lr)
                if not sharded:
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
                if iteration % _DIVERGENCE_EVERY == 0:
                    peak = _peak(synthetic)
                    if peak > DIVERGENCE_FACTOR * start_peak:
                        raise divergence_error(
                            self, f"the learned parameters grew to max |value| = {peak:.3g} "
                            f"by iteration {iteration} of {max_iter}, beyond "
                            f"{DIVERGENCE_FACTOR:g} times their start", lr)
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
        with torch.no_grad():  # the last update itself may have overflowed
            bad = [name for name, p in synthetic.named_parameters()
                   if not bool(torch.isfinite(p).all())]
        if bad:
            raise divergence_error(
                self, f"the learned parameters {bad[:3]} became non-finite (NaN or inf) "
                f"by iteration {iteration} of {max_iter}", lr)
        if checkpoint is not None and saved_at != iteration:
            checkpoint.save(snapshot(iteration, _get_rng_state()))
        self.n_iter_ = int(iteration)
        return np.asarray(losses, dtype=float)

    def _params_fingerprint(self):
        neutral = self._fingerprint_neutral
        # a parameter left at None ("choose from the data") is fingerprinted by the value
        # the fit chose (``_fingerprint_resolved``, set in ``fit``), so a default that
        # became data-dependent keeps the checkpoints written when it was that value
        resolved = dict(getattr(self, "_fingerprint_resolved", {}))
        # parameters left at None that take a preset's value (``_preset_fingerprint``)
        preset_values = getattr(self, "_preset_fingerprint", None)
        if preset_values is not None:
            resolved.update(preset_values())
        all_params = self.get_params(deep=False)
        chosen = {k: resolved[k] if v is None and k in resolved else v
                  for k, v in all_params.items()}
        params = {k: repr(v) for k, v in sorted(chosen.items())
                  if k not in self._run_only_params and k != "n_threads"
                  and not (k in neutral and _equal(v, neutral[k]))}
        # the thread count used (set by ``check_run_params``); one thread, the default,
        # and runs off the CPU leave the fingerprint as it was before it was recorded
        if "n_threads" in all_params:
            params.update({k: repr(v) for k, v in thread_tag(self)})
        return json.dumps({"class": type(self).__name__, "params": params}, sort_keys=True)


class BaseForecastDistiller(BaseDistiller):
    """Base class of forecasting distillers: one series ``(T, C)`` in, one ``(M, C)`` out.

    Subclasses have the parameters ``length`` (M), ``seq_len`` and ``pred_len``. ``fit``
    takes the training series as an array or DataFrame; ``fit_resample`` returns the
    synthetic series, as a DataFrame with the same columns and an index of the same type
    when the input was a DataFrame.

    Fitted attributes: ``X_syn_`` (ndarray (M, C), float32), ``n_features_in_``,
    ``feature_names_in_`` (for DataFrame input), plus those of :class:`BaseDistiller`.

    ``fit(X, y)`` learns from the series ``X`` alone: a ``y`` other than None is ignored
    with a UserWarning (scikit-learn's tools pass one; a target series belongs in ``X`` as
    a channel). ``X`` must be finite and within float32's range (distillers compute in
    float32). Channels too close to constant for float32 to standardise (see
    :func:`skdd.utils.channel_scaling`) are held at their mean in the synthetic series.
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

    def fit(self, X, y=None):
        """Learn the synthetic series from the training series ``X``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_timesteps, n_channels)
            The training series (finite, within float32's range).
        y : None
            Ignored: forecasting distillers learn from ``X`` alone. A value other than
            None (scikit-learn's tools pass one) gives a UserWarning.

        Returns
        -------
        self
        """
        if y is not None:
            warnings.warn(
                f"{type(self).__name__}.fit ignores y: forecasting distillers learn from the "
                "series X alone (put a target series in X as a channel).", UserWarning,
                stacklevel=2)
        return super().fit(X, None)

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
        check_float32_range(arr, "X")
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
        with :meth:`_unstandardize`. Constant channels (:func:`skdd.utils.channel_scaling`)
        are only centred, and held at their mean by :meth:`_unstandardize`. Returns the
        scaled float32 series and ``(mean, scale, constant)``.
        """
        mean, scale, constant = channel_scaling(series, axes=(0,), dtype=series.dtype)
        return ((series - mean) / scale).astype(np.float32), (mean, scale, constant)

    @staticmethod
    def _unstandardize(synthetic, stats):
        mean, scale, constant = stats
        return np.where(constant, mean, synthetic * scale + mean).astype(np.float32)

    def _real_array(self, data):
        return data

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


#: updates between two checks of the learned parameters' size in the loop
_DIVERGENCE_EVERY = 10


def _peak(module):
    """Largest magnitude among ``module``'s parameters (NaN if one is NaN: the loop's final
    check reports those)."""
    with torch.no_grad():
        peaks = [p.detach().abs().max().float() for p in module.parameters() if p.numel()]
    return float(torch.stack(peaks).max()) if peaks else 0.0


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
        self.read_only = False  # True: save() does nothing (a data-parallel rank > 0)
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

    #: what a checkpoint of :meth:`BaseDistiller._optimize` holds
    LOOP_KEYS = ("synthetic", "optimizer", "scheduler", "state_modules", "rng", "loss_curve",
                 "iteration")

    def corrupted(self, detail):
        """The error for a checkpoint that cannot be resumed from."""
        return ValueError(
            f"checkpoint_path={str(self.path)!r} holds a corrupted or incomplete checkpoint "
            f"({detail}); delete the file (e.g. os.remove({str(self.path)!r})) to start the "
            "fit afresh, or choose another checkpoint_path.")

    def load(self, keys=()):
        """The saved state; a file that cannot be read, or that lacks one of ``keys`` or the
        fingerprint, raises :meth:`corrupted`'s error; one of another fit ValueError."""
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise self.corrupted(f"it could not be read: {type(exc).__name__}: {exc}") from exc
        if not isinstance(state, dict):
            raise self.corrupted(f"it holds a {type(state).__name__}, not a checkpoint")
        missing = [k for k in (*keys, "fingerprint") if k not in state]
        if missing:
            raise self.corrupted(f"it lacks {missing}")
        if state.get("fingerprint") != self.fingerprint:
            raise ValueError(
                f"checkpoint_path={str(self.path)!r} holds a checkpoint of another fit "
                "(different parameters, a default changed since it was written, or different "
                "training data); delete it or choose another path."
            )
        return state

    def save(self, state):
        if self.read_only:
            return
        state = dict(state, fingerprint=self.fingerprint)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        torch.save(state, tmp)
        os.replace(tmp, self.path)
        self._last_save = time.perf_counter()
