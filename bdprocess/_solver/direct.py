"""Gillespie's direct method (exact stochastic simulation of pure-jump processes).

D. T. Gillespie, "A general method for numerically simulating the stochastic time
evolution of coupled chemical reactions", J. Comput. Phys. 22 (1976) 403-434; and
"Exact stochastic simulation of coupled chemical reactions", J. Phys. Chem. 81 (1977).
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr

from .._status import Status
from .._types import Array, Float, Int
from ._base import AbstractSolver, StepInfo


def first_bad_channel(rates: Float[Array, " c"]) -> tuple[Int[Array, ""], Array]:
    """(index of the first negative or NaN rate or -1, whether there is one)."""
    bad = ~(rates >= 0)
    any_bad = jnp.any(bad)
    return jnp.where(any_bad, jnp.argmax(bad), -1).astype(jnp.int32), any_bad


def pick_channel(rates: Float[Array, " c"], u: Float[Array, ""]) -> Int[Array, ""]:
    """The channel j with cum_{j-1} <= u * total < cum_j (probability rate_j / total).

    O(c) work (a cumulative sum and one vectorised comparison, which on CPU beats a
    binary search); zero-rate channels are never chosen while the total is positive.
    """
    cum = jnp.cumsum(rates)
    above = cum > u * cum[-1]
    # Rounding can put u * total on cum[-1]: fall back to the last positive channel.
    last = rates.shape[0] - 1 - jnp.argmax(rates[::-1] > 0)
    return jnp.where(jnp.any(above), jnp.argmax(above), last).astype(jnp.int32)


def ssa_step(process, t, t_stop, state, rates, key, args):
    """One exact jump of a process whose rates stay ``rates`` until that jump.

    Draws the waiting time Exp(total rate); if the jump falls before ``t_stop`` it picks a
    channel in proportion to its rate and applies it, otherwise it returns ``t_stop`` with
    the state unchanged (exact, the clocks being memoryless). A negative or NaN rate
    stops the trajectory at ``t_stop`` with ``Status.bad_rate``.

    Returns ``(t_new, state, StepInfo)``.
    """
    k_u, k_apply = jr.split(key)
    u = jr.uniform(k_u, (2,), rates.dtype)
    bad_index, bad = first_bad_channel(rates)
    rates = jnp.where(bad, jnp.zeros_like(rates), rates)
    total = jnp.sum(rates)
    wait = -jnp.log1p(-u[0]) / total  # inf when nothing can happen
    t_jump = t + wait.astype(t.dtype)
    fire = (t_jump < t_stop) & ~bad
    channel = pick_channel(rates, u[1])
    new_state, jumps, counts = process.apply(t_jump, state, channel, k_apply, args)
    state = jax.tree.map(lambda a, b: jnp.where(fire, a, b), new_state, state)
    jumps = eqx.tree_at(lambda j: j.valid, jumps, jumps.valid & fire)
    counts = jnp.where(fire, counts, jnp.zeros_like(counts))
    t_new = jnp.where(fire, t_jump, t_stop)
    status = Status.where(bad, Status.bad_rate, Status.successful)
    return t_new, state, StepInfo(jumps, counts, status, bad_index)


def has_drift(process, t, state, args) -> bool:
    """Whether ``process`` moves between jumps (decided at trace time, nothing computed)."""
    return jax.eval_shape(lambda: process.drift(t, state, args)) is not None


class Direct(AbstractSolver):
    """Gillespie's direct method: one exact jump per step.

    Each step evaluates every rate, draws the time to the next jump from the exponential
    law of the total rate and the channel in proportion to its rate, and applies it.

    When to use it: exact simulation of pure-jump processes (reaction networks,
    :class:`BirthDeath` with ``transport=False``) when the number of jumps is moderate.
    The cost is one rate evaluation per jump (O(channels), O(n^2) for an interacting
    population), so for many jumps per unit time prefer :class:`AdaptiveTauLeap` or
    :class:`TauLeap`; for rates that change between jumps (a drift) use :class:`Extrande`.

    Under ``jax.vmap`` every replica runs until the slowest one has finished its jumps of
    the current save interval, and each loop iteration selects the whole loop carry, the
    event log included: with ``max_events`` set each jump then costs O(max_events) per
    replica on top of the rates, so keep ``max_events=None`` for large ensembles that need
    no log.

    Raises:
        ValueError: the process has a drift.
    """

    def init(self, process, t0, state, args):
        if has_drift(process, t0, state, args):
            raise ValueError(
                f"Direct simulates pure-jump processes, but {type(process).__name__} has a "
                "drift; use Extrande (exact) or Splitting, or switch the drift off "
                "(e.g. BirthDeath(..., transport=False))"
            )
        return None

    def step(self, process, t, t_stop, state, solver_state, key, args):
        rates = process.rates(t, state, args)
        t_new, state, info = ssa_step(process, t, t_stop, state, rates, key, args)
        return t_new, state, solver_state, info
