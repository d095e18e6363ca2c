"""The solver protocol: ``init`` once, then ``step`` until the next save time."""

import abc
from typing import Any, ClassVar

import equinox as eqx

from .._events import Jumps
from .._status import Status
from .._types import Array, Float, Int


class StepInfo(eqx.Module):
    """Per-step diagnostics, not carried forward.

    ``bad_channel`` is the first channel whose rate was negative or NaN (-1 if none; goes
    with ``Status.bad_rate``); ``stats`` holds this step's value of each counter named in
    the solver's ``stat_names`` (summed over the run into ``Solution.stats``).
    """

    jumps: Jumps
    counts: Int[Array, " kinds"]
    status: Status
    bad_channel: Int[Array, ""] | int = -1
    stats: dict[str, Int[Array, ""]] = eqx.field(default_factory=dict)


class AbstractSolver(eqx.Module):
    """A way of advancing a process in time.

    ``step(process, t, t_stop, state, solver_state, key, args)`` advances from t to at most
    ``t_stop`` (a save time) and returns ``(t_new, state, solver_state, info)``; it must
    return exactly ``t_stop`` when it reaches it, so the save grid is hit without drift.

    ``stat_names`` names the integer counters a solver reports in ``StepInfo.stats``
    (e.g. Extrande's rejected proposals); :func:`bdprocess.simulate` sums them into
    ``Solution.stats``.
    """

    stat_names: ClassVar[tuple[str, ...]] = ()

    def init(self, process, t0, state, args) -> Any:
        return None

    @abc.abstractmethod
    def step(
        self, process, t: Float[Array, ""], t_stop: Float[Array, ""], state, solver_state, key, args
    ) -> tuple[Float[Array, ""], Any, Any, StepInfo]: ...
