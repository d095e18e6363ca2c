"""The paper's splitting scheme (Algorithm 1 of Rotskoff et al., ICML 2019)."""

import equinox as eqx
import jax
import jax.numpy as jnp

from .._types import Array, Float
from ._base import AbstractSolver
from .tau_leap import fixed_leap_step


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
        t, state, info = fixed_leap_step(process, t, t_stop, self.dt, state, key, args)
        return t, state, solver_state, info
