"""Progress of the benchmark tasks: one bar over (row, seed) units of work.

The runners take ``progress``: ``None``/``False`` (silent, the library default), ``True``
(open a tqdm bar on stderr over the task's units, with rate and ETA) or an open bar of
an enclosing task (the demo's bar spans every distiller's runs); :func:`track` advances
it after each unit (one distillation and its evaluations). ``verbose`` is passed to the
distillers, whose own loop bar then shows under the task's bar.
"""
from __future__ import annotations

import contextlib
import sys


class _NoBar:
    """The bar of a silent run: every call does nothing."""

    def update(self, n=1):
        pass

    def set_postfix_str(self, text="", refresh=True):
        pass


@contextlib.contextmanager
def task_progress(progress, total, desc):
    """Yield the bar a runner updates once per unit of work.

    Parameters
    ----------
    progress : None, bool or tqdm bar
        False/None: a bar that shows nothing; True: a new tqdm bar over ``total`` units on
        stderr (closed on exit); a bar: that bar, left open (an enclosing task owns it).
    total : int
        Units of work of this task (rows × seeds).
    desc : str
        Label of a new bar.
    """
    if progress is None or progress is False:
        yield _NoBar()
    elif progress is True:
        from tqdm.auto import tqdm

        with tqdm(total=total, desc=desc, unit="run", file=sys.stderr,
                  dynamic_ncols=True) as bar:
            yield bar
    else:
        yield progress


def track(items, progress, desc, postfix="seed {}"):
    """Iterate over ``items`` (a task's seeds), advancing the bar of :func:`task_progress`
    after each; ``postfix`` (formatted with the item) names the unit at work."""
    items = list(items)
    with task_progress(progress, len(items), desc) as bar:
        for item in items:
            bar.set_postfix_str(postfix.format(item))
            yield item
            bar.update(1)


def with_verbose(estimator, verbose):
    """Set ``verbose`` on an estimator that has the parameter (its loop's progress bar);
    run-only, so checkpoints and cache keys do not change."""
    if verbose and "verbose" in estimator.get_params(deep=False):
        estimator.set_params(verbose=verbose)
    return estimator
