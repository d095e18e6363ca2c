"""The neutral Moran population: a pure-jump process with exact genealogical answers.

n individuals occupy n slots. Each individual carries one clock of rate ``rate`` (1 by
default); when it rings the individual is replaced by a copy of a uniformly chosen *other*
individual. Nothing depends on the individuals' parameters (neutrality), so the genealogy
of the population is the Kingman coalescent with an exact time scale (Moran 1958;
Kingman 1982; see e.g. Durrett, *Probability Models for DNA Sequence Evolution*, ch. 1).

Coalescent answers (derived here; ``rate`` = r):

* An ordered pair (i replaced by a copy of j) happens at rate r / (n - 1). Looking back
  from any time, two given lineages merge exactly when one of them was created as a copy
  of the other, i.e. at rate lambda_2 = 2 r / (n - 1). Events that copy an outside
  individual into a lineage only move that lineage to another slot. Neutrality makes
  the events "i replaced by a copy of j" independent Poisson processes that do not depend
  on the state, so read backwards in time they are again Poisson with the same rates and
  the lineages' backward motion is Markov. So the pairwise coalescence time of two
  individuals alive at t is exponential with mean (n - 1) / (2 r) (observed when it is
  below t - t0).
* With k lineages, any of the k (k - 1) ordered pairs inside the sample merges two of them:
  rate lambda_k = k (k - 1) r / (n - 1) = binom(k, 2) lambda_2.
* The time to the most recent common ancestor of all n individuals is a sum of independent
  exponentials with rates lambda_k, k = n..2:
  E[TMRCA] = sum_k (n - 1) / (r k (k - 1)) = (n - 1)^2 / (r n),
  Var[TMRCA] = sum_k ((n - 1) / (r k (k - 1)))^2.

A run started from n distinct founders at t0 reveals the genealogy of the population at t
back to t0 only: the TMRCA is observed when it is below t - t0 (its law is the one above,
censored there). Run for t - t0 >> n / r (a few times E[TMRCA]) to see it almost surely.

Jump records follow :class:`bdprocess.BirthDeath` (``kind`` = DEATH: the replaced
individual's own clock rang; ``partner`` = the copied slot), so the genealogy tools in
``analysis.genealogy`` read both. The state is a :class:`bdprocess.Population`; theta is
an inert (n, 1) label that is copied with the individual. :func:`initial_state` sets it to
the founder's slot index, so at any time theta tells each individual's founder: an
engine-side record of ancestry that the genealogy can be checked against.
"""

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from scipy.sparse.linalg import expm_multiply

from bdprocess import DEATH, AbstractProcess, Jumps, Population
from bdprocess._types import Array, Float, Key


def _positive(x):
    x = jnp.asarray(x, dtype=jnp.result_type(float))
    if not isinstance(x, jax.core.Tracer) and not bool(jnp.all((x > 0) & jnp.isfinite(x))):
        raise ValueError(f"rate must be positive and finite, got {x}")
    return x


class Moran(AbstractProcess):
    """Neutral Moran model: each individual is replaced at rate ``rate`` by a copy of a
    uniformly chosen other individual.

    When to use it: as a check of the jump engine and the genealogy tools against exact
    coalescent theory (see the module docstring for the formulas), and as the neutral
    reference for the genealogies of :class:`bdprocess.BirthDeath`.

    Channels ``0..n-1``: the replacement of the occupant of slot i (rate ``rate`` each).
    ``rate`` is dynamic (sweeping it does not recompile).
    """

    rate: Float[Array, ""] = eqx.field(converter=_positive, default=1.0)

    event_kinds: ClassVar[tuple[str, ...]] = ("replacements",)

    def rates(self, t, state: Population, args=None):
        return jnp.broadcast_to(self.rate.astype(state.theta.dtype), (state.n,))

    def apply(self, t, state: Population, channel, key: Key, args=None):
        """Replace the occupant of slot ``channel`` by a copy of a uniform other."""
        n = state.n
        other = jr.randint(key, (), 0, n - 1)
        partner = other + (other >= channel)  # uniform over the n - 1 others
        slot = jnp.asarray(channel, jnp.int32)[None]
        new_state, jumps = _overwrite(state, slot, partner[None], jnp.ones((1,), bool))
        return new_state, jumps, jnp.ones((1,), jnp.int32)

    def leap(self, t, state: Population, rates, dt, key: Key, args=None):
        """All replacements of a step at once (for tau-leaping / splitting solvers).

        Each individual is replaced with probability 1 - exp(-rate_i dt) by a copy of a
        uniform other, read from the state at the start of the step. Approximate: the
        events of one step do not see each other (use an exact solver for theory checks).
        """
        n = state.n
        k_fire, k_other = jr.split(key)
        fire = jr.uniform(k_fire, (n,), rates.dtype) < -jnp.expm1(-rates * dt)
        slot = jnp.arange(n, dtype=jnp.int32)
        other = jr.randint(k_other, (n,), 0, n - 1)
        partner = other + (other >= slot)
        new_state, jumps = _overwrite(state, slot, partner, fire)
        return new_state, jumps, jnp.sum(fire, dtype=jnp.int32)[None]

    def observe(self, t, state: Population, args=None) -> dict[str, Array]:
        """``founders``: the number of distinct labels theta (founders, with
        :func:`initial_state`) still present."""
        labels = jnp.sort(state.theta[:, 0])
        return {"founders": 1 + jnp.sum(labels[1:] != labels[:-1], dtype=jnp.int32)}


def _overwrite(state: Population, slot, partner, valid):
    """Slot ``slot[a]`` takes a copy of slot ``partner[a]`` (pre-step state) where valid."""
    n = state.n
    target = jnp.where(valid, slot, n)  # n is out of bounds: dropped
    new_id = state.next_id + jnp.cumsum(valid, dtype=jnp.int32) - 1
    new_state = Population(
        theta=state.theta.at[target].set(state.theta[partner], mode="drop"),
        ids=state.ids.at[target].set(new_id, mode="drop"),
        next_id=state.next_id + jnp.sum(valid, dtype=jnp.int32),
    )
    jumps = Jumps(
        kind=jnp.full(slot.shape, DEATH, jnp.int32),
        slot=slot.astype(jnp.int32),
        partner=partner.astype(jnp.int32),
        new_id=jnp.where(valid, new_id, -1),
        parent_id=jnp.where(valid, state.ids[partner], -1),
        valid=valid,
    )
    return new_state, jumps


def initial_state(n: int) -> Population:
    """n founders in slots 0..n-1 with ids 0..n-1 and theta = their slot index (a label).

    Raises:
        ValueError: n < 2.
    """
    if not isinstance(n, int | np.integer) or n < 2:
        raise ValueError(f"a Moran population needs an integer n >= 2, got n={n!r}")
    return Population.from_positions(jnp.arange(n, dtype=jnp.result_type(float))[:, None])


def pair_coalescence_rate(n: int, rate: float = 1.0) -> float:
    """lambda_2 = 2 rate / (n - 1): the rate at which two given lineages merge."""
    return 2.0 * rate / (n - 1)


def coalescence_rates(n: int, rate: float = 1.0) -> np.ndarray:
    """lambda_k = k (k - 1) rate / (n - 1) for k = n, n-1, ..., 2 (in that order)."""
    k = np.arange(n, 1, -1, dtype=float)
    return k * (k - 1) * rate / (n - 1)


def tmrca_mean(n: int, rate: float = 1.0) -> float:
    """E[TMRCA] of all n individuals: (n - 1)^2 / (rate n)."""
    return (n - 1) ** 2 / (rate * n)


def tmrca_var(n: int, rate: float = 1.0) -> float:
    """Var[TMRCA] of all n individuals: sum_k 1 / lambda_k^2."""
    return float(np.sum(coalescence_rates(n, rate) ** -2.0))


def lineage_law(s, n: int, rate: float = 1.0) -> np.ndarray:
    """P(k ancestral lineages at time back s) for k = n, n-1, ..., 1: shape (len(s), n).

    The number of lineages of the n individuals alive now is a pure-death chain
    n -> n-1 -> ... -> 1 with rates lambda_k; its law is propagated with the action of the
    matrix exponential of the generator (stable where the partial-fraction form of the
    hypoexponential law is not), in one sweep over the sorted times.
    """
    lam = coalescence_rates(n, rate)  # leaving k = n, ..., 2
    transposed = np.zeros((n, n))  # generator transposed: d p / ds = G^T p
    transposed[np.arange(n - 1), np.arange(n - 1)] = -lam
    transposed[np.arange(1, n), np.arange(n - 1)] = lam
    s = np.maximum(np.atleast_1d(np.asarray(s, dtype=float)).ravel(), 0.0)
    times, inverse = np.unique(s, return_inverse=True)
    law = np.zeros((times.size, n))
    p = np.zeros(n)
    p[0] = 1.0
    gaps = np.diff(np.concatenate([[0.0], times]))
    if times.size > 2 and np.allclose(gaps[1:], gaps[1], rtol=1e-9, atol=0):
        # a uniform grid: one call for all times
        p = expm_multiply(transposed * times[0], p)
        law = expm_multiply(
            transposed, p, start=0.0, stop=times[-1] - times[0], num=times.size, endpoint=True
        )
    else:
        for i, gap in enumerate(gaps):
            p = expm_multiply(transposed * gap, p) if gap > 0 else p
            law[i] = p
    return np.clip(law, 0.0, 1.0)[inverse]


def tmrca_cdf(s, n: int, rate: float = 1.0) -> np.ndarray:
    """P(TMRCA <= s) of all n individuals (the chain has reached one lineage)."""
    shape = np.shape(s)
    return lineage_law(s, n, rate)[:, -1].reshape(shape)


def expected_lineages(s, n: int, rate: float = 1.0) -> np.ndarray:
    """E[number of ancestral lineages at time back s] of the n individuals alive now."""
    shape = np.shape(s)
    return (lineage_law(s, n, rate) @ np.arange(n, 0, -1.0)).reshape(shape)
