"""The ``fidelity`` task: FID, IS and cFID of TimeVQVAE samples before and after the
neural mapper (NM-VQTSG), against the real-vs-real floor.

Per seed: fit :class:`~skdd.generative.TimeVQVAE` on the real training set, fit
:class:`~skdd.generative.NeuralMapper` with that generator (frozen), then score against
the real reference (the test split) with :class:`~skdd.metrics.FidelityEvaluator`
(MiniRocket features and the FCN both seeded with the seed):

- ``real``: the real training series (ETT: a random subset of ``n_eval`` training windows);
- ``floor``: one random half of the reference against the other half (the metrics' own
  sampling noise between two real sets);
- ``samples``: ``n_eval`` generated series (UCR: conditioned on the training labels, so the
  class balance matches), ``mapped``: the same series through the mapper, ``svq``: SVQ
  reconstructions of the real series at the chosen temperature; each averaged over
  ``n_draws`` independent draws.

UCR sets (bundled with sktime) use their official splits and labels; ``ETTh1`` (and the
other ETT sets) use windows of length 96 over all channels of the protocol's scaled
splits: training-split windows as training data, test-split windows as the reference,
without labels (FID only).
"""
from __future__ import annotations

import platform
import time

import numpy as np

from ._forecast import _versions
from ._progress import track, with_verbose

ETT_SETS = ("etth1", "etth2", "ettm1", "ettm2")


def load_fidelity_data(dataset, *, window=96, data_home=None):
    """Training and reference series of ``dataset`` for the fidelity task.

    Returns
    -------
    dict with ``X_train``, ``y_train``, ``X_ref``, ``y_ref`` (labels None for ETT) and
    ``name``. Series are float32 ``(n, C, T)``.
    """
    if str(dataset).lower() in ETT_SETS:
        from ..forecasting import load_forecasting_splits, make_windows

        splits = load_forecasting_splits(dataset, seq_len=window, data_home=data_home)

        def windows(series):
            # every window of length `window` but the last (make_windows pairs each input
            # window with a one-step target)
            X, _ = make_windows(series, window, 1)
            return np.ascontiguousarray(X.transpose(0, 2, 1), dtype=np.float32)

        return {"name": splits.name, "X_train": windows(splits.train), "y_train": None,
                "X_ref": windows(splits.test), "y_ref": None}
    from ..datasets import load_ucr

    X_train, X_ref, y_train, y_ref = load_ucr(dataset)
    return {"name": str(dataset), "X_train": X_train, "y_train": y_train, "X_ref": X_ref,
            "y_ref": y_ref}


def _mean_scores(scores):
    """Average a list of score dicts key by key (None stays None)."""
    return {k: (None if scores[0][k] is None else float(np.mean([s[k] for s in scores])))
            for k in scores[0]}


def run_fidelity_benchmark(dataset, *, seeds=(0, 1, 2), preset="cpu", n_draws=3, n_eval=None,
                           params=None, mapper_params=None, num_features=10_000,
                           distillers=(), ipc=10, classifier_params=None, device="cpu",
                           n_threads=None, data_home=None, data=None, log=print,
                           cache_dir=None, progress=None, verbose=0):
    """Run the fidelity protocol and return the JSON-ready result.

    Parameters
    ----------
    dataset : str
        A bundled UCR set (GunPoint, ItalyPowerDemand, ArrowHead, OSULeaf, ...) or an ETT
        set (windows of length 96).
    seeds : sequence of int
        Each seed drives the generator, the mapper, the MiniRocket features and the FCN.
    preset : {"cpu", "paper"}
        Preset of the generator and the mapper.
    n_draws : int, default=3
        Independent draws of samples (and SVQ reconstructions) averaged per seed.
    n_eval : int, optional
        Series per evaluated set: the training-set size for UCR, min(1000, n_train) for
        ETT.
    params, mapper_params : dict, optional
        Extra parameters of TimeVQVAE and NeuralMapper.
    distillers : sequence of str, default=()
        Classification distillers (names of
        :data:`skdd.benchmarks._registry.CLASSIFY_DISTILLERS`) whose ``ipc``-per-class sets
        are scored too (labelled data only), next to TimeVQVAE samples and mapped samples
        of the same size (``"<name>@ipc"`` entries of ``results``): FID depends on the set
        size, so only sets of equal size are compared.
    ipc : int, default=10
        Series per class of the distilled sets.
    classifier_params : dict, optional
        Arguments of the FCN training (see :class:`~skdd.metrics.FidelityEvaluator`).
    data : dict, optional
        Pre-loaded data as returned by :func:`load_fidelity_data` (tests).
    cache_dir : str or path-like, optional
        Keep the generator's and the mapper's checkpoints there, so the same command
        resumes an interrupted run and reuses finished stages
        (:func:`skdd.benchmarks._cache.keep_work_in`); ``resumed`` in the result says
        which seeds continued from a checkpoint.
    progress : bool, optional
        Show a bar over the seeds; ``verbose`` is passed to TimeVQVAE and the mapper
        (their loops' progress bars).
    """
    from sklearn.frozen import FrozenEstimator

    from ..classification import evaluate_classifier
    from ..generative import NeuralMapper, TimeVQVAE
    from ..metrics import FidelityEvaluator, conditional_fid, frechet_distance, inception_score
    from ..utils import resolve_device
    from ._cache import keep_work_in

    data = data if data is not None else load_fidelity_data(dataset, data_home=data_home)
    X_train, y_train, X_ref, y_ref = (data[k] for k in ("X_train", "y_train", "X_ref", "y_ref"))
    labelled = y_train is not None
    n_train = len(X_train)
    if n_eval is None:
        n_eval = n_train if labelled else min(1000, n_train)
    dev = str(resolve_device(device))
    log = log or (lambda *a, **k: None)
    names = ("real", "floor", "samples", "svq", "mapped")
    results = {k: {"fid": [], "is": [], "cfid": []} for k in names}
    seconds = {k: [] for k in ("stage1", "stage2", "tau_search", "mapper", "classifier",
                               "evaluation", "total")}
    taus, tau_fids, classifier_acc, resumed = [], [], [], []
    for seed in track(seeds, progress, f"fidelity {data['name']}"):
        t_seed = time.perf_counter()
        rng = np.random.default_rng(seed)
        run = ["fidelity", data["name"], preset, f"seed{seed}"]
        gen = with_verbose(TimeVQVAE(preset=preset, random_state=seed, device=dev,
                                     n_threads=n_threads, **(params or {})), verbose)
        resumed_gen = keep_work_in(gen, cache_dir, [*run, "timevqvae"], params or {})
        gen.fit(X_train, y_train)
        mapper = with_verbose(NeuralMapper(FrozenEstimator(gen), preset=preset, random_state=seed,
                                           device=dev, n_threads=n_threads,
                                           **(mapper_params or {})), verbose)
        resumed_mapper = keep_work_in(mapper, cache_dir, [*run, "mapper"],
                                      {"generator": params or {}, **(mapper_params or {})})
        resumed.append(bool(resumed_gen or resumed_mapper))
        mapper.fit(X_train, y_train)
        seconds["stage1"].append(gen.stage_seconds_["stage1"])
        seconds["stage2"].append(gen.stage_seconds_["stage2"])
        seconds["tau_search"].append(mapper.stage_seconds_["tau_search"])
        seconds["mapper"].append(mapper.stage_seconds_["mapper"])
        taus.append(mapper.tau_)
        tau_fids.append(mapper.tau_fids_)

        t_eval = time.perf_counter()
        ev = FidelityEvaluator(X_ref, y_ref, X_train, y_train, num_features=num_features,
                               random_state=seed, device=dev, n_threads=n_threads,
                               classifier_params=classifier_params)
        seconds["classifier"].append(ev.classifier_seconds)
        if ev.classifier is not None:
            classifier_acc.append(evaluate_classifier(ev.classifier, X_ref, y_ref)["acc"])
        if labelled:
            idx = np.arange(n_train)
            y_eval = y_train
        else:
            idx = np.sort(rng.choice(n_train, n_eval, replace=False))
            y_eval = None
        X_real = X_train[idx]
        score = {"real": ev.score(X_real, y_eval)}

        half = rng.permutation(len(X_ref))
        a, b = half[:len(half) // 2], half[len(half) // 2:]
        floor = {"fid": frechet_distance(ev.Z_ref[a], ev.Z_ref[b], dev), "is": None,
                 "cfid": None}
        if ev.classifier is not None:
            floor["is"] = inception_score(X_ref[b], ev.classifier)
            floor["cfid"] = conditional_fid(X_ref[a], y_ref[a], X_ref[b], y_ref[b],
                                            ev.classifier, dev)
        score["floor"] = floor

        draws = {"samples": [], "svq": [], "mapped": []}
        for d in range(n_draws):
            draw_seed = int(rng.integers(2**31))
            X_s = gen.sample(n_eval, y=y_eval, random_state=draw_seed)
            draws["samples"].append(ev.score(X_s, y_eval))
            draws["mapped"].append(ev.score(mapper.transform(X_s), y_eval))
            X_svq = gen.reconstruct(X_real, tau=mapper.tau_, random_state=draw_seed)
            draws["svq"].append(ev.score(X_svq, y_eval))
        for k, v in draws.items():
            score[k] = _mean_scores(v)
        if distillers and labelled:
            score.update(_score_distilled(distillers, ipc, gen, mapper, ev, X_train, y_train,
                                          seed, dev, rng))
        seconds["evaluation"].append(time.perf_counter() - t_eval - ev.classifier_seconds)
        seconds["total"].append(time.perf_counter() - t_seed)
        for k in score:
            for metric in ("fid", "is", "cfid"):
                results.setdefault(k, {"fid": [], "is": [], "cfid": []})[metric].append(
                    score[k][metric])
        log(f"[fidelity] {data['name']} seed {seed}: tau {mapper.tau_}, FID real "
            f"{score['real']['fid']:.4f} floor {floor['fid']:.4f} samples "
            f"{score['samples']['fid']:.4f} mapped {score['mapped']['fid']:.4f} "
            f"({seconds['total'][-1]:.0f} s)")
    return {
        "task": "fidelity",
        "dataset": data["name"],
        "preset": preset,
        "seeds": list(seeds),
        "conditional": labelled,
        "n_train": n_train,
        "n_ref": len(X_ref),
        "n_eval": n_eval,
        "n_draws": n_draws,
        "channels": int(X_train.shape[1]),
        "length": int(X_train.shape[2]),
        "params": params or {},
        "mapper_params": mapper_params or {},
        "num_features": num_features,
        "distillers": list(distillers),
        "ipc": ipc,
        "results": results,
        "tau_rule": NeuralMapper(**(mapper_params or {})).get_params()["tau"],
        "tau": taus,
        "tau_fids": [None if f is None else {str(k): v for k, v in f.items()} for f in tau_fids],
        "classifier_test_acc": classifier_acc,
        "seconds": seconds,
        "resumed": resumed,
        "device": dev,
        "n_threads": n_threads,
        "machine": f"{platform.machine()}, {platform.system()}",
        "versions": _versions(),
    }


def _score_distilled(distillers, ipc, gen, mapper, ev, X_train, y_train, seed, device, rng):
    """Scores of each distiller's ipc-per-class set and of generated sets of the same size."""
    from ._registry import CLASSIFY_DISTILLERS

    def score(X, y):
        return ev.score(X, y if ipc >= 2 else None)  # cFID needs two series of a class

    classes = np.unique(y_train)
    y_ipc = np.repeat(classes, ipc)
    X_gen = gen.sample(len(y_ipc), y=y_ipc, random_state=int(rng.integers(2**31)))
    out = {f"samples@{ipc}": score(X_gen, y_ipc),
           f"mapped@{ipc}": score(mapper.transform(X_gen), y_ipc)}
    for name in distillers:
        key = str(name).lower()
        if key not in CLASSIFY_DISTILLERS:
            raise ValueError(f"distiller={name!r} is unknown; choose among "
                             f"{sorted(CLASSIFY_DISTILLERS)}.")
        est = CLASSIFY_DISTILLERS[key](ipc=ipc, random_state=seed, device=device)
        X_syn, y_syn = est.fit_resample(X_train, y_train)
        out[f"{key}@{ipc}"] = score(np.asarray(X_syn, dtype=np.float32), np.asarray(y_syn))
    return out


def _cell(values, digits):
    v = [x for x in values if x is not None]
    if not v:
        return "–"
    v = np.asarray(v, dtype=float)
    return f"{v.mean():.{digits}f} ± {v.std():.{digits}f}"


def format_fidelity_table(result):
    """A markdown table: rows real / floor / samples / SVQ / mapped, mean ± std over seeds."""
    r = result["results"]
    labels = {"real": "real train vs test", "floor": "floor (test half vs half)",
              "samples": "TimeVQVAE samples", "svq": "SVQ reconstructions",
              "mapped": "mapped samples (NM)"}
    title = (f"**{result['dataset']}** ({result['n_train']} train, {result['n_ref']} "
             f"reference, {result['n_eval']} per set, {len(result['seeds'])} seeds, preset "
             f"{result['preset']}, tau {result['tau']})")
    lines = [title, "", "| set | FID | IS | cFID |", "|---|---|---|---|"]
    for k in ("real", "floor", "samples", "svq", "mapped", *[k for k in r if "@" in k]):
        lines.append(f"| {labels.get(k, k)} | {_cell(r[k]['fid'], 4)} | {_cell(r[k]['is'], 3)} | "
                     f"{_cell(r[k]['cfid'], 3)} |")
    s = result["seconds"]
    lines.append("")
    if result.get("classifier_test_acc"):
        lines.append(f"FCN accuracy on the reference: {_cell(result['classifier_test_acc'], 3)}")
    lines.append("seconds per seed: " + ", ".join(
        f"{k} {np.mean(v):.0f}" for k, v in s.items() if v))
    return "\n".join(lines)


def fidelity_main(args, log=print, progress=None, verbose=0):
    """Run the ``fidelity`` subcommand from parsed arguments; print and return the result."""
    kwargs = dict(dataset=args.dataset, preset=args.preset, n_draws=args.draws,
                  params=args.params, mapper_params=args.mapper_params,
                  num_features=args.num_features, distillers=args.distillers, ipc=args.ipc,
                  device=args.device, n_threads=args.threads, data_home=args.data_home,
                  cache_dir=args.cache_dir)
    if getattr(args, "jobs", None) is not None or getattr(args, "backend", None) is not None:
        from ..utils import resolve_n_threads
        from ._parallel import run_seeds_in_parallel

        result = run_seeds_in_parallel(
            run_fidelity_benchmark, args.seeds, dict(kwargs, verbose=0), jobs=args.jobs,
            backend=args.backend, scheduler=args.scheduler,
            scheduler_timeout=args.scheduler_timeout,
            threads=resolve_n_threads(args.threads), log=log, progress=progress,
            desc=f"fidelity {args.dataset}")
    else:
        result = run_fidelity_benchmark(seeds=args.seeds, log=log, progress=progress,
                                        verbose=verbose, **kwargs)
    print(format_fidelity_table(result))
    return result


def format_fidelity_summary(results):
    """One markdown table over datasets (FID, IS, cFID of floor, samples and mapped samples,
    with the mapper's relative FID change and the cost of each stage)."""
    lines = ["| dataset | floor FID | real FID | samples FID | mapped FID | FID change | "
             "samples IS | mapped IS | samples cFID | mapped cFID | tau |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    cost = ["| dataset | stage 1 (s) | stage 2 (s) | tau search (s) | mapper (s) | FCN (s) | "
            "metrics (s) | total per seed (s) |", "|---|---|---|---|---|---|---|---|"]
    for res in results:
        r = res["results"]
        change = ((np.asarray(r["mapped"]["fid"]) - np.asarray(r["samples"]["fid"]))
                  / np.asarray(r["samples"]["fid"]) * 100)
        lines.append(
            f"| {res['dataset']} | {_cell(r['floor']['fid'], 4)} | {_cell(r['real']['fid'], 4)} | "
            f"{_cell(r['samples']['fid'], 4)} | {_cell(r['mapped']['fid'], 4)} | "
            f"{round(change.mean()) or 0:+d} ± {change.std():.0f} % | "
            f"{_cell(r['samples']['is'], 3)} | "
            f"{_cell(r['mapped']['is'], 3)} | {_cell(r['samples']['cfid'], 3)} | "
            f"{_cell(r['mapped']['cfid'], 3)} | {', '.join(str(t) for t in res['tau'])} |")
        s = res["seconds"]
        cost.append(f"| {res['dataset']} | " + " | ".join(
            f"{np.mean(s[k]):.0f}" for k in ("stage1", "stage2", "tau_search", "mapper",
                                             "classifier", "evaluation", "total")) + " |")
    return "\n".join(lines + [""] + cost)
