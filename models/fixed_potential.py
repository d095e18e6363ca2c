"""Non-interacting particles in a fixed potential: the exactly solvable birth-death model.

With no interaction (K = 0) the potential V(theta, mu) = U(theta) does not depend on the
population, and the pure birth-death PDE d_t mu = -alpha (U - Ubar) mu has the exact
solution mu_t(dtheta) = exp(-alpha t U(theta)) mu_0(dtheta) / Z_t (REFERENCE.md
section 2). For the quadratic U(theta) = k |theta|^2 / 2 and mu_0 = N(0, s0 I) the law
stays Gaussian, N(0, s_t I), with precision

* without transport: 1/s_t = 1/s0 + alpha k t;
* with transport d theta/dt = -grad U = -k theta:
  1/s_t = (1/s0 + alpha/2) e^{2 k t} - alpha/2,

and mean potential Ubar_t = k p s_t / 2 (also the energy, E[mu] = int U dmu).

Particle API (stable): :class:`FixedPotential` (abstract: U and a prior),
:class:`Quadratic`, :func:`initial_positions`, :func:`make`, :func:`exact_variance`,
:func:`exact_cdf`, :func:`exact_energy`.
"""

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import scipy.stats

from bdprocess import AbstractPotential, BirthDeath, Evaluation, Population
from bdprocess._types import Array, Float, Key, Positions, Scalar


class FixedPotential(AbstractPotential):
    """V(theta, mu) = U(theta): particles that do not interact.

    Subclasses give U for one particle (:meth:`value`) and the prior. Every evaluation is
    O(n) (no kernel sums). The energy is E[mu_n] = mean_i U(theta_i), so the mean
    potential Vbar equals the energy.
    """

    @abc.abstractmethod
    def value(self, theta: Float[Array, " p"]) -> Scalar:
        """U(theta) for one particle."""

    def evaluate(self, theta: Positions, *, with_grad: bool = True) -> Evaluation:
        if with_grad:
            V, grad = jax.vmap(jax.value_and_grad(self.value))(theta)
        else:
            V, grad = jax.vmap(self.value)(theta), None
        return Evaluation(V, grad, jnp.mean(V))


class Quadratic(FixedPotential):
    """U(theta) = curvature |theta|^2 / 2 in R^dim; prior mu_b = N(0, prior_var I).

    ``curvature`` is dynamic; ``dim`` is static.
    """

    curvature: Float[Array, ""] = eqx.field(converter=jnp.asarray, default=1.0)
    prior_var: float = eqx.field(static=True, default=1.0, kw_only=True)
    dim: int = eqx.field(static=True, default=1, kw_only=True)

    def value(self, theta):
        return 0.5 * self.curvature.astype(theta.dtype) * jnp.sum(theta**2)

    def sample_prior(self, key: Key, n: int) -> Positions:
        return jnp.sqrt(self.prior_var) * jr.normal(key, (n, self.dim))


def initial_positions(key: Key, n: int, dim: int = 1, var0: float = 1.0) -> Positions:
    """n draws from mu_0 = N(0, var0 I) in R^dim.

    Raises:
        ValueError: n < 2, dim < 1 or var0 <= 0.
    """
    if n < 2 or dim < 1 or not var0 > 0:
        raise ValueError(f"need n >= 2, dim >= 1, var0 > 0; got n={n}, dim={dim}, var0={var0}")
    return jnp.sqrt(var0) * jr.normal(key, (n, dim))


def make(
    key: Key,
    *,
    n: int = 10_000,
    alpha: float = 1.0,
    curvature: float = 1.0,
    dim: int = 1,
    var0: float = 1.0,
    transport: bool = False,
) -> tuple[BirthDeath, Population]:
    """The fixed-potential birth-death process and its initial population.

    Centred rates alpha |U - Ubar| with clone rebirth, the setting whose law is exact
    (see the module docstring); ``transport`` adds the drift -grad U.
    """
    process = BirthDeath(Quadratic(curvature, dim=dim, prior_var=var0), alpha, transport=transport)
    return process, Population.from_positions(initial_positions(key, n, dim, var0))


def exact_variance(
    t, *, alpha: float, curvature: float = 1.0, var0: float = 1.0, transport: bool = False
) -> np.ndarray:
    """Per-coordinate variance s_t of the exact law N(0, s_t I) at times t."""
    t = np.asarray(t, float)
    if transport:
        precision = (1 / var0 + alpha / 2) * np.exp(2 * curvature * t) - alpha / 2
    else:
        precision = 1 / var0 + alpha * curvature * t
    return 1 / precision


def exact_energy(
    t,
    *,
    alpha: float,
    curvature: float = 1.0,
    var0: float = 1.0,
    dim: int = 1,
    transport: bool = False,
) -> np.ndarray:
    """E[mu_t] = Ubar_t = curvature dim s_t / 2 (the mean-field limit)."""
    s = exact_variance(t, alpha=alpha, curvature=curvature, var0=var0, transport=transport)
    return 0.5 * curvature * dim * s


def exact_cdf(
    x, t: float, *, alpha: float, curvature: float = 1.0, var0: float = 1.0, transport: bool = False
) -> np.ndarray:
    """CDF of one coordinate of the exact law at time t (for KS / Anderson-Darling tests)."""
    s = exact_variance(t, alpha=alpha, curvature=curvature, var0=var0, transport=transport)
    return scipy.stats.norm.cdf(np.asarray(x), scale=np.sqrt(s))
