"""The birth-death (reaction) part d_t rho = -alpha (V - Vbar) rho [+ prior injection].

For a fixed potential the step is the exact tilt rho exp(-alpha h V) / Z (REFERENCE.md
section 2). When V depends on rho the coefficients are frozen at a midpoint state (an
exponential midpoint rule, second order), and every cell's linear ODE is solved exactly,
so rho stays >= 0 for any step size and the mass is restored to one by the final
normalisation.

Prior rebirth (the paper's second scheme, REFERENCE.md section 2): a death refills the
slot with a draw from mu_b instead of a clone. With beta = V - Vbar and
a = int max(beta, 0) drho (the death flux, equal to the birth flux), the mean-field
equation of the particle process of REFERENCE.md section 3 is
d_t rho = -alpha beta rho + alpha a (rho_b - rho): the clone PDE plus a relaxation
towards the prior at rate alpha a.
"""

import jax.numpy as jnp

from .._types import Array
from ._grid import Grid


def _phi1(z):
    """(exp(z) - 1) / z, continuous at 0."""
    small = jnp.abs(z) < 1e-6
    safe = jnp.where(small, 1.0, z)
    return jnp.where(small, 1.0 + 0.5 * z, jnp.expm1(safe) / safe)


def reaction_coefficients(grid: Grid, V: Array, rho: Array, prior: Array | None):
    """(beta, a, vbar): beta = V - Vbar, the death flux a (0 without a prior) and Vbar."""
    vbar = grid.integrate(V * rho)
    beta = V - vbar
    if prior is None:
        a = jnp.zeros((), rho.dtype)
    else:
        a = grid.integrate(jnp.maximum(beta, 0.0) * rho)
    return beta, a, vbar


def _frozen_step(grid, rho, beta, a, alpha, prior, h):
    # Solve d_t rho = -k rho + alpha a rho_b cell by cell with frozen k = alpha (beta + a),
    # scaled by exp(-s), s = max(-k h), so that no exponential overflows (the scale
    # cancels in the normalisation).
    z = -alpha * (beta + a) * h
    s = jnp.max(z)
    new = rho * jnp.exp(z - s)
    if prior is not None:
        big = z > 1.0
        safe = jnp.where(big, z, 1.0)
        scaled_phi1 = jnp.where(
            big, (jnp.exp(z - s) - jnp.exp(-s)) / safe, jnp.exp(-s) * _phi1(jnp.minimum(z, 1.0))
        )
        new = new + (alpha * a * h) * prior * scaled_phi1
    return new / grid.integrate(new)


def reaction_step(model, grid: Grid, rho: Array, h, alpha, prior: Array | None = None) -> Array:
    """Advance the reaction part by h (exact for a rho-independent V without prior).

    Args:
        model: an :class:`AbstractGridPotential`.
        grid: the grid.
        rho: the density.
        h: the step (any size; no stability bound).
        alpha: the birth-death rate.
        prior: the prior density for ``rebirth="prior"``, or None for clone rebirth.
    """
    beta, a, _ = reaction_coefficients(grid, model.potential(grid, rho), rho, prior)
    half = _frozen_step(grid, rho, beta, a, alpha, prior, 0.5 * h)
    beta, a, _ = reaction_coefficients(grid, model.potential(grid, half), half, prior)
    return _frozen_step(grid, rho, beta, a, alpha, prior, h)


def reaction_dissipation(grid: Grid, V: Array, rho: Array, alpha, prior: Array | None):
    """-dE/dt due to the reaction term.

    alpha int (V - Vbar)^2 drho, minus alpha a (int V drho_b - Vbar) with a prior (that
    part can raise the energy).
    """
    beta, a, vbar = reaction_coefficients(grid, V, rho, prior)
    out = alpha * grid.integrate(beta**2 * rho)
    if prior is not None:
        out = out - alpha * a * (grid.integrate(V * prior) - vbar)
    return out
