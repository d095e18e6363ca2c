"""The learning problem as a potential on particle populations (REFERENCE.md section 1).

For a population mu_n = (1/n) sum_i delta_{theta_i} a potential gives the energy E[mu_n],
the potentials V_i = V(theta_i, mu_n), their gradients grad V_i (the mean-field drift is
-grad V_i) and a prior sampler mu_b (rebirth from the prior).
"""

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
from jax import lax

from ._types import Array, Float, Key, Positions, Potentials, Scalar


class Evaluation(eqx.Module):
    """V_i, grad V_i (None unless asked for) and E[mu_n] from one pass over the population."""

    potentials: Potentials
    gradients: Positions | None
    energy: Scalar


class AbstractPotential(eqx.Module):
    """A mean-field learning problem: energy, potentials, gradients and a prior.

    Subclasses implement :meth:`evaluate` and :meth:`sample_prior`. The kernel form
    (:class:`KernelPotential`) needs only F, K and C_f in closed form.
    """

    @abc.abstractmethod
    def evaluate(self, theta: Positions, *, with_grad: bool = True) -> Evaluation:
        """V(theta_i, mu_n), optionally its gradient in theta_i, and E[mu_n]."""

    @abc.abstractmethod
    def sample_prior(self, key: Key, n: int) -> Positions:
        """n independent draws from the prior mu_b used for rebirth."""

    def estimate(
        self, theta: Positions, *, with_grad: bool = True, key: Key | None = None
    ) -> Evaluation:
        """The evaluation one solver step sees (its rates and its drift come from it).

        Deterministic potentials return :meth:`evaluate` and ignore ``key``. Stochastic
        ones (:class:`bdprocess.DataPotential`) draw a fresh mini-batch from ``key``, so
        that one batch drives both the gradient step and the jump rates of a step.
        """
        return self.evaluate(theta, with_grad=with_grad)

    def energy(self, theta: Positions) -> Scalar:
        """E[mu_n]."""
        return self.evaluate(theta, with_grad=False).energy

    def potentials(self, theta: Positions) -> Potentials:
        """V(theta_i, mu_n) for every particle."""
        return self.evaluate(theta, with_grad=False).potentials


class KernelPotential(AbstractPotential):
    """Kernel form E[mu] = C_f - int F dmu + 1/2 int int K dmu dmu.

    Then V(theta, mu) = -F(theta) + int K(theta, theta') mu(dtheta'). Subclasses give F
    (:meth:`source`), K (:meth:`kernel`) for single particles and C_f (:meth:`constant`).
    Kernel sums run over blocks of ``block_size`` sources with ``lax.scan``, so memory is
    O(n * block_size) and n = 10^5 fits; ``block_size`` is static (changing it recompiles).
    """

    block_size: int = eqx.field(static=True, default=1024, kw_only=True)

    @abc.abstractmethod
    def source(self, theta: Float[Array, " p"]) -> Scalar:
        """F(theta) = int f phi(., theta) dnu."""

    @abc.abstractmethod
    def kernel(self, a: Float[Array, " p"], b: Float[Array, " p"]) -> Scalar:
        """K(a, b) = int phi(., a) phi(., b) dnu (symmetric, positive semi-definite)."""

    @abc.abstractmethod
    def constant(self) -> Scalar:
        """C_f = 1/2 int f^2 dnu."""

    def evaluate(self, theta: Positions, *, with_grad: bool = True) -> Evaluation:
        F, dF = _value_and_grad_rows(self.source, theta, with_grad)
        interaction, dI = self.interaction(theta, theta, with_grad=with_grad)
        V = interaction - F
        energy = self.constant() - jnp.mean(F) + 0.5 * jnp.mean(interaction)
        return Evaluation(V, None if dI is None else dI - dF, energy)

    def potential_at(self, points: Positions, theta: Positions) -> Potentials:
        """V(x, mu_n) at arbitrary points x (rows of ``points``) for the population theta."""
        interaction, _ = self.interaction(points, theta, with_grad=False)
        return interaction - jax.vmap(self.source)(points)

    def interaction(self, queries: Positions, sources: Positions, *, with_grad: bool):
        """(1/n) sum_j K(q_i, s_j) per query and, when asked, its gradient in q_i.

        The default differentiates :meth:`kernel` with autodiff (:func:`kernel_mean`).
        Override it with a closed form written as a blocked matrix product
        (:func:`block_reduce`) when speed matters: see ``models.gaussian_mixture``.
        """
        return kernel_mean(self.kernel, queries, sources, self.block_size, with_grad)


def _value_and_grad_rows(fn, theta, with_grad):
    if with_grad:
        return jax.vmap(jax.value_and_grad(fn))(theta)
    return jax.vmap(fn)(theta), None


def block_reduce(fn, queries: Positions, sources: Positions, block_size: int):
    """Sum of ``fn(queries, source_block, weight_block)`` over blocks of sources.

    Sources are visited with ``lax.scan`` in blocks of ``block_size`` (the last one
    zero-padded, with weight 0 on the padding), so no intermediate is larger than
    (queries x block_size). ``fn`` returns a pytree of per-query arrays.
    """
    n, p = sources.shape
    block = min(block_size, n)
    num_blocks = -(-n // block)
    pad = num_blocks * block - n
    weights = jnp.concatenate([jnp.ones((n,), sources.dtype), jnp.zeros((pad,), sources.dtype)])
    padded = jnp.concatenate([sources, jnp.zeros((pad, p), sources.dtype)])
    blocks = (padded.reshape(num_blocks, block, p), weights.reshape(num_blocks, block))
    first = fn(queries, blocks[0][0], blocks[1][0])
    if num_blocks == 1:
        return first

    def body(total, blk):
        return jax.tree.map(jnp.add, total, fn(queries, *blk)), None

    rest = jax.tree.map(lambda x: x[1:], blocks)
    total, _ = lax.scan(body, first, rest)
    return total


def kernel_mean(kernel, queries: Positions, sources: Positions, block_size: int, with_grad: bool):
    """(1/n) sum_j K(q_i, s_j) for every query, and its gradient in q_i when asked.

    Generic (autodiff of ``kernel``) and blocked (:func:`block_reduce`). Returns
    ``(sums, gradients or None)``.
    """
    n = sources.shape[0]

    def row_sums(q, s, w):
        pairwise = jax.vmap(jax.vmap(kernel, in_axes=(None, 0)), in_axes=(0, None))(q, s)
        return jnp.sum(pairwise * w[None, :], axis=1)

    def per_block(q, s, w):
        if not with_grad:
            return row_sums(q, s, w)
        # Row i depends on q_i only, so one reverse pass with unit cotangents gives every
        # row's gradient at once.
        sums, pullback = jax.vjp(lambda q_: row_sums(q_, s, w), q)
        return sums, pullback(jnp.ones_like(sums))[0]

    total = block_reduce(per_block, queries, sources, block_size)
    if with_grad:
        return total[0] / n, total[1] / n
    return total / n, None
