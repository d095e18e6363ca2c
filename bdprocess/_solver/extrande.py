"""Extrande: exact simulation of jump processes whose rates change between jumps.

M. Voliotis, P. Thomas, R. Grima, C. G. Bowsher, "Stochastic simulation of biomolecular
networks in dynamic environments", PLoS Comput. Biol. 12 (2016) e1004923. The thinning
idea goes back to P. A. W. Lewis, G. S. Shedler, "Simulation of nonhomogeneous Poisson
processes by thinning", Naval Res. Logist. Q. 26 (1979).
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jax import lax

from .._status import Status
from .._types import Array, Float
from ._base import AbstractSolver, StepInfo
from .direct import first_bad_channel, has_drift, pick_channel
from .tau_leap import _positive


def rk4(process, t, state, duration, max_dt, args):
    """The drift integrated over ``duration`` by classical Runge-Kutta (order 4).

    ``ceil(duration / max_dt)`` equal sub-steps (none when duration is 0), four drift
    evaluations each. The global error is O(max_dt^4) (tested).
    """
    n_sub = jnp.where(duration > 0, jnp.ceil(duration / max_dt), 0).astype(jnp.int32)
    h = (duration / jnp.maximum(n_sub, 1)).astype(t.dtype)

    def f(tt, s):
        return process.drift(tt, s, args)

    def body(_, carry):
        s, tt = carry
        k1 = f(tt, s)
        k2 = f(tt + h / 2, process.move(s, k1, h / 2))
        k3 = f(tt + h / 2, process.move(s, k2, h / 2))
        k4 = f(tt + h, process.move(s, k3, h))
        v = jax.tree.map(lambda a, b, c, d: (a + 2 * b + 2 * c + d) / 6, k1, k2, k3, k4)
        return process.move(s, v, h), tt + h

    return lax.fori_loop(0, n_sub, body, (state, t))[0]


class Extrande(AbstractSolver):
    """Exact jumps for rates that change along a drift, by thinning (Extrande).

    Each step asks the process for a bound B on its total rate over the look-ahead window
    [t, t + horizon] (``process.rate_bound``), then draws proposal times at rate B. At a
    proposal the drift is integrated up to it (:func:`rk4`, sub-steps of at most
    ``drift_dt``), the rates are evaluated and the proposal is accepted with probability
    (total rate) / B, as a jump of a channel chosen in proportion to its rate. A proposal
    past the window just advances the drift to its end. When the bound holds this is an
    exact simulation of the piecewise-deterministic process, up to the integrator's
    O(drift_dt^4) error; for a pure-jump process it reduces to :class:`Direct`.

    A total rate above B at a proposal means the bound was wrong: it is counted
    (``Solution.stats['bound_violations']``) and reported as
    ``Status.rate_bound_violated``, never silently accepted.

    When to use it: exact answers for :class:`BirthDeath` with transport (the paper's
    process, whose rates move with the particles). Each proposal costs a rate evaluation
    plus four drift evaluations per sub-step, each window a bound (for
    :class:`BirthDeath` a gradient and a Jacobian-vector product), so it is dearer than
    :class:`Splitting` per unit time; it has no time-discretisation error in the jumps.

    Args:
        horizon: look-ahead window H; shorter windows give tighter bounds (fewer
            rejections) but more bound evaluations.
        drift_dt: largest RK4 sub-step of the drift.
        safety: factor (>= 1) on the estimated part of the bound (for :class:`BirthDeath`
            the rate of change of the potentials); raise it if bounds are violated.

    All three are dynamic. ``Solution.stats`` counts ``proposals``, ``rejections`` and
    ``bound_violations``.
    """

    horizon: Float[Array, ""] = eqx.field(converter=_positive("horizon"), default=0.1)
    drift_dt: Float[Array, ""] = eqx.field(
        converter=_positive("drift_dt"), default=0.01, kw_only=True
    )
    safety: Float[Array, ""] = eqx.field(converter=_positive("safety"), default=2.0, kw_only=True)

    stat_names = ("proposals", "rejections", "bound_violations")

    def step(self, process, t, t_stop, state, solver_state, key, args):
        moves = has_drift(process, t, state, args)
        dtype = t.dtype
        end = jnp.minimum(t + self.horizon.astype(dtype), t_stop)
        bound = process.rate_bound(t, state, end - t, self.safety, args)
        bound_ok = (bound >= 0) & jnp.isfinite(bound)
        bound = jnp.where(bound_ok, bound, 0)
        tol = 1 + 64 * jnp.finfo(bound.dtype).eps  # rounding of one total rate

        def cond(c):
            return ~c["done"]

        def body(c):
            key, k_u = jr.split(c["key"])
            u = jr.uniform(k_u, (3,), bound.dtype)
            t_prop = c["t"] + (-jnp.log1p(-u[0]) / bound).astype(dtype)
            past = t_prop >= end
            t_next = jnp.where(past, end, t_prop)
            s = c["state"]
            if moves:
                s = rk4(process, c["t"], s, t_next - c["t"], self.drift_dt, args)
            rates = process.rates(t_next, s, args)
            bad_index, bad = first_bad_channel(rates)
            rates = jnp.where(bad, jnp.zeros_like(rates), rates)
            total = jnp.sum(rates)
            proposal = ~past & ~bad
            violated = proposal & (total > bound * tol)
            accept = proposal & (u[1] * bound < total)
            return {
                "t": jnp.where(bad, t_stop, t_next),
                "state": s,
                "key": key,
                "done": past | accept | bad,
                "accept": accept,
                "channel": pick_channel(rates, u[2]),
                "bad": bad,
                "bad_index": bad_index,
                "proposals": c["proposals"] + proposal,
                "rejections": c["rejections"] + (proposal & ~accept),
                "violations": c["violations"] + violated,
            }

        zero = jnp.zeros((), jnp.int32)
        k_loop, k_apply = jr.split(key)
        c0 = {
            "t": t,
            "state": state,
            "key": k_loop,
            "done": ~bound_ok,
            "accept": jnp.asarray(False),
            "channel": zero,
            "bad": ~bound_ok,
            "bad_index": jnp.asarray(-1, jnp.int32),
            "proposals": zero,
            "rejections": zero,
            "violations": zero,
        }
        c = lax.while_loop(cond, body, c0)
        # A NaN or negative bound comes from bad rates at t: name the channel (evaluated
        # only then, outside vmap).
        c["bad_index"] = lax.cond(
            bound_ok,
            lambda: c["bad_index"],
            lambda: first_bad_channel(process.rates(t, state, args))[0],
        )
        t_new = jnp.where(bound_ok, c["t"], t_stop)
        new, jumps, counts = process.apply(t_new, c["state"], c["channel"], k_apply, args)
        state = jax.tree.map(lambda a, b: jnp.where(c["accept"], a, b), new, c["state"])
        jumps = eqx.tree_at(lambda j: j.valid, jumps, jumps.valid & c["accept"])
        counts = jnp.where(c["accept"], counts, jnp.zeros_like(counts))
        status = Status.where(c["violations"] > 0, Status.rate_bound_violated, Status.successful)
        status = Status.where(c["bad"], Status.bad_rate, status)
        stats = {
            "proposals": c["proposals"],
            "rejections": c["rejections"],
            "bound_violations": c["violations"],
        }
        return t_new, state, solver_state, StepInfo(jumps, counts, status, c["bad_index"], stats)
