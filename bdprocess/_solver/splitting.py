"""The paper's splitting scheme (Algorithm 1 of Rotskoff et al., ICML 2019)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr

from .._status import Status
from .._types import Array, Float
from ._base import AbstractSolver, StepInfo
from .tau_leap import _clean

_EVAL_STREAM = 0x6261_7463
"""fold_in constant of the per-step evaluation key (far from the small split counts)."""


def _positive_dt(dt):
    dt = jnp.asarray(dt, dtype=jnp.result_type(float))
    if not isinstance(dt, jax.core.Tracer) and not bool(dt > 0 and jnp.isfinite(dt)):
        raise ValueError(f"dt must be positive and finite, got {dt}")
    return dt


class Splitting(AbstractSolver):
    """Lie splitting of drift and jumps with a fixed step ``dt``.

    Each step evaluates the rates and the drift once at the current state, moves every
    particle by an explicit Euler step of size dt, then performs all jumps of the step at
    once with :meth:`AbstractProcess.leap` (for :class:`BirthDeath`: each particle dies or
    is cloned with probability 1 - exp(-alpha |beta_i| dt), then n is restored).

    When to use it: the paper's own scheme, the cheapest per unit time (one O(n^2)
    potential evaluation per step), first-order accurate in dt. Use an exact solver when
    the time-discretisation error of the jumps matters.

    ``dt`` is dynamic: changing it does not recompile. The last step before a save time is
    shortened to land on it exactly. A negative or NaN rate sets ``Status.bad_rate`` (the
    channel in ``Solution.stats['bad_channel']``); that step's jumps use it as 0.
    """

    dt: Float[Array, ""] = eqx.field(converter=_positive_dt)

    def step(self, process, t, t_stop, state, solver_state, key, args):
        dt = self.dt.astype(jnp.result_type(t))
        # Land on t_stop exactly, allowing for the rounding of t in its dtype.
        slack = 16 * jnp.finfo(t.dtype).eps * jnp.maximum(jnp.abs(t_stop), 1)
        last = t_stop - t <= dt + slack
        h = jnp.where(last, t_stop - t, dt)
        # The evaluation key is folded off the step key, so the jump stream (key) is the
        # same as for a process that ignores it; mini-batch potentials draw their batch
        # from it, and that one batch drives both the gradient step and the jump rates.
        k_eval = jr.fold_in(key, _EVAL_STREAM)
        rates, velocity = process.rates_and_drift(t, state, args, key=k_eval)
        rates, bad_index, bad = _clean(rates)
        if velocity is not None:
            state = process.move(state, velocity, h)
        state, jumps, counts = process.leap(t, state, rates, h, key, args)
        t_new = jnp.where(last, t_stop, t + h)
        status = Status.where(bad, Status.bad_rate, Status.successful)
        return t_new, state, solver_state, StepInfo(jumps, counts, status, bad_index)
