"""Name -> distiller factory registries used by the benchmark runner."""
from __future__ import annotations

FORECAST_DISTILLERS = {}


def register_forecast_distiller(name, factory):
    """Register ``factory(length, seq_len, pred_len, random_state, device, **params)``.

    The factory returns an unfitted forecasting distiller. ``name`` becomes a valid
    ``--distiller`` value of ``python -m skdd.benchmarks forecast``. The name ``full``
    is reserved for the full-data reference.
    """
    key = str(name).lower()
    if key == "full":
        raise ValueError("'full' is reserved for the full-data reference.")
    FORECAST_DISTILLERS[key] = factory
    return factory


def _forecasting_factory(class_name, **fixed):
    """A factory building ``skdd.forecasting.<class_name>`` with ``fixed`` parameters."""

    def factory(length, seq_len, pred_len, random_state, device, **params):
        from .. import forecasting

        cls = getattr(forecasting, class_name)
        return cls(length=length, seq_len=seq_len, pred_len=pred_len,
                   random_state=random_state, device=device, **{**fixed, **params})

    return factory


register_forecast_distiller("random", _forecasting_factory("RandomSegmentDistiller"))
register_forecast_distiller("mtt", _forecasting_factory("ForecastingMTTDistiller"))
register_forecast_distiller("condtsf", _forecasting_factory("CondTSFDistiller"))
register_forecast_distiller("hdt", _forecasting_factory("HarmonicDistiller"))
# HDT as its paper specifies it, with the values skdd chose where the paper is silent,
# pinned so that it stays the reproduction whatever HarmonicDistiller's defaults become
HDT_PAPER = {"n_harmonics": 48, "harmonic_weight": 0.1, "p": 2, "backbone": "dlinear",
             "window_norm": False, "parametrization": "fourier",
             "frequency_scale": "amplitude", "max_iter": 300, "lr": 0.4, "expert_steps": 10,
             "syn_steps": 10, "inner_lr": 0.1, "target": "harmonic_steps", "expert_span": 2,
             "batch_size": 64, "n_subsequences": 32, "n_experts": 5, "expert_epochs": 5}
register_forecast_distiller("hdt-paper", _forecasting_factory("HarmonicDistiller", **HDT_PAPER))
# the paper's ablations of HDT as specified: window gradient matching in the time domain
# ("base", with the time-domain learning rate chosen for MTT on validation), and
# frequency-domain decomposition without the harmonic loss
register_forecast_distiller("hdt-base", _forecasting_factory(
    "HarmonicDistiller", **{**HDT_PAPER, "parametrization": "time", "n_harmonics": None,
                            "harmonic_weight": 0.0, "lr": 0.03}))
register_forecast_distiller("hdt-noharm", _forecasting_factory(
    "HarmonicDistiller", **{**HDT_PAPER, "harmonic_weight": 0.0}))



def distributed_forecast_distillers():
    """Names of the forecasting distillers that split their work across the ranks of a
    torch.distributed process group (their estimators take ``n_matches``)."""
    return tuple(name for name, factory in FORECAST_DISTILLERS.items()
                 if "n_matches" in factory(length=384, seq_len=96, pred_len=96, random_state=0,
                                           device="cpu").get_params(deep=False))


CLASSIFY_DISTILLERS = {}


def register_classify_distiller(name, factory):
    """Register ``factory(ipc, random_state, device, **params)`` returning an unfitted
    classification distiller; ``name`` becomes a ``--distiller`` of the ``classify`` task.
    The name ``full`` is reserved for the full-data reference."""
    key = str(name).lower()
    if key == "full":
        raise ValueError("'full' is reserved for the full-data reference.")
    CLASSIFY_DISTILLERS[key] = factory
    return factory


def _classification_factory(class_name, **fixed):
    def factory(ipc, random_state, device, **params):
        from .. import classification

        cls = getattr(classification, class_name)
        return cls(ipc=ipc, random_state=random_state, device=device, **{**fixed, **params})

    return factory


register_classify_distiller("random", _classification_factory("RandomPerClassDistiller"))
register_classify_distiller("dc", _classification_factory("DCDistiller"))
register_classify_distiller("dm", _classification_factory("DMDistiller"))
register_classify_distiller("tm", _classification_factory("MTTDistiller"))
register_classify_distiller("fred", _classification_factory("FreDDistiller"))
register_classify_distiller("cfm", _classification_factory("CFMDistiller"))
register_classify_distiller("sre2l", _classification_factory("SRe2LDistiller"))
