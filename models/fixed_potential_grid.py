"""Grid form of the fixed-potential model: pure birth-death with an exact solution.

With K = 0 the potential V(theta) does not depend on the density, and pure birth-death
(no transport) has the exact solution rho_t = rho_0 exp(-alpha t V) / Z_t
(REFERENCE.md section 2); Vbar_t - min V ~ d / (2 alpha t) for a non-degenerate minimum
in d dimensions. With transport on, the PDE is a linear drift-reaction equation.

The particle form lives in models/fixed_potential.py (:class:`Quadratic` there matches
:class:`QuadraticGrid` here, and its ``exact_variance`` / ``exact_energy`` give the exact
Gaussian law with and without transport); this module only needs V as a function of
position.
"""

from collections.abc import Callable

import equinox as eqx
import jax.numpy as jnp

from bdprocess._types import Array, ArrayLike
from bdprocess.meanfield import AbstractGridPotential, Grid, normal_cdf

MAX_WIDTH = 0.25
"""Largest cell width accepted: a quarter of the standard deviation of the N(0, 1) prior
(and of the N(0, 1) initial law of ``bdprocess pde``)."""


def double_well(theta: Array) -> Array:
    """V(theta) = sum_k (theta_k^2 - 1)^2 / 4 + theta_k / 10 (a tilted double well).

    ``theta`` has shape (..., d); the result has shape (...). Its global minimum is near
    theta_k = -1 and a local one near +1.
    """
    return jnp.sum(0.25 * (theta**2 - 1.0) ** 2 + 0.1 * theta, axis=-1)


class FixedPotentialGrid(AbstractGridPotential):
    """V(theta) fixed, E[rho] = int V drho (K = 0). ``fn`` maps (..., d) to (...).

    ``fn`` is static (a plain function, keyword-only); the prior for rebirth is N(0, I).
    Grids with cells wider than ``MAX_WIDTH`` are rejected (:meth:`check_grid`).
    """

    fn: Callable[[Array], Array] = eqx.field(static=True, default=double_well, kw_only=True)

    def check_grid(self, grid: Grid):
        for k in range(grid.ndim):
            if grid.widths[k] > MAX_WIDTH:
                raise ValueError(
                    f"grid too coarse: cell width {grid.widths[k]:.4g} on axis {k} exceeds "
                    f"{MAX_WIDTH}; use at least "
                    f"{int((grid.upper[k] - grid.lower[k]) / MAX_WIDTH + 0.999)} cells"
                )

    def potential(self, grid: Grid, rho):
        return self.fn(jnp.stack(grid.mesh(), axis=-1)).astype(rho.dtype)

    def energy(self, grid: Grid, rho):
        return grid.integrate(self.potential(grid, rho) * rho)

    def prior_density(self, grid: Grid):
        return grid.product_density([normal_cdf(0.0, 1.0)] * grid.ndim)


class QuadraticGrid(FixedPotentialGrid):
    """U(theta) = curvature |theta|^2 / 2, the grid twin of ``fixed_potential.Quadratic``.

    ``curvature`` is dynamic; the prior for rebirth is N(0, prior_var I).
    """

    curvature: Array = eqx.field(converter=jnp.asarray, default=1.0)
    prior_var: float = eqx.field(static=True, default=1.0, kw_only=True)

    def potential(self, grid: Grid, rho):
        sq = sum(x**2 for x in grid.mesh())
        return (0.5 * self.curvature * sq).astype(rho.dtype)

    def prior_density(self, grid: Grid):
        sd = float(self.prior_var) ** 0.5
        return grid.product_density([normal_cdf(0.0, sd)] * grid.ndim)


def exact_density(model: FixedPotentialGrid, grid: Grid, rho0: ArrayLike, t, alpha) -> Array:
    """rho_0 exp(-alpha t V) / Z_t on the grid: the exact pure birth-death solution."""
    rho0 = jnp.asarray(rho0)
    V = model.potential(grid, rho0)
    w = -alpha * t * V
    rho = rho0 * jnp.exp(w - jnp.max(w))
    return rho / grid.integrate(rho)
