"""Functions of a grid density for comparisons with particle clouds.

Propagation of chaos compares mu_n(t) with rho(t): marginals, test-function integrals
(:func:`expectation`), the energy (``model.energy(grid, rho)``), histograms of particle
clouds on the same grid (:func:`histogram`) and the 1-D Wasserstein distance between a
marginal and a sample (:func:`wasserstein1`). All accept a leading batch of save times
where that makes sense and are jit/vmap-friendly.
"""

from collections.abc import Callable

import jax.numpy as jnp

from .._types import Array, ArrayLike
from ._grid import Grid


def marginal(grid: Grid, rho: ArrayLike, axis: int) -> Array:
    """The marginal density along ``axis`` (other axes integrated out).

    ``rho`` may carry leading batch axes (e.g. save times).
    """
    rho = jnp.asarray(rho)
    if not 0 <= axis < grid.ndim:
        raise ValueError(f"axis must be in [0, {grid.ndim}), got {axis}")
    others = tuple(rho.ndim - grid.ndim + k for k in range(grid.ndim) if k != axis)
    width = grid.cell_volume / grid.widths[axis]
    return jnp.sum(rho, axis=others) * width


def expectation(grid: Grid, rho: ArrayLike, fn: Callable[[Array], Array]) -> Array:
    """int fn(theta) rho(theta) dtheta by the midpoint rule.

    ``fn`` maps cell centres of shape (..., ndim) to values of shape (...) (it is called
    once on all cells). ``rho`` may carry leading batch axes.
    """
    rho = jnp.asarray(rho)
    values = jnp.asarray(fn(jnp.stack(grid.mesh(), axis=-1)), rho.dtype)
    values = values.reshape((1,) * (rho.ndim - grid.ndim) + values.shape)
    return grid.integrate(rho * values)


def histogram(grid: Grid, theta: ArrayLike) -> tuple[Array, Array]:
    """The particle cloud mu_n as a density on ``grid`` (counts / (n * cell volume)).

    Args:
        theta: positions, shape (n, ndim) (or (n,) on a 1-D grid).

    Returns:
        (density, outside): the density of the particles inside the box (mass = the
        fraction inside) and the fraction of particles outside it.
    """
    theta = jnp.asarray(theta)
    if theta.ndim == 1:
        theta = theta[:, None]
    if theta.ndim != 2 or theta.shape[1] != grid.ndim:
        raise ValueError(f"theta must have shape (n, {grid.ndim}), got {theta.shape}")
    n = theta.shape[0]
    inside = jnp.ones((n,), bool)
    flat = jnp.zeros((n,), jnp.int32)
    for k in range(grid.ndim):
        idx = jnp.floor((theta[:, k] - grid.lower[k]) / grid.widths[k]).astype(jnp.int32)
        inside = inside & (idx >= 0) & (idx < grid.shape[k])
        flat = flat * grid.shape[k] + jnp.clip(idx, 0, grid.shape[k] - 1)
    counts = jnp.zeros((grid.num_cells,), theta.dtype).at[flat].add(inside.astype(theta.dtype))
    density = counts.reshape(grid.shape) / (n * grid.cell_volume)
    return density, 1.0 - jnp.mean(inside.astype(theta.dtype))


def wasserstein1(grid: Grid, rho: ArrayLike, samples: ArrayLike, *, axis: int = 0) -> Array:
    """W1 between the marginal of rho along ``axis`` and the empirical law of ``samples``.

    In 1-D, W1 = int |F_rho(x) - F_n(x)| dx. F_rho is exact at the faces and linear inside
    each cell (piecewise-constant density); the integral is computed exactly piece by
    piece, samples outside the box included.
    """
    m = marginal(grid, rho, axis) if grid.ndim > 1 else jnp.asarray(rho)
    faces = grid.faces(axis)
    cdf = jnp.concatenate([jnp.zeros((1,), m.dtype), jnp.cumsum(m) * grid.widths[axis]])
    cdf = cdf / cdf[-1]
    x = jnp.sort(jnp.asarray(samples, m.dtype).ravel())
    n = x.shape[0]
    knots = jnp.sort(jnp.concatenate([faces.astype(m.dtype), x]))
    lo, hi = knots[:-1], knots[1:]
    G = jnp.searchsorted(x, 0.5 * (lo + hi), side="right") / n
    a = jnp.interp(lo, faces, cdf) - G
    b = jnp.interp(hi, faces, cdf) - G
    length = hi - lo
    same = a * b >= 0
    total = jnp.abs(a) + jnp.abs(b)
    safe = jnp.where(total > 0, total, 1.0)
    piece = jnp.where(same, 0.5 * total, 0.5 * (a**2 + b**2) / safe) * length
    return jnp.sum(piece)
