"""``simulate``: one jitted entry point for every process and solver."""

from collections.abc import Callable, Mapping
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jax import lax

from . import _progress
from ._events import EventLog
from ._process import AbstractProcess
from ._solver._base import AbstractSolver
from ._status import Status
from ._types import Array, ArrayLike, Float, Int, Key

Observable = Callable[[Array, Any, Any], Array]


class Solution(eqx.Module):
    """What :func:`simulate` returns.

    Attributes:
        ts: the save times.
        observables: name -> array with a leading save-time axis: the process's defaults
            (for :class:`BirthDeath`: ``energy``, ``vbar``), one jump counter per event kind
            (for :class:`BirthDeath`: ``deaths``, ``births``; the count over the interval
            ending at that save time, from t0 for the first), and the user's observables.
        state: the final state.
        event_log: every jump (see :class:`EventLog`); capacity 0 when ``max_events=None``.
        status: a :class:`Status`; ``Status[sol.status]`` is its message.
        num_steps: solver steps taken.
        stats: ``bad_channel`` (the first channel whose rate was negative or NaN, -1 if
            none; see ``Status.bad_rate``) and the solver's counters summed over the run
            (e.g. Extrande's ``rejections`` and ``bound_violations``).
    """

    ts: Float[Array, " saves"]
    observables: dict[str, Array]
    state: Any
    event_log: EventLog
    status: Status
    num_steps: Int[Array, ""]
    stats: dict[str, Array] = eqx.field(default_factory=dict)

    @property
    def message(self) -> str:
        """The status message (for one trajectory)."""
        return Status[self.status]


def simulate(
    process: AbstractProcess,
    state0,
    *,
    t1: float,
    solver: AbstractSolver,
    key: Key,
    t0: float = 0.0,
    saveat: ArrayLike | None = None,
    observables: Mapping[str, Observable] | None = None,
    max_events: int | None = None,
    max_steps: int = 10_000_000,
    throw: bool = True,
    args: Any = None,
    progress: bool = False,
) -> Solution:
    """Simulate ``process`` from ``state0`` at ``t0`` up to ``t1`` with ``solver``.

    Args:
        process: the jump process (e.g. :class:`BirthDeath`).
        state0: its initial state (e.g. :class:`Population`).
        t1: final time.
        solver: e.g. ``Splitting(dt=0.01)``.
        key: a PRNG key; the same key gives the same trajectory.
        t0: initial time.
        saveat: increasing save times in [t0, t1] (default ``[t0, t1]``); observables are
            recorded at each. The run always goes on to t1 (``Solution.state``). Their
            number is static (changing it recompiles); their values,
            t0, t1, rates and step sizes are dynamic.
        observables: extra name -> ``f(t, state, args)`` functions recorded at save times.
        max_events: capacity of the event log (None: keep no log). Overflow sets
            ``Status.event_log_full``.
        max_steps: solver steps allowed before ``Status.max_steps_reached``.
        throw: raise when the status is not successful. Pass False under ``jax.vmap``.
        args: passed through to the process.
        progress: advance the innermost :func:`bdprocess.progress_bar` at each save time.

    Returns:
        A :class:`Solution`.

    Raises:
        ValueError: bad times, save grid or capacities (named in the message).
    """
    ts = _save_times(t0, t1, saveat)
    bounds = jnp.stack([jnp.asarray(t0, ts.dtype), jnp.asarray(t1, ts.dtype)])
    if max_events is not None and (not isinstance(max_events, int) or max_events < 1):
        raise ValueError(f"max_events must be a positive int or None, got {max_events!r}")
    if not isinstance(max_steps, int) or max_steps < 1:
        raise ValueError(f"max_steps must be a positive int, got {max_steps!r}")
    if not isinstance(process, AbstractProcess):
        raise ValueError(f"process must be an AbstractProcess, got {type(process).__name__}")
    if not isinstance(solver, AbstractSolver):
        raise ValueError(f"solver must be an AbstractSolver, got {type(solver).__name__}")
    sol = _simulate(
        process,
        state0,
        bounds,
        ts,
        solver,
        key,
        dict(observables or {}),
        max_events,
        max_steps,
        args,
        progress,
    )
    if throw:
        _raise_bad_rate(sol)
        sol = sol.status.error_if(sol, sol.status != Status.successful)
    return sol


def _raise_bad_rate(sol: Solution) -> None:
    # Outside jit the status is concrete: name the offending channel in the error.
    status, channel = sol.status._value, sol.stats["bad_channel"]
    if isinstance(status, jax.core.Tracer) or status.ndim:
        return
    if int(status) == Status.bad_rate._value:
        msg = f"{Status[sol.status]} (first bad channel: {int(channel)})"
        eqx.error_if(channel, jnp.asarray(True), msg)


def _save_times(t0, t1, saveat) -> Array:
    concrete = not any(isinstance(x, jax.core.Tracer) for x in (t0, t1, saveat))
    if saveat is None:
        ts = jnp.stack([jnp.asarray(t0, float), jnp.asarray(t1, float)])
    else:
        ts = jnp.asarray(saveat, float)
        if ts.ndim != 1 or ts.shape[0] < 1:
            raise ValueError(f"saveat must be a 1-D array of times, got shape {ts.shape}")
    if concrete and not isinstance(ts, jax.core.Tracer):
        t0_, t1_, ts_ = float(t0), float(t1), np.asarray(ts)
        if not np.isfinite(t0_) or not np.isfinite(t1_) or t1_ <= t0_:
            raise ValueError(f"need finite t0 < t1, got t0={t0_}, t1={t1_}")
        if np.any(np.diff(ts_) <= 0):
            raise ValueError(f"saveat must be strictly increasing, got {ts_}")
        if ts_[0] < t0_ or ts_[-1] > t1_:
            raise ValueError(f"saveat must lie in [t0, t1] = [{t0_}, {t1_}], got {ts_}")
    return ts


@eqx.filter_jit
def _simulate(
    process, state0, bounds, ts, solver, key, observables, max_events, max_steps, args, progress
):
    log0 = EventLog.empty(max_events or 0, ts.dtype)
    solver_state0 = solver.init(process, bounds[0], state0, args)

    def observe(t, state):
        out = dict(process.observe(t, state, args))
        for name, fn in observables.items():
            out[name] = jnp.asarray(fn(t, state, args))
        return out

    def interval(carry, t_stop):
        # The loop condition reads only t and the step count, not the (per-replica)
        # status: for fixed-step solvers it then stays unbatched under vmap, and vmap does
        # not have to select (copy) the whole carry, event log included, at every step.
        # A failed status is sticky, so a failed replica merely runs on to t_stop.
        def cond(c):
            t, steps = c[0], c[6]
            return (t < t_stop) & (steps < max_steps)

        def body(c):
            t, state, sstate, log, key, status, steps, counts, stats = c
            key, k_step = jr.split(key)
            t, state, sstate, info = solver.step(process, t, t_stop, state, sstate, k_step, args)
            if max_events is not None:
                log = log.record(t, info.jumps)
            finite = _all_finite(state)
            first = (status == Status.successful) & (info.status != Status.successful)
            bad = jnp.where(first, jnp.asarray(info.bad_channel, jnp.int32), stats["bad_channel"])
            status = Status.where(status == Status.successful, info.status, status)
            status = Status.where(finite, status, Status.nonfinite_state)
            stats = {k: v + info.stats[k] for k, v in stats.items() if k != "bad_channel"}
            stats["bad_channel"] = bad
            return t, state, sstate, log, key, status, steps + 1, counts + info.counts, stats

        t, state, sstate, log, key, status, steps, stats = carry
        c = (t, state, sstate, log, key, status, steps, process.zero_counts(), stats)
        t, state, sstate, log, key, status, steps, counts, stats = lax.while_loop(cond, body, c)
        status = Status.where(
            (status == Status.successful) & (t < t_stop), Status.max_steps_reached, status
        )
        if progress:
            jax.debug.callback(_progress.tick, t_stop)
        obs = observe(t_stop, state)
        obs.update(zip(process.event_kinds, counts, strict=False))
        return (t, state, sstate, log, key, status, steps, stats), obs

    # Run through every save time, then on to t1 (that last row is not a save).
    stops = jnp.concatenate([ts, bounds[1:]])
    stats0 = {name: jnp.zeros((), jnp.int32) for name in solver.stat_names}
    stats0["bad_channel"] = jnp.asarray(-1, jnp.int32)
    carry0 = (bounds[0], state0, solver_state0, log0, key, Status.successful, jnp.asarray(0))
    carry0 = carry0 + (stats0,)
    (t, state, _, log, _, status, steps, stats), obs = lax.scan(interval, carry0, stops)
    obs = jax.tree.map(lambda x: x[:-1], obs)
    if max_events is not None:
        status = Status.where(
            (status == Status.successful) & log.overflowed, Status.event_log_full, status
        )
    return Solution(ts, obs, state, log, status, steps, stats)


def _all_finite(state) -> Array:
    leaves = [x for x in jax.tree.leaves(state) if jnp.issubdtype(x.dtype, jnp.inexact)]
    if not leaves:  # e.g. the integer counts of a reaction network
        return jnp.asarray(True)
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in leaves]))


def ensemble(
    process: AbstractProcess,
    state0,
    *,
    keys: Key,
    batched_state: bool = False,
    **kwargs,
) -> Solution:
    """``simulate`` vmapped over ``keys`` (an array of PRNG keys, one per replica).

    ``state0`` is shared by all replicas unless ``batched_state`` (then its leaves carry a
    leading replica axis). Every field of the returned :class:`Solution` gains a leading
    replica axis. ``throw`` defaults to False here: check ``sol.status`` per replica.
    """
    kwargs.setdefault("throw", False)
    in_axes = (0, 0 if batched_state else None)

    def one(key, s0):
        return simulate(process, s0, key=key, **kwargs)

    return eqx.filter_vmap(one, in_axes=in_axes)(keys, state0)
