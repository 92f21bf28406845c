"""Markdown tables from benchmark JSON files (``python -m skdd.benchmarks report``)."""
from __future__ import annotations

import json
from collections import defaultdict

import numpy as np


def _pm(values, digits=3):
    v = np.asarray(values, dtype=float)
    return f"{v.mean():.{digits}f} ± {v.std():.{digits}f}"


def _load_results(paths, task):
    """The JSON results among ``paths`` whose task is ``task``, in order."""
    for path in paths:
        with open(path) as fh:
            res = json.load(fh)
        if res.get("task") == task:
            yield res


def _split(res):
    """The split a result was scored on ("test" for files that predate ``eval_split``)."""
    return res.get("eval_split") or "test"


def _split_words(split):
    """How a table heading names a split."""
    return "cross-validated (training-split folds)" if split == "cv" else split


def _evaluation_name(res):
    """A classification result's dataset, marked when its evaluation trained with
    augmentation (a different protocol: such results get their own tables)."""
    augment = (res.get("recipe") or {}).get("augment", "none")
    if augment == "none":
        return res["dataset"]
    return (f"{res['dataset']}, trained with augment={augment!r} (a teacher, where there is "
            "one, labels every augmented batch)")


def _test_first(item):
    """Sort key of ``((..., split), value)`` items: by the rest of the key, test split first."""
    *rest, split = item[0]
    return tuple(rest), split != "test", split


def forecast_report(paths, metric="mse"):
    """One markdown table per dataset: rows are distillers (with length), columns models.

    Files for the same dataset, distiller, parameters and length are merged model by model
    (a later file's results for a model replace an earlier one's). Results scored on the
    validation split (``--eval-split val``) get their own tables, named so.

    When a dataset has both a ``random`` and a ``full`` result, each cell also shows the
    gap closure ``(MSE_random − MSE) / (MSE_random − MSE_full)`` of the mean MSEs, against
    the Random row of the same synthetic length when there is one.
    """
    runs, full = defaultdict(list), defaultdict(list)
    for res in _load_results(paths, "forecast"):
        key = (res["dataset"], res["seq_len"], res["pred_len"], res.get("protocol", "v1"),
               _split(res))
        runs[key].append(res)
        if res["distiller"] == "full":
            full[key[:3] + key[4:]].append(res)
    # Full data trains under the full-data recipe whatever the protocol, so a full-data
    # result joins the tables of every protocol of its dataset and split.
    for key in list(runs):
        others = [r for r in full[key[:3] + key[4:]] if r.get("protocol", "v1") != key[3]]
        if others and any(r["distiller"] != "full" for r in runs[key]):
            own = [r for r in runs[key] if r["distiller"] == "full"]
            runs[key] = [r for r in runs[key] if r["distiller"] != "full"] + [
                dict(r, protocol=key[3]) for r in others] + own
    # A table of full-data results alone repeats rows that another protocol's table shows.
    for key in [k for k, rs in runs.items() if all(r["distiller"] == "full" for r in rs)]:
        if any(k[:3] + k[4:] == key[:3] + key[4:] and k != key for k in runs):
            del runs[key]
    out = []
    for (dataset, L, H, protocol, split), results in sorted(runs.items(), key=_test_first):
        models = []
        for r in results:
            models += [m for m in r["results"] if m not in models]
        by_name = {}
        for r in results:
            key = (r["distiller"], r["length"], json.dumps(r.get("params") or {}, sort_keys=True))
            seeds = {m: len(r["seeds"]) for m in r["results"]}
            if key in by_name:
                merged = dict(by_name[key])
                merged["results"] = {**by_name[key]["results"], **r["results"]}
                merged["seeds_by_model"] = {**by_name[key]["seeds_by_model"], **seeds}
                by_name[key] = merged
            else:
                by_name[key] = dict(r, seeds_by_model=seeds)
        randoms = {k[1]: r for k, r in by_name.items() if k[0] == "random"}
        ref_full = next((r for k, r in by_name.items() if k[0] == "full"), None)
        label = "" if protocol == "v1" else f"protocol {protocol}, "
        out.append(f"**{dataset}**, {L} → {H}, {label}{split} {metric.upper()} (mean ± std over "
                   "seeds" + (", gap closure in brackets" if randoms and ref_full else "") + ")\n")
        out.append("| method | M | seeds | " + " | ".join(models) + " |")
        out.append("|---|---|---|" + "---|" * len(models))
        order = sorted(by_name, key=lambda k: (k[0] == "full", k[0] != "random", k[0], k[1], k[2]))
        for key in order:
            r = by_name[key]
            # gap closure against the Random row of the same length (else any Random row)
            ref_random = randoms.get(key[1], next(iter(randoms.values()), None))
            cells = []
            for m in models:
                if m not in r["results"]:
                    cells.append("")
                    continue
                vals = r["results"][m][metric]
                cell = _pm(vals)
                if ref_random and ref_full and m in ref_random["results"] \
                        and m in ref_full["results"] and r["distiller"] not in ("random", "full"):
                    rnd = np.mean(ref_random["results"][m][metric])
                    full = np.mean(ref_full["results"][m][metric])
                    if rnd != full:
                        cell += f" [{100 * (rnd - np.mean(vals)) / (rnd - full):.0f}%]"
                cells.append(cell)
            params = "" if not r.get("params") else " " + json.dumps(r["params"], sort_keys=True)
            n_seeds = "/".join(str(n) for n in sorted(set(r["seeds_by_model"].values())))
            out.append(f"| {r['distiller']}{params} | {r['length']} | {n_seeds} | "
                       + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


def recipes_report(paths):
    """One markdown table per dataset of the ``recipes`` task: the mean validation MSE of
    every (learning rate, epochs) of the grid over the pooled distilled series and over the
    random segments, per evaluation model, the chosen recipe in bold."""
    out = []
    for res in _load_results(paths, "recipes"):
        epochs = res["epochs"]
        out.append(f"**{res['dataset']}**, {res['seq_len']} → {res['pred_len']}, mean "
                   f"validation MSE over seeds {res['seeds']} (distilled: "
                   f"{', '.join(res['distillers'])} pooled; chosen in bold)\n")
        out.append("| model | series | lr | " + " | ".join(f"{e} ep" for e in epochs) + " |")
        out.append("|---|---|---|" + "---|" * len(epochs))
        for model, chosen in res["chosen"].items():
            for kind in ("distilled", "random"):
                pick = chosen[kind]
                for lr, means in pick["mean_val_mse"].items():
                    cells = [(f"**{v:.3f}**" if float(lr) == pick["lr"] and e == pick["epochs"]
                              else f"{v:.3f}") for e, v in zip(epochs, means)]
                    out.append(f"| {model} | {kind} | {float(lr):g} | " + " | ".join(cells)
                               + " |")
        out.append("")
    return "\n".join(out)


def classify_report(paths):
    """One markdown table per dataset: rows are methods, columns budgets (ipc).

    Cells are accuracy in % (mean ± std over seeds), the mean distillation time and the
    number of synthetic samples; the full-data row spans every column. Parameters are
    listed under the table when a row used non-default ones. Results scored on the
    validation split get their own tables, named so.
    """
    runs = defaultdict(dict)
    for res in _load_results(paths, "classify"):
        if res["distiller"] in _TEACHER_DISTILLERS:
            continue
        label = res["distiller"] + (f"+{res['objective']}" if res.get("objective") else "")
        if res["distiller"] == "fred":
            from ..classification import FreDDistiller

            label = f"FreD ({res['objective'].upper()})"
            mask = (res.get("params") or {}).get("mask", FreDDistiller().mask)
            if mask == "class":
                label += ", per-class masks"
            k = (res.get("params") or {}).get("n_coefficients")
            if k is not None:
                label += f", k = {k} D" if isinstance(k, float) else f", k = {k}"
        elif res["distiller"] != "full":
            label = res["distiller"].upper() if res["distiller"] != "random" else "Random"
        else:
            label = "Full data"
        runs[(_evaluation_name(res), _split(res))][(label, res["ipc"])] = res
    order = ["Random", "DC", "FreD (DC)", "FreD (DC), per-class masks", "DM", "FreD (DM)",
             "FreD (DM), per-class masks", "TM", "FreD (TM)", "FreD (TM), per-class masks",
             "Full data"]
    out = []
    for (dataset, split), cells in sorted(runs.items(), key=_test_first):
        ipcs = sorted({ipc for (_, ipc) in cells if ipc is not None})
        labels = sorted({lab for (lab, _) in cells}, key=lambda lab: (
            order.index(lab.split(", k =")[0]) if lab.split(", k =")[0] in order
            else len(order), lab))
        out.append(f"**{dataset}**: ConvNet {_split_words(split)} accuracy % (mean ± std over seeds), distillation "
                   "seconds per seed, synthetic samples\n")
        out.append("| method | " + " | ".join(f"ipc {i}" for i in ipcs) + " |")
        out.append("|---|" + "---|" * len(ipcs))
        notes = []
        for lab in labels:
            row = []
            for ipc in ipcs:
                r = cells.get((lab, ipc)) or cells.get((lab, None))
                if r is None:
                    row.append("")
                    continue
                acc = np.asarray(r["results"]["convnet"]["acc"]) * 100
                row.append(f"{_pm(acc, 1)} ({np.mean(r['distill_seconds']):.0f} s, "
                           f"{r['n_synthetic'][0]})")
                if r.get("params"):
                    notes.append(f"{lab} ipc {ipc}: {json.dumps(r['params'], sort_keys=True)}")
            out.append(f"| {lab} | " + " | ".join(row) + " |")
        if notes:
            out.append("")
            out += [f"- {n}" for n in notes]
        out.append("")
    return "\n".join(out)


#: distillers with a teacher (soft labels): reported by :func:`cfm_report`
_TEACHER_DISTILLERS = ("cfm", "sre2l")


def _cfm_label(res):
    """Row label of a CFM-study result from its distiller and parameters (a trust region
    of the recover step, ``max_drift``, is named after the method)."""
    label = _cfm_method_label(res)
    params = res.get("params") or {}
    if res["distiller"] in _TEACHER_DISTILLERS:
        if params.get("stats_network", "teacher") != "teacher":
            label += f", statistics through {params['stats_network']} networks"
        if params.get("optimizer", "adam") != "adam":
            from ..classification import CFMDistiller

            lr = float(params.get("lr", CFMDistiller().lr))
            label += f", {params['optimizer'].upper()} lr {lr:g}"
        if params.get("max_drift") is not None:
            label += f", max_drift = {float(params['max_drift']):g}"
    return label


def _cfm_method_label(res):
    params = res.get("params") or {}
    name = res["distiller"]
    if name == "random":
        return "Random"
    if name == "full":
        return "Full data"
    if name == "sre2l":
        return "SRe²L-style"
    if name != "cfm":
        return name.upper()
    from ..classification import CFMDistiller

    defaults = CFMDistiller().get_params()
    if float(params.get("lr", defaults["lr"])) < 1e-6:
        return "Random + teacher soft labels"
    filt = params.get("filter", defaults["filter"])
    beta = float(params.get("beta", defaults["beta"]))
    signal = params.get("use_signal", defaults["use_signal"])
    ce = params.get("use_ce", defaults["use_ce"])
    if filt == "cfm":
        what = ("filter only" if not signal else "filter + signal") if not ce else None
        if what:
            return f"CFM ablation: {what} (curriculum from β = {beta:g})"
        return f"CFM (curriculum from β = {beta:g}, filter + signal + CE)"
    if filt == "frepo":
        return f"fixed high-pass (λ+β)^-1, β = {beta:g}"
    if filt == "lowpass":
        return f"low-pass λ(λ+β)^-1, β = {beta:g}"
    if filt == "dc":
        return "low-pass DC filter {1, λ}"
    if filt == "dm":
        return "DM filter 1 (signal loss only)"
    if filt == "mtt":
        alpha = float(params.get("alpha", defaults["alpha"]))
        power = int(params.get("power", defaults["power"]))
        return f"high-pass MTT filter (1 − αλ)^p, α = {alpha:g}, p = {power}"
    return f"filter {filt}"


def cfm_report(paths):
    """One markdown table per dataset for the CFM study (distillers with a teacher).

    Rows: Random, Random with the teacher's soft labels, SRe²L-style, CFM, its ablations
    and filter choices. Per ipc: test accuracy % with hard labels and with the teacher's
    soft labels (``--soft-labels both``), and the mean intra-class cosine similarity of
    the synthetic set (diversity). Validation-split results get their own tables. Datasets
    without a ``cfm`` or ``sre2l`` result are
    skipped.
    """
    runs = defaultdict(dict)
    for res in _load_results(paths, "classify"):
        runs[(_evaluation_name(res), _split(res))][(_cfm_label(res), res["ipc"])] = res
    # row order: these labels, then labels starting with these prefixes, then the rest
    order = ["Random", "Random + teacher soft labels", "SRe²L-style", "CFM (",
             "CFM ablation: filter only", "CFM ablation: filter + signal"]

    def rank(label):
        return next((i for i, head in enumerate(order)
                     if label == head or (head.startswith(("CFM", "SRe²L"))
                                          and label.startswith(head))),
                    len(order))

    out = []
    for (dataset, split), cells in sorted(runs.items(), key=_test_first):
        if not any(r["distiller"] in _TEACHER_DISTILLERS for r in cells.values()):
            continue
        ipcs = sorted({ipc for (_, ipc) in cells if ipc is not None})
        labels = sorted({lab for (lab, _) in cells}, key=lambda lab: (rank(lab), lab))
        # results that record the drift from the real initialisation get a column for it
        drift = any(r.get("mean_drift") for r in cells.values())
        out.append(f"**{dataset}**: ConvNet {_split_words(split)} accuracy % (mean ± std over seeds) with hard "
                   "labels / with the teacher's soft labels (KD), intra-class cosine similarity "
                   "of the synthetic set, "
                   + ("mean drift of the samples from their real initialisation (rms of the "
                      "change / rms of the sample, standardised data), " if drift else "")
                   + "distillation seconds per seed\n")
        cols = "hard | KD | sim | drift | s" if drift else "hard | KD | sim | s"
        out.append("| method | " + " | ".join(f"ipc {i}: {cols}" for i in ipcs) + " |")
        out.append("|---|" + ("---|" * (5 if drift else 4)) * len(ipcs))
        for lab in labels:
            row = []
            for ipc in ipcs:
                r = cells.get((lab, ipc)) or cells.get((lab, None))
                if r is None:
                    row += [""] * (5 if drift else 4)
                    continue
                res = r["results"]
                soft_only = r.get("soft_labels") is True
                hard = "" if soft_only else _pm(np.asarray(res["convnet"]["acc"]) * 100, 1)
                kd = res["convnet"] if soft_only else res.get("convnet_kd")
                sims = [v for v in r.get("intra_class_similarity") or [] if v is not None]
                row += [hard, _pm(np.asarray(kd["acc"]) * 100, 1) if kd else "",
                        f"{np.mean(sims):.3f}" if sims else ""]
                if drift:
                    drifts = r.get("mean_drift") or []
                    row.append(f"{np.mean(drifts):.3f}" if drifts else "")
                row.append(f"{np.mean(r['distill_seconds']):.0f}")
            out.append(f"| {lab} | " + " | ".join(row) + " |")
        out.append("")
    return "\n".join(out)


def scaling_plot(paths, out, model="dlinear", metric="mse", ax=None):
    """Plot test error against the synthetic length M, one line per distiller.

    Reads forecast JSON files (any mix of datasets is refused), draws mean ± std over seeds
    with the full-data result as a horizontal line when present, and saves to ``out``.
    matplotlib is imported lazily (the ``plot`` extra).

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = defaultdict(list)
    full = None
    datasets = set()
    for res in _load_results(paths, "forecast"):
        if model not in res["results"]:
            continue
        datasets.add(res["dataset"])
        vals = np.asarray(res["results"][model][metric], dtype=float)
        if res["distiller"] == "full":
            full = vals
        else:
            params = res.get("params") or {}
            name = res["distiller"] + (f" {json.dumps(params, sort_keys=True)}" if params else "")
            series[name].append((res["length"], vals.mean(), vals.std()))
    if len(datasets) > 1:
        raise ValueError(f"scaling_plot takes one dataset at a time, got {sorted(datasets)}.")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    for name, points in sorted(series.items()):
        points.sort()
        m, mean, std = map(np.asarray, zip(*points))
        ax.errorbar(m, mean, yerr=std, marker="o", capsize=3, label=name)
    if full is not None:
        ax.axhline(full.mean(), color="k", linestyle="--", label="full data")
    ax.set_xscale("log", base=2)
    lengths = sorted({m for points in series.values() for m, _, _ in points})
    ax.set_xticks(lengths)
    ax.set_xticklabels([str(m) for m in lengths])
    ax.minorticks_off()
    ax.set_xlabel("synthetic length M")
    ax.set_ylabel(f"test {metric.upper()} ({model})")
    ax.set_title(f"{next(iter(datasets), '')}: error against synthetic length")
    ax.legend()
    ax.figure.tight_layout()
    ax.figure.savefig(out, dpi=120)
    return ax
