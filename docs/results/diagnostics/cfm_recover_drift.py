"""What CFM's recover step does to the real samples it starts from.

CFMDistiller initialises its synthetic set with random real samples and then optimises
them through the frozen teacher (``CE + eta · (filter + signal)``, Adam with betas
0.5 / 0.9 and a cosine schedule). This script measures, on the training split's 5
stratified folds (the runner's ``--eval-split cv``: each fold distils the other four and
scores the evaluation ConvNet on it; one seed), for several learning rates, numbers of
recover updates and trust regions (``max_drift``):

- the pooled cross-validated accuracy of the evaluation network trained on the
  synthetic set with hard labels (the protocol's synthetic recipe), beside the accuracy
  of the unchanged random real subset the recover step starts from;
- the drift of the samples from their initialisation, ``rms(x − x0) / rms(x0)`` per
  sample on the per-channel standardised data (``CFMDistiller.drift_``), mean over the
  samples;
- the weighted statistics loss ``eta · (filter + signal)`` and the teacher's
  cross-entropy of the synthetic set at the start and at the end (means over the ``ipc``
  batches, as the recover loss);
- at the start: the norms of the gradients of the two terms with respect to the
  samples, and what one Adam update at the setting's learning rate does (mean absolute
  change per value in standardised units, the statistics loss after it).

Run (``SKDD_DATA_HOME`` pointing at the data; one torch thread)::

    python docs/results/diagnostics/cfm_recover_drift.py [--dataset GunPoint] [--seed 0] \
        [--teacher-cache /work/runs/cfm_cache/teachers]

It writes ``cfm_recover_drift_<dataset>.json`` next to itself. The folds, seeds and
teacher are those of the runner, so the published setting's accuracy equals the runner's
``--eval-split cv`` figure for that seed.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from skdd.benchmarks._classify import CV_FOLDS, load_classification_splits
from skdd.classification import CFMDistiller, evaluate_classifier, fit_classifier, get_recipe
from skdd.objectives._spectral import (
    ConvInputs,
    LayerStatistics,
    conv_input_statistics,
    feature_moments,
)

#: (label, lr, max_iter, max_drift)
SETTINGS = [
    ("published: lr 0.25, 500 updates", 0.25, 500, None),
    ("lr 0.25, 50 updates", 0.25, 50, None),
    ("lr 0.01, 500 updates", 0.01, 500, None),
    ("lr 0.25, 500 updates, max_drift 0.05", 0.25, 500, 0.05),
]


def loss_terms(est, X, y_codes, n_classes, real_stats):
    """Mean statistics loss (weighted by eta) and mean CE over the recover batches, and the
    norms of their gradients with respect to ``X`` (standardised units)."""
    teacher = est.teacher_
    ipc = int(est.ipc)
    x = torch.as_tensor(X, dtype=torch.float32)
    order = torch.arange(n_classes * ipc).reshape(n_classes, ipc).T.flatten()
    x = x.clone().requires_grad_(True)
    labels = torch.as_tensor(y_codes)[order]
    with ConvInputs(teacher) as rec:
        logits = teacher(x[order])
    stats = [LayerStatistics.from_moments(feature_moments(f, labels, n_classes, groups=ipc))
             for f in rec.inputs]
    stats_loss = est._stats_loss(real_stats, ipc, "cpu")(stats).mean()
    ce = F.cross_entropy(logits, labels)
    scale = teacher.scale.reshape(1, -1, *([1] * (x.ndim - 2)))
    g_stats, = torch.autograd.grad(stats_loss, x, retain_graph=True)
    g_ce, = torch.autograd.grad(ce, x)
    # gradients with respect to the standardised samples (the tensor Adam updates)
    return {"stats": float(stats_loss.detach()), "ce": float(ce.detach()),
            "grad_stats": float((g_stats * scale).norm()), "grad_ce": float((g_ce * scale).norm())}


def evaluate(X_fit, y_fit, X_held, y_held, n_classes, seed):
    net, _ = fit_classifier(X_fit, y_fit, n_classes=n_classes,
                            recipe=get_recipe("convnet", "synthetic"), model_kwargs={},
                            device="cpu", random_state=seed, n_threads=1)
    return evaluate_classifier(net, X_held, y_held)["acc"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="GunPoint")
    parser.add_argument("--ipc", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--teacher-cache", default=None)
    parser.add_argument("--first-folds", type=int, default=CV_FOLDS,
                        help="score only the first folds (a quick check of the script)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    from sklearn.model_selection import StratifiedKFold

    X, _, y, _, name = load_classification_splits(args.dataset)
    folds = list(StratifiedKFold(CV_FOLDS, shuffle=True, random_state=0).split(np.zeros(len(y)), y))
    rows = {"initial real subset": {"correct": 0}}
    rows.update({label: {"correct": 0, "drift": [], "start": [], "end": [], "first_step": []}
                 for label, *_ in SETTINGS})
    n_scored = 0
    t0 = time.time()
    for f, (fit_idx, held_idx) in enumerate(folds[:args.first_folds]):
        X_fit, y_fit, X_held, y_held = X[fit_idx], y[fit_idx], X[held_idx], y[held_idx]
        n_classes = len(np.unique(y_fit))
        n_scored += len(held_idx)
        common = dict(ipc=args.ipc, random_state=args.seed, device="cpu", n_threads=1,
                      teacher_cache=args.teacher_cache)
        for label, lr, max_iter, max_drift in SETTINGS:
            est = CFMDistiller(lr=lr, max_iter=max_iter, max_drift=max_drift, **common)
            X_syn, y_syn = est.fit_resample(X_fit, y_fit)
            codes = np.searchsorted(est.classes_, y_syn)
            teacher = est.teacher_
            std = lambda A: ((torch.as_tensor(A) - teacher.mean) / teacher.scale).numpy()  # noqa: E731
            real_codes = np.searchsorted(est.classes_, y_fit)
            with torch.no_grad():
                real_stats = conv_input_statistics(
                    teacher, torch.as_tensor(X_fit, dtype=torch.float32),
                    torch.as_tensor(real_codes), n_classes)
            X0 = X_fit[est.init_indices_]
            row = rows[label]
            if label == SETTINGS[0][0]:  # the subset every setting starts from (same seed)
                rows["initial real subset"]["correct"] += round(
                    evaluate(X0, y_fit[est.init_indices_], X_held, y_held, n_classes, args.seed) * len(held_idx))
            row["start"].append(loss_terms(est, X0, codes, n_classes, real_stats))
            row["end"].append(loss_terms(est, X_syn, codes, n_classes, real_stats))
            row["drift"].append(float(np.mean(est.drift_)))
            one = CFMDistiller(lr=lr, max_iter=1, max_drift=max_drift, **common)
            X1, _ = one.fit_resample(X_fit, y_fit)
            after = loss_terms(one, X1, codes, n_classes, real_stats)
            row["first_step"].append({
                "mean_abs_change": float(np.mean(np.abs(std(X1) - std(X0)))),
                "stats_after": after["stats"], "ce_after": after["ce"]})
            row["correct"] += round(evaluate(X_syn, y_syn, X_held, y_held, n_classes,
                                             args.seed) * len(held_idx))
            print(f"[fold {f}] {label}: drift {row['drift'][-1]:.3f} "
                  f"stats {row['start'][-1]['stats']:.4f} -> {row['end'][-1]['stats']:.4f} "
                  f"ce {row['start'][-1]['ce']:.4f} -> {row['end'][-1]['ce']:.4f} "
                  f"({time.time() - t0:.0f} s)", flush=True)

    def mean(dicts, key):
        return float(np.mean([d[key] for d in dicts]))

    summary = []
    for label, row in rows.items():
        entry = {"setting": label, "cv_accuracy": row["correct"] / n_scored}
        if label in dict((s[0], s) for s in SETTINGS):
            _, lr, max_iter, max_drift = next(s for s in SETTINGS if s[0] == label)
            entry.update(
                lr=lr, max_iter=max_iter, max_drift=max_drift,
                mean_drift=float(np.mean(row["drift"])),
                stats_loss_start=mean(row["start"], "stats"), stats_loss_end=mean(row["end"], "stats"),
                ce_start=mean(row["start"], "ce"), ce_end=mean(row["end"], "ce"),
                grad_norm_stats_start=mean(row["start"], "grad_stats"),
                grad_norm_ce_start=mean(row["start"], "grad_ce"),
                first_step_mean_abs_change=mean(row["first_step"], "mean_abs_change"),
                first_step_stats_loss=mean(row["first_step"], "stats_after"),
                first_step_ce=mean(row["first_step"], "ce_after"),
                per_fold={"drift": row["drift"], "start": row["start"], "end": row["end"],
                          "first_step": row["first_step"]})
        summary.append(entry)
    out = {"dataset": name, "ipc": args.ipc, "seed": args.seed, "folds": CV_FOLDS,
           "n_scored": n_scored, "torch": torch.__version__, "seconds": time.time() - t0,
           "settings": summary}
    path = Path(__file__).with_name(f"cfm_recover_drift_{name}.json")
    if args.first_folds < CV_FOLDS:
        path = Path(f"/tmp/cfm_recover_drift_{name}_check.json")
    path.write_text(json.dumps(out, indent=1) + "\n")
    for e in summary:
        extra = ""
        if "mean_drift" in e:
            extra = (f"  drift {e['mean_drift']:.3f}  stats {e['stats_loss_start']:.4f} -> "
                     f"{e['stats_loss_end']:.4f}  CE {e['ce_start']:.4f} -> {e['ce_end']:.4f}  "
                     f"|g_stats|/|g_ce| {e['grad_norm_stats_start'] / e['grad_norm_ce_start']:.1f}"
                     f"  first step |dx| {e['first_step_mean_abs_change']:.3f}, stats "
                     f"{e['first_step_stats_loss']:.4f}")
        print(f"{e['setting']}: cv acc {100 * e['cv_accuracy']:.1f}%{extra}")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
