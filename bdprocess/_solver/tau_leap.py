"""Tau-leaping: many jumps per step with frozen rates.

D. T. Gillespie, "Approximate accelerated stochastic simulation of chemically reacting
systems", J. Chem. Phys. 115 (2001) 1716; Y. Cao, D. T. Gillespie, L. R. Petzold,
"Efficient step size selection for the tau-leaping simulation method", J. Chem. Phys.
124 (2006) 044109.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jax import lax

from .._events import Jumps
from .._status import Status
from .._types import Array, Float
from ._base import AbstractSolver, StepInfo
from .direct import first_bad_channel, has_drift, ssa_step


def _positive(name):
    def convert(x):
        x = jnp.asarray(x, dtype=jnp.result_type(float))
        if not isinstance(x, jax.core.Tracer) and not bool(x > 0 and jnp.isfinite(x)):
            raise ValueError(f"{name} must be positive and finite, got {x}")
        return x

    return convert


def _landing(t, t_stop, h):
    """(step size, whether it lands on t_stop): h, shortened to hit t_stop exactly."""
    slack = 16 * jnp.finfo(t.dtype).eps * jnp.maximum(jnp.abs(t_stop), 1)
    last = t_stop - t <= h + slack
    return jnp.where(last, t_stop - t, h), last


def _clean(rates):
    bad_index, bad = first_bad_channel(rates)
    return jnp.where(bad, jnp.zeros_like(rates), rates), bad_index, bad


_EVAL_STREAM = 0x6261_7463
"""fold_in constant of the per-step evaluation key (far from the small split counts)."""


def fixed_leap_step(process, t, t_stop, h, state, key, args):
    """One step of size h (shortened to land on t_stop) with rates frozen at its start.

    The rates and the drift are evaluated once; the particles move by an explicit Euler
    step, then every channel fires by :meth:`AbstractProcess.leap`. The evaluation key is
    folded off the step key, so the jump stream (``key``) is the same as for a process
    that ignores it; a mini-batch potential draws its batch from it, and that one batch
    drives both the drift and the rates. Shared by :class:`TauLeap` and :class:`Splitting`.
    """
    h, last = _landing(t, t_stop, h.astype(t.dtype))
    rates, velocity = process.rates_and_drift(t, state, args, key=jr.fold_in(key, _EVAL_STREAM))
    rates, bad_index, bad = _clean(rates)
    if velocity is not None:
        state = process.move(state, velocity, h)
    state, jumps, counts = process.leap(t, state, rates, h, key, args)
    t_new = jnp.where(last, t_stop, t + h)
    status = Status.where(bad, Status.bad_rate, Status.successful)
    return t_new, state, StepInfo(jumps, counts, status, bad_index)


class TauLeap(AbstractSolver):
    """Fixed-step tau-leaping: every channel fires over a step tau with frozen rates.

    Reaction networks (:class:`ReactionNetwork`) fire K_j ~ Poisson(a_j tau) times per
    reaction (capped so that no count goes negative); particle processes
    (:class:`BirthDeath`) use Bernoulli-per-particle leaps (each particle jumps at most
    once per step, with probability 1 - exp(-rate tau), and n is restored exactly). With a
    drift the particles first move by one explicit Euler step, which is then the paper's
    :class:`Splitting` scheme, step for step: each step passes the process an evaluation
    key folded off the step key as Splitting does, so a mini-batch potential
    (:class:`DataPotential` with ``batch_size``) draws one fresh batch per step for both
    the drift and the rates.

    When to use it: many jumps per unit time and a known safe step. Its weak error is
    first order in tau (Gillespie 2001; tested). Prefer :class:`AdaptiveTauLeap` when the
    rates vary a lot over the run, :class:`Direct` when exact answers matter.

    ``tau`` is dynamic (changing it does not recompile); the last step before a save
    time is shortened to land on it.
    """

    tau: Float[Array, ""] = eqx.field(converter=_positive("tau"))

    def step(self, process, t, t_stop, state, solver_state, key, args):
        t, state, info = fixed_leap_step(process, t, t_stop, self.tau, state, key, args)
        return t, state, solver_state, info


class AdaptiveTauLeap(AbstractSolver):
    """Tau-leaping with the step chosen so that no rate changes by more than about eps.

    Each step asks the process for its leap size (``process.leap_size``): for reaction
    networks the Cao-Gillespie-Petzold (2006) rule, which bounds the expected relative
    change of every propensity by ``eps``; for :class:`BirthDeath` the rule that a leap
    replaces about a fraction ``eps`` of the population and fires each particle with
    probability about ``eps``. When the leap would hold fewer than ``exact_below``
    expected jumps, a leap does not pay and the step is one exact :class:`Direct` jump
    instead (the fallback of Cao, Gillespie, Petzold).

    When to use it: pure-jump processes with many jumps per unit time whose rates change
    over the run; ``eps`` = 0.03 (the default) keeps the mean and standard deviation of the
    classic test networks within 2% of exact. Pure-jump processes only (a drift would
    need its own step control: use :class:`Extrande` or :class:`Splitting`). The rates are
    evaluated without a key (``process.rates``), so a :class:`DataPotential` uses its fixed
    sample ``data`` here, as in the exact solvers.

    ``Solution.stats`` counts the ``leaps`` and the ``exact_steps``. ``eps`` and
    ``exact_below`` are dynamic.

    Raises:
        ValueError: the process has a drift.
    """

    eps: Float[Array, ""] = eqx.field(converter=_positive("eps"), default=0.03)
    exact_below: Float[Array, ""] = eqx.field(
        converter=_positive("exact_below"), default=10.0, kw_only=True
    )

    stat_names = ("leaps", "exact_steps")

    def init(self, process, t0, state, args):
        if has_drift(process, t0, state, args):
            raise ValueError(
                f"AdaptiveTauLeap needs a pure-jump process, but {type(process).__name__} "
                "has a drift; use TauLeap or Splitting (fixed step) or Extrande (exact)"
            )
        return None

    def step(self, process, t, t_stop, state, solver_state, key, args):
        k_leap, k_exact = jr.split(key)
        rates, bad_index, bad = _clean(process.rates(t, state, args))
        total = jnp.sum(rates)
        tau = process.leap_size(t, state, rates, self.eps.astype(rates.dtype), args)
        exact = (tau * total < self.exact_below) | bad

        def leap(_):
            h, last = _landing(t, t_stop, tau.astype(t.dtype))
            new, jumps, counts = process.leap(t, state, rates, h, k_leap, args)
            return jnp.where(last, t_stop, t + h), new, jumps, counts

        def one_jump(_):
            t_new, new, info = ssa_step(process, t, t_stop, state, rates, k_exact, args)
            return t_new, new, info.jumps, info.counts

        shapes = [jax.eval_shape(f, None)[2] for f in (leap, one_jump)]
        m = max(j.kind.shape[0] for j in shapes)
        t_new, state, jumps, counts = lax.cond(exact, _padded(one_jump, m), _padded(leap, m), None)
        status = Status.where(bad, Status.bad_rate, Status.successful)
        stats = {"leaps": (~exact).astype(jnp.int32), "exact_steps": exact.astype(jnp.int32)}
        return t_new, state, solver_state, StepInfo(jumps, counts, status, bad_index, stats)


def _padded(branch, m):
    """``branch`` with its Jumps padded to m records (invalid padding)."""

    def run(operand):
        t_new, state, jumps, counts = branch(operand)
        return t_new, state, _pad(jumps, m), counts

    return run


def _pad(jumps: Jumps, m: int) -> Jumps:
    extra = m - jumps.kind.shape[0]
    if extra == 0:
        return jumps
    fill = Jumps.none(extra)
    return jax.tree.map(lambda a, b: jnp.concatenate([a, b]), jumps, fill)
