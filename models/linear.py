"""The linear model: an exactly solvable check of both the particle process and the PDE.

Units phi(x, theta) = theta . x with x ~ N(0, I_p) and target f(x) = beta . x
(REFERENCE.md section 5). Then F(theta) = theta . beta, K(theta, theta') = theta . theta',
C_f = |beta|^2 / 2, and with m = int theta dmu

    V(theta, mu) = theta . (m - beta),     E[mu] = |m - beta|^2 / 2.

grad V = m - beta is the same for every particle, so transport is a rigid translation; the
birth-death term tilts by a linear function. A Gaussian start N(m0, S0) therefore stays
Gaussian with covariance S0 and mean m(t) = beta + exp(-(I + alpha S0) t)(m0 - beta).
In 1-D with m0 = 0, beta = 2, S0 = 1: E(1) = 0.2707 (alpha 0), 0.03663 (alpha 1) and
1.23e-5 (alpha 5). For gradient-descent particles, E[E(mu_n(t))] =
e^{-2t}(|m0 - beta|^2 / 2 + tr S0 / (2n)) exactly.

Particle form: :class:`Linear` (a :class:`bdprocess.KernelPotential`). Grid form:
:class:`LinearGrid` (a :class:`bdprocess.meanfield.AbstractGridPotential`).
"""

import jax.numpy as jnp
import jax.random as jr
import numpy as np
import scipy.linalg

from bdprocess import KernelPotential
from bdprocess._types import Array, ArrayLike, Float, Key, Positions
from bdprocess.meanfield import AbstractGridPotential, Grid, normal_cdf


def _vec(x) -> np.ndarray:
    return np.atleast_1d(np.asarray(x, dtype=float))


def _cov(cov0, p) -> np.ndarray:
    c = np.asarray(cov0, dtype=float)
    if c.ndim == 0:
        return c * np.eye(p)
    if c.ndim == 1:
        return np.diag(c)
    return c


# ---- exact solution ---------------------------------------------------------------------


def mean_path(t: ArrayLike, *, m0: ArrayLike, beta: ArrayLike, cov0: ArrayLike, alpha: float):
    """The exact mean m(t) = beta + exp(-(I + alpha S0) t) (m0 - beta), shape (..., p).

    ``cov0`` may be a scalar (times I), a diagonal or a full covariance matrix.
    """
    m0, beta = _vec(m0), _vec(beta)
    S0 = _cov(cov0, beta.shape[0])
    A = np.eye(beta.shape[0]) + alpha * S0
    t = np.asarray(t, dtype=float)
    out = [beta + scipy.linalg.expm(-A * s) @ (m0 - beta) for s in t.ravel()]
    return np.asarray(out).reshape(*t.shape, beta.shape[0])


def energy_path(t: ArrayLike, *, m0: ArrayLike, beta: ArrayLike, cov0: ArrayLike, alpha: float):
    """The exact mean-field energy E(t) = |m(t) - beta|^2 / 2."""
    m = mean_path(t, m0=m0, beta=beta, cov0=cov0, alpha=alpha)
    return 0.5 * np.sum((m - _vec(beta)) ** 2, axis=-1)


def gd_particle_energy_mean(t: ArrayLike, *, m0, beta, cov0, n: int):
    """E[E(mu_n(t))] for n i.i.d. N(m0, S0) particles under gradient descent (exact)."""
    m0, beta = _vec(m0), _vec(beta)
    S0 = _cov(cov0, beta.shape[0])
    t = np.asarray(t, dtype=float)
    return np.exp(-2 * t) * (0.5 * np.sum((m0 - beta) ** 2) + np.trace(S0) / (2 * n))


def initial_anchors(*, m0: ArrayLike, beta: ArrayLike, cov0: ArrayLike) -> dict[str, float]:
    """The exact t = 0 laws of the energy of n i.i.d. N(m0, S0) particles (REFERENCE 5).

    E[E(mu_n)] = E(mu_0) + b / n with E(mu_0) = |m0 - beta|^2 / 2 and b = tr S0 / 2, and
    sqrt(n) (E(mu_n) - E(mu_0)) -> N(0, sigma^2) with sigma^2 = Var V(theta, mu_0) =
    (m0 - beta)' S0 (m0 - beta).

    Returns:
        {"energy": E(mu_0), "bias": b, "variance": sigma^2}.
    """
    m0, beta = _vec(m0), _vec(beta)
    S0 = _cov(cov0, beta.shape[0])
    gap = m0 - beta
    return {
        "energy": float(0.5 * gap @ gap),
        "bias": float(0.5 * np.trace(S0)),
        "variance": float(gap @ S0 @ gap),
    }


def exact_density(grid: Grid, t: float, *, m0, beta, cov0, alpha: float) -> Array:
    """The exact solution N(m(t), S0) as cell averages on ``grid`` (diagonal S0).

    Raises:
        ValueError: a non-diagonal covariance or a dimension that does not match the grid.
    """
    m = mean_path(t, m0=m0, beta=beta, cov0=cov0, alpha=alpha)
    S0 = _cov(cov0, grid.ndim)
    if S0.shape != (grid.ndim, grid.ndim) or m.shape[-1] != grid.ndim:
        raise ValueError(f"need a {grid.ndim}-dimensional model on this grid, got beta={beta}")
    if np.any(S0 != np.diag(np.diag(S0))):
        raise ValueError(f"exact cell averages need a diagonal covariance, got {S0.tolist()}")
    sd = np.sqrt(np.diag(S0))
    return grid.product_density([normal_cdf(m[k], sd[k]) for k in range(grid.ndim)])


# ---- particle form ----------------------------------------------------------------------


class Linear(KernelPotential):
    """Particle form: F = theta . beta, K = theta . theta', C_f = |beta|^2 / 2.

    The prior mu_b for rebirth is N(0, I).
    """

    beta: Float[Array, " p"]

    def __init__(self, beta: ArrayLike, *, block_size: int = 1024):
        self.beta = jnp.atleast_1d(jnp.asarray(beta, dtype=float))
        if self.beta.ndim != 1:
            raise ValueError(f"beta must be a vector, got shape {self.beta.shape}")
        self.block_size = block_size

    def source(self, theta):
        return jnp.dot(theta, self.beta)

    def kernel(self, a, b):
        return jnp.dot(a, b)

    def constant(self):
        return 0.5 * jnp.sum(self.beta**2)

    def interaction(self, queries: Positions, sources: Positions, *, with_grad: bool):
        """(1/n) sum_j q_i . s_j = q_i . m in closed form: O(n), not O(n^2)."""
        m = jnp.mean(sources, axis=0)
        sums = queries @ m
        if not with_grad:
            return sums, None
        return sums, jnp.broadcast_to(m, queries.shape)

    def sample_prior(self, key: Key, n: int) -> Positions:
        return jr.normal(key, (n, self.beta.shape[0]))


def initial_positions(key: Key, n: int, *, m0: ArrayLike, cov0: ArrayLike) -> Positions:
    """n i.i.d. draws from N(m0, S0)."""
    m0 = jnp.atleast_1d(jnp.asarray(m0, dtype=float))
    S0 = jnp.asarray(_cov(cov0, m0.shape[0]))
    return jr.multivariate_normal(key, m0, S0, (n,))


# ---- grid form --------------------------------------------------------------------------


class LinearGrid(AbstractGridPotential):
    """Grid form: V = theta . (m - beta) with m = int theta drho; E = |m - beta|^2 / 2.

    The prior for rebirth is N(0, I). Works on 1-D and 2-D grids (p = grid.ndim).
    """

    beta: Float[Array, " p"]

    def __init__(self, beta: ArrayLike):
        self.beta = jnp.atleast_1d(jnp.asarray(beta, dtype=float))
        if self.beta.ndim != 1:
            raise ValueError(f"beta must be a vector, got shape {self.beta.shape}")

    def _gap(self, grid, rho):
        m = jnp.stack([grid.integrate(x * rho) for x in grid.mesh()])
        return m - self.beta.astype(rho.dtype)

    def potential(self, grid, rho):
        gap = self._gap(grid, rho)
        return sum(x * gap[k] for k, x in enumerate(grid.mesh()))

    def energy(self, grid, rho):
        return 0.5 * jnp.sum(self._gap(grid, rho) ** 2)

    def prior_density(self, grid):
        return grid.product_density([normal_cdf(0.0, 1.0)] * grid.ndim)

    def check_grid(self, grid):
        if grid.ndim != self.beta.shape[0]:
            raise ValueError(
                f"the grid has {grid.ndim} axes but beta has {self.beta.shape[0]} entries"
            )

    def initial_density(self, grid: Grid, *, m0: ArrayLike, cov0: ArrayLike) -> Array:
        """N(m0, S0) (diagonal) as cell averages, after checking that the grid resolves it.

        Raises:
            ValueError: fewer than 4 cells per standard deviation, or a box that does not
                hold m0 and beta with 6 standard deviations to spare.
        """
        self.check_grid(grid)
        m0, beta = _vec(m0), np.asarray(self.beta)
        sd = np.sqrt(np.diag(_cov(cov0, grid.ndim)))
        for k in range(grid.ndim):
            if grid.widths[k] > sd[k] / 4:
                raise ValueError(
                    f"grid too coarse: cell width {grid.widths[k]:.4g} on axis {k} exceeds "
                    f"sd/4 = {sd[k] / 4:.4g}; use more cells"
                )
            need = (min(m0[k], beta[k]) - 6 * sd[k], max(m0[k], beta[k]) + 6 * sd[k])
            if grid.lower[k] > need[0] or grid.upper[k] < need[1]:
                raise ValueError(
                    f"grid box [{grid.lower[k]}, {grid.upper[k]}] on axis {k} does not cover "
                    f"the support [{need[0]:.4g}, {need[1]:.4g}] of the solution; widen it"
                )
        return exact_density(grid, 0.0, m0=m0, beta=beta, cov0=cov0, alpha=0.0)
