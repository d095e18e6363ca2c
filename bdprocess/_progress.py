"""Progress bars for long simulations, fed by host callbacks at save times only."""

import contextlib

from tqdm.auto import tqdm

_bars: list[tqdm] = []


@contextlib.contextmanager
def progress_bar(t1: float, t0: float = 0.0, desc: str = "simulating", **kwargs):
    """Show a tqdm bar, in simulated time from t0 to t1, for ``simulate(..., progress=True)``.

    The simulation advances the bar at every save time (one host callback per save, none
    per step). Nested bars are allowed; the innermost one receives the updates.
    """
    bar = tqdm(
        total=float(t1 - t0),
        desc=desc,
        unit="t",
        dynamic_ncols=True,
        bar_format="{l_bar}{bar}| t={n:.4g}/{total:.4g} [{elapsed}<{remaining}]",
        **kwargs,
    )
    bar.t0 = float(t0)
    _bars.append(bar)
    try:
        yield bar
    finally:
        _bars.remove(bar)
        bar.close()


def tick(t) -> None:
    """Host callback: move the innermost open bar to simulated time ``t``."""
    if _bars:
        bar = _bars[-1]
        done = min(float(t) - bar.t0, bar.total)
        if done > bar.n:
            bar.update(done - bar.n)
