"""The distiller contract: seeding, device, threads, the loop, checkpoint and resume."""
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from skdd.utils import resolve_device, seeded, torch_threads
from _toy import WindowMomentDistiller


_PAGE_FAULTS_SCRIPT = textwrap.dedent("""
    import resource, sys
    import torch
    from skdd.utils import tune_cpu_allocator

    def faults_of_a_block():
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        torch.ones(16 * 2**20).sum()  # 64 MB allocated, touched and freed
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

    applied = tune_cpu_allocator()
    # the heap grows on the first one or two blocks; from then on they reuse its pages
    print(int(applied), [faults_of_a_block() for _ in range(4)][-1])
""")


def test_tuned_allocator_reuses_freed_memory():
    # In a fresh process: the call changes the whole process's allocator.
    out = subprocess.run([sys.executable, "-c", _PAGE_FAULTS_SCRIPT], capture_output=True,
                         text=True, check=True, cwd=Path(__file__).parent.parent).stdout
    applied, faults = map(int, out.split())
    if not applied:
        pytest.skip("not glibc: tune_cpu_allocator changes nothing here")
    assert faults < 1000  # 16,384 pages of 4 KiB each would fault without the reuse


def test_tune_cpu_allocator_rejects_bad_sizes():
    from skdd.utils import tune_cpu_allocator

    for bad in (-1, 2**31, 1.5, True):
        with pytest.raises(ValueError, match="retain_bytes"):
            tune_cpu_allocator(bad)


def test_same_seed_same_synthetic_data(small_series):
    a = WindowMomentDistiller(random_state=3).fit(small_series)
    b = WindowMomentDistiller(random_state=3).fit(small_series)
    c = WindowMomentDistiller(random_state=4).fit(small_series)
    np.testing.assert_array_equal(a.X_syn_, b.X_syn_)
    assert not np.array_equal(a.X_syn_, c.X_syn_)
    assert a.n_iter_ == 30 and a.loss_curve_.shape == (30,)
    assert a.device_ == "cpu"
    assert a.loss_curve_[-1] < a.loss_curve_[0]


def test_fit_leaves_global_rng_untouched(small_series):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    WindowMomentDistiller(random_state=0).fit(small_series)
    np.testing.assert_array_equal(torch.rand(3), expected)


def test_thread_count_is_restored(small_series):
    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    WindowMomentDistiller(random_state=0, n_threads=1).fit(small_series)
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="n_threads"):
        WindowMomentDistiller(n_threads=0).fit(small_series)


def test_device_resolution():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="device"):
        resolve_device("not-a-device")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")


def test_seeded_accepts_generators_and_rejects_garbage():
    with seeded(np.random.default_rng(0)) as s1:
        pass
    with seeded(np.random.default_rng(0)) as s2:
        pass
    assert s1 == s2
    with pytest.raises(ValueError, match="random_state"):
        with seeded("zero"):
            pass


def test_progress_bar_shows_loss(small_series, capsys):
    WindowMomentDistiller(random_state=0, verbose=1, max_iter=20).fit(small_series)
    err = capsys.readouterr().err
    assert "WindowMomentDistiller" in err and "loss=" in err


def test_keyboard_interrupt_then_resume_matches_uninterrupted(small_series, tmp_path):
    full = WindowMomentDistiller(random_state=1).fit(small_series)
    ckpt = tmp_path / "run.ckpt"
    interrupted = WindowMomentDistiller(random_state=1, checkpoint_path=ckpt, interrupt_at=13)
    with pytest.raises(KeyboardInterrupt):
        interrupted.fit(small_series)
    assert ckpt.exists()
    state = torch.load(ckpt, weights_only=True)
    assert state["iteration"] == 13  # saved at the interrupt, not only at the last multiple of 5
    resumed = WindowMomentDistiller(random_state=1, checkpoint_path=ckpt).fit(small_series)
    np.testing.assert_array_equal(resumed.X_syn_, full.X_syn_)
    np.testing.assert_allclose(resumed.loss_curve_, full.loss_curve_)
    assert resumed.n_iter_ == 30


def test_interrupt_after_an_update_resumes_at_the_next_iteration(small_series, tmp_path):
    # Ctrl-C may arrive after an update has been counted (an observer, the progress bar):
    # the saved RNG state must then be the one the next iteration starts from
    from skdd.base import observe_optimization

    full = WindowMomentDistiller(random_state=1).fit(small_series)
    ckpt = tmp_path / "run.ckpt"

    def stop(est, iteration, synthetic):
        if iteration == 13:
            raise KeyboardInterrupt

    with observe_optimization(stop), pytest.raises(KeyboardInterrupt):
        WindowMomentDistiller(random_state=1, checkpoint_path=ckpt).fit(small_series)
    assert torch.load(ckpt, weights_only=True)["iteration"] == 13
    resumed = WindowMomentDistiller(random_state=1, checkpoint_path=ckpt).fit(small_series)
    np.testing.assert_array_equal(resumed.X_syn_, full.X_syn_)
    np.testing.assert_allclose(resumed.loss_curve_, full.loss_curve_)


def test_checkpoint_of_another_fit_is_refused(small_series, tmp_path):
    ckpt = tmp_path / "run.ckpt"
    WindowMomentDistiller(random_state=1, checkpoint_path=ckpt, max_iter=5).fit(small_series)
    with pytest.raises(ValueError, match="checkpoint_path"):
        WindowMomentDistiller(random_state=2, checkpoint_path=ckpt, max_iter=5).fit(small_series)
    with pytest.raises(ValueError, match="checkpoint_path"):
        WindowMomentDistiller(random_state=1, checkpoint_path=ckpt, max_iter=5).fit(small_series + 1)


_KILLED_SCRIPT = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {tests!r})
    import numpy as np
    from _toy import WindowMomentDistiller

    class Slow(WindowMomentDistiller):
        def _optimize(self, synthetic, loss_fn, **kw):
            def slow(it):
                time.sleep(0.05)
                return loss_fn(it)
            return super()._optimize(synthetic, slow, **kw)

    Slow.__name__ = "WindowMomentDistiller"  # same fingerprint as the resuming estimator

    series = np.load({data!r})
    Slow(random_state=1, max_iter=400, checkpoint_path={ckpt!r}).fit(series)
""")


def test_killed_fit_resumes_from_last_checkpoint(small_series, tmp_path):
    data = tmp_path / "series.npy"
    np.save(data, small_series)
    ckpt = tmp_path / "killed.ckpt"
    script = _KILLED_SCRIPT.format(tests=str(Path(__file__).parent), data=str(data),
                                   ckpt=str(ckpt))
    proc = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            if ckpt.exists() and torch.load(ckpt, weights_only=True)["iteration"] >= 10:
                break
            time.sleep(0.1)
        else:
            pytest.fail("the child never wrote a checkpoint")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    done = torch.load(ckpt, weights_only=True)["iteration"]
    assert 10 <= done < 400
    resumed = WindowMomentDistiller(random_state=1, max_iter=400, checkpoint_path=ckpt)
    resumed.fit(small_series)
    full = WindowMomentDistiller(random_state=1, max_iter=400).fit(small_series)
    np.testing.assert_array_equal(resumed.X_syn_, full.X_syn_)


@pytest.mark.parametrize("closed, inside, outside", [
    ("both", [0, 1, 0.5], [-0.1, 1.1]),
    ("left", [0, 0.999], [1, -1e-9]),
    ("right", [1, 1e-9], [0, 1.5]),
    ("neither", [0.5], [0, 1]),
])
def test_check_interval_bounds_and_message(closed, inside, outside):
    from skdd.utils import check_interval
    for v in inside:
        assert check_interval(v, "rate", 0, 1, closed=closed) == float(v)
    for v in outside + [float("nan"), float("inf"), True, "0.5", None]:
        with pytest.raises(ValueError, match="rate must be a number in .0, 1., got"):
            check_interval(v, "rate", 0, 1, closed=closed)
    with pytest.raises(ValueError, match="closed"):
        check_interval(0.5, "rate", 0, 1, closed="open")


@pytest.mark.parametrize("seconds, expected", [(1e9, [10, 20, 25]), (0.0, list(range(1, 26)))])
def test_slow_loops_also_save_by_wall_time(small_series, tmp_path, monkeypatch, seconds,
                                           expected):
    # every `checkpoint_every` iterations, and whenever CHECKPOINT_SECONDS have passed, so a
    # loop of slow iterations killed between two counted saves loses little; never twice
    import skdd.base

    monkeypatch.setattr(skdd.base, "CHECKPOINT_SECONDS", seconds)
    saved, original = [], skdd.base._Checkpoint.save

    def record(self, state):
        saved.append(int(state["iteration"]))
        original(self, state)

    monkeypatch.setattr(skdd.base._Checkpoint, "save", record)
    path = tmp_path / "loop.ckpt"
    est = WindowMomentDistiller(random_state=1, max_iter=25, checkpoint_path=path,
                                checkpoint_every=10).fit(small_series)
    assert saved == expected
    plain = WindowMomentDistiller(random_state=1, max_iter=25).fit(small_series)
    np.testing.assert_array_equal(est.X_syn_, plain.X_syn_)


_TERMINATED_SCRIPT = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    import numpy as np
    from _toy import WindowMomentDistiller
    from skdd.benchmarks.__main__ import interrupt_on_sigterm

    class Slow(WindowMomentDistiller):
        def _optimize(self, synthetic, loss_fn, **kw):
            def slow(it):
                if it == 20:
                    Path({marker!r}).touch()
                time.sleep(0.02)
                return loss_fn(it)
            return super()._optimize(synthetic, slow, **kw)

    Slow.__name__ = "WindowMomentDistiller"  # same fingerprint as the resuming estimator

    interrupt_on_sigterm()
    series = np.load({data!r})
    Slow(random_state=1, max_iter=2000, checkpoint_path={ckpt!r},
         checkpoint_every=10 ** 6).fit(series)
""")


def test_sigterm_saves_the_loop_like_ctrl_c(small_series, tmp_path):
    # the command line turns SIGTERM (kill, a scheduler's stop) into KeyboardInterrupt, so
    # the loop saves where it is, not only at its last counted checkpoint
    data, ckpt, marker = tmp_path / "series.npy", tmp_path / "term.ckpt", tmp_path / "started"
    np.save(data, small_series)
    script = _TERMINATED_SCRIPT.format(tests=str(Path(__file__).parent), data=str(data),
                                       ckpt=str(ckpt), marker=str(marker))
    proc = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 120
        while not marker.exists() and time.time() < deadline:
            time.sleep(0.05)
        assert marker.exists(), "the child never reached iteration 20"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0 and b"KeyboardInterrupt" in err
    done = torch.load(ckpt, weights_only=True)["iteration"]
    assert 20 <= done < 2000
    resumed = WindowMomentDistiller(random_state=1, max_iter=2000, checkpoint_path=ckpt,
                                    checkpoint_every=10 ** 6).fit(small_series)
    plain = WindowMomentDistiller(random_state=1, max_iter=2000).fit(small_series)
    np.testing.assert_array_equal(resumed.X_syn_, plain.X_syn_)
