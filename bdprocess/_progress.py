"""Progress bars for long simulations, fed by host callbacks at save times only."""

import contextlib

from tqdm.auto import tqdm

_bars: list[tqdm] = []


@contextlib.contextmanager
def progress_bar(total: int, desc: str = "simulating", **kwargs):
    """Show a tqdm bar that ``simulate(..., progress=True)`` advances once per save interval.

    ``total`` is the number of save intervals (``len(saveat) - 1``). Nested bars are
    allowed; the innermost one receives the ticks.
    """
    bar = tqdm(total=total, desc=desc, unit="save", dynamic_ncols=True, **kwargs)
    _bars.append(bar)
    try:
        yield bar
    finally:
        _bars.remove(bar)
        bar.close()


def tick(*_) -> None:
    """Host callback: advance the innermost open bar by one save interval."""
    if _bars:
        _bars[-1].update(1)
