"""Neuron birth-death: gradient flow plus state-dependent kill / clone clocks.

Rotskoff, Jelassi, Bruna, Vanden-Eijnden, "Neuron birth-death dynamics accelerates
gradient descent and converges asymptotically", ICML 2019 (REFERENCE.md section 3).
"""

from typing import ClassVar, Literal

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr

from ._events import BIRTH, DEATH, Jumps
from ._population import Population
from ._potential import AbstractPotential
from ._process import AbstractProcess
from ._types import Array, ArrayLike, Float, Key, Potentials

Rebirth = Literal["clone", "prior"]


def _nonnegative(name):
    def convert(x):
        x = jnp.asarray(x, dtype=jnp.result_type(float))
        if not isinstance(x, jax.core.Tracer) and not bool(jnp.all(x >= 0)):
            raise ValueError(f"{name} must be >= 0, got {x}")
        return x

    return convert


class BirthDeath(AbstractProcess):
    """The paper's particle process on a :class:`Population` of fixed size n.

    Between jumps each particle follows d theta_i/dt = -grad V(theta_i, mu_n) (when
    ``transport``). With beta_i = V_i - Vbar (``centred``) or beta_i = V_i (uncentred, as
    in the authors' notebook) each particle carries two clocks:

    * death at rate alpha * max(beta_i, 0): slot i is overwritten by a copy of a uniformly
      chosen other particle (``rebirth="clone"``) or by a draw from the potential's prior
      mu_b (``rebirth="prior"``, the paper's second scheme);
    * birth at rate alpha * max(-beta_i, 0): a uniformly chosen other slot is overwritten by
      a copy of particle i.

    n stays constant, and both centrings give the same mean-field PDE
    d_t mu = div(mu grad V) - alpha (V - Vbar) mu; centring lowers the number of jumps.
    Jumps stop at ``jumps_until`` (the paper's final "quench" of pure gradient descent).

    ``alpha`` and ``jumps_until`` are dynamic (sweeping them does not recompile);
    ``centred``, ``rebirth`` and ``transport`` are static.

    Channels: ``0..n-1`` are the deaths, ``n..2n-1`` the births of particles ``0..n-1``.
    """

    potential: AbstractPotential
    alpha: Float[Array, ""] = eqx.field(converter=_nonnegative("alpha"))
    centred: bool = eqx.field(static=True, default=True, kw_only=True)
    rebirth: Rebirth = eqx.field(static=True, default="clone", kw_only=True)
    transport: bool = eqx.field(static=True, default=True, kw_only=True)
    jumps_until: Float[Array, ""] = eqx.field(
        converter=_nonnegative("jumps_until"), default=jnp.inf, kw_only=True
    )

    event_kinds: ClassVar[tuple[str, ...]] = ("deaths", "births")

    def __check_init__(self):
        if self.rebirth not in ("clone", "prior"):
            raise ValueError(f"rebirth must be 'clone' or 'prior', got {self.rebirth!r}")
        if not isinstance(self.potential, AbstractPotential):
            raise ValueError(
                f"potential must be an AbstractPotential, got {type(self.potential).__name__}"
            )

    # ---- rates and drift ----------------------------------------------------------------

    def rates_from_potentials(self, t, V: Potentials) -> Float[Array, " 2n"]:
        """Death rates then birth rates (shape 2n) given the potentials V_i."""
        beta = V - jnp.mean(V) if self.centred else V
        on = jnp.asarray(t < self.jumps_until, V.dtype)
        scale = self.alpha.astype(V.dtype) * on
        return jnp.concatenate([scale * jnp.maximum(beta, 0), scale * jnp.maximum(-beta, 0)])

    def rates(self, t, state: Population, args=None):
        V = self.potential.evaluate(state.theta, with_grad=False).potentials
        return self.rates_from_potentials(t, V)

    def drift(self, t, state: Population, args=None):
        if not self.transport:
            return None
        return -self.potential.evaluate(state.theta, with_grad=True).gradients

    def rates_and_drift(self, t, state: Population, args=None, *, key: Key | None = None):
        # One (possibly mini-batch) evaluation drives both the drift and the rates.
        ev = self.potential.estimate(state.theta, with_grad=self.transport, key=key)
        velocity = -ev.gradients if self.transport else None
        return self.rates_from_potentials(t, ev.potentials), velocity

    def move(self, state: Population, velocity, dt):
        return eqx.tree_at(lambda s: s.theta, state, state.theta + dt * velocity)

    def rate_bound(self, t, state: Population, horizon, safety, args=None):
        """Extrande's bound on the total rate over [t, t + horizon] if no jump happens.

        Along the drift |beta_i(s)| <= |beta_i(t)| + (s - t) max |d beta_i/ds|. The
        derivative at t is exact (a Jacobian-vector product of the potentials along the
        velocity -grad V); its maximum over the window is estimated as ``safety`` times
        that value, so B = alpha sum_i (|beta_i| + safety horizon |d beta_i/dt|), with
        beta_i = V_i - Vbar (or V_i uncentred). Without transport B is the current total
        rate, which is exact. :class:`bdprocess.Extrande` reports any proposal whose total
        rate exceeds B.
        """
        if not self.transport:
            return jnp.sum(self.rates(t, state, args))
        theta = state.theta
        velocity = -self.potential.evaluate(theta, with_grad=True).gradients

        def potentials(th):
            return self.potential.evaluate(th, with_grad=False).potentials

        V, dV = jax.jvp(potentials, (theta,), (velocity.astype(theta.dtype),))
        if self.centred:
            V, dV = V - jnp.mean(V), dV - jnp.mean(dV)
        on = jnp.asarray(t < self.jumps_until, V.dtype)
        scale = self.alpha.astype(V.dtype) * on
        return scale * jnp.sum(jnp.abs(V) + safety * horizon * jnp.abs(dV))

    def leap_size(self, t, state: Population, rates, eps, args=None):
        """AdaptiveTauLeap's leap eps n / (total rate): about a fraction eps of the
        particles jump per leap. Each jump moves mu_n by 1/n, so V, Vbar and every rate
        change by a relative amount of order eps over the leap."""
        return eps * state.n / jnp.sum(rates)

    def observe(self, t, state: Population, args=None) -> dict[str, Array]:
        ev = self.potential.evaluate(state.theta, with_grad=False)
        return {"energy": ev.energy, "vbar": jnp.mean(ev.potentials)}

    # ---- jumps ----------------------------------------------------------------------------

    def apply(self, t, state: Population, channel, key: Key, args=None):
        """One jump: channel i < n is the death of i, channel n + i the birth of i."""
        n = state.n
        k_other, k_prior = jr.split(key)
        i = channel % n
        is_death = channel < n
        other = jr.randint(k_other, (), 0, n - 1)
        other = other + (other >= i)  # uniform over the n - 1 others
        slot = jnp.where(is_death, i, other)
        partner = jnp.where(is_death, other, i)
        if self.rebirth == "prior":
            partner = jnp.where(is_death, -1, partner)
        kind = jnp.where(is_death, DEATH, BIRTH)
        counts = jnp.stack([is_death, ~is_death]).astype(jnp.int32)
        return self._overwrite(
            state, slot[None], partner[None], kind[None], jnp.ones((1,), bool), k_prior
        ) + (counts,)

    def leap(self, t, state: Population, rates, dt, key: Key, args=None):
        """The paper's Algorithm 1 jump step (with the 2020 survivor fix).

        Each particle fires independently with probability 1 - exp(-rate_i dt), as a death
        or a birth in proportion to its two rates. Then n is restored: every killed slot is
        refilled (by a clone of a birth, else of a uniformly chosen survivor; or from the
        prior) and every birth without a matching death overwrites a distinct uniformly
        chosen survivor. A removal that lands on the clone's own source cancels that clone,
        as in the authors' scheme where removals are drawn from the population after cloning.
        """
        n = state.n
        k_uniform, k_prior = jr.split(key)
        u_fire, u_kind, u_order_kill, u_order_clone, u_pick = jr.uniform(
            k_uniform, (5, n), rates.dtype
        )
        death, birth = rates[:n], rates[n:]
        total = death + birth
        fire = u_fire < -jnp.expm1(-total * dt)
        is_death = u_kind * total < death
        kill = fire & is_death
        clone = fire & ~is_death
        n_kill = jnp.sum(kill, dtype=jnp.int32)
        n_clone = jnp.sum(clone, dtype=jnp.int32)

        # Killed slots first (random order), then the survivors in random order; the same
        # for the clone sources. Position a < n_kill in `by_kill` is a killed slot.
        by_kill = _random_order(u_order_kill, kill)
        by_clone = _random_order(u_order_clone, clone)
        a = jnp.arange(n)
        n_surv = jnp.maximum(n - n_kill, 1)
        pick = n_kill + jnp.floor(u_pick * n_surv).astype(jnp.int32)
        random_survivor = by_kill[jnp.minimum(pick, n - 1)]

        slot = by_kill
        if self.rebirth == "clone":
            # Position a < max(n_kill, n_clone): slot by_kill[a] (a killed slot, else a
            # random survivor removed for a birth) takes a copy of by_clone[a] (a clone
            # source, else a random survivor).
            valid = a < jnp.maximum(n_kill, n_clone)
            partner = jnp.where(a < n_clone, by_clone, random_survivor)
        else:
            # Killed slots take prior draws; clone source b takes survivor slot n_kill + b.
            valid = a < n_kill + n_clone
            source = by_clone[jnp.clip(a - n_kill, 0, n - 1)]
            partner = jnp.where(a < n_kill, -1, source)
        kind = jnp.where(a < n_kill, DEATH, BIRTH)
        valid = valid & (slot != partner)
        counts = jnp.stack([n_kill, n_clone])
        return self._overwrite(state, slot, partner, kind, valid, k_prior) + (counts,)

    def _overwrite(self, state: Population, slot, partner, kind, valid, key):
        """Write copies (partner >= 0) or prior draws (partner = -1) into the valid slots."""
        n = state.n
        m = slot.shape[0]
        copies = state.theta[jnp.maximum(partner, 0)]
        if self.rebirth == "prior":
            fresh = self.potential.sample_prior(key, m).astype(state.theta.dtype)
            copies = jnp.where((partner < 0)[:, None], fresh, copies)
        target = jnp.where(valid, slot, n)  # n is out of bounds: dropped
        new_id = state.next_id + jnp.cumsum(valid, dtype=jnp.int32) - 1
        parent_id = jnp.where(partner >= 0, state.ids[jnp.maximum(partner, 0)], -1)
        new_state = Population(
            theta=state.theta.at[target].set(copies, mode="drop"),
            ids=state.ids.at[target].set(new_id, mode="drop"),
            next_id=state.next_id + jnp.sum(valid, dtype=jnp.int32),
        )
        jumps = Jumps(
            kind=kind.astype(jnp.int32),
            slot=slot.astype(jnp.int32),
            partner=partner.astype(jnp.int32),
            new_id=jnp.where(valid, new_id, -1),
            parent_id=jnp.where(valid, parent_id, -1),
            valid=valid,
        )
        return new_state, jumps


def _random_order(u: Array, first: ArrayLike) -> Array:
    """A permutation listing the True entries of ``first`` (random order), then the rest.

    ``u`` holds one independent U(0, 1) draw per entry.
    """
    return jnp.argsort(jnp.where(first, u, 1.0 + u)).astype(jnp.int32)
