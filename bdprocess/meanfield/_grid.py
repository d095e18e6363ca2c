"""Tensor-product finite-volume grids for the mean-field PDE.

A density on a :class:`Grid` is an array of cell averages with the grid's shape that
integrates to one: ``grid.integrate(rho) == 1``. Integrals against it use the midpoint
rule (second order), the same rule every part of the solver uses, so the discrete energy,
its first variation V and the discrete mass all agree exactly.
"""

from collections.abc import Callable, Sequence

import equinox as eqx
import jax.numpy as jnp
import numpy as np
import scipy.special

from .._types import Array, ArrayLike

MIN_CELLS = 4
"""Fewest cells allowed along an axis (the limited reconstruction needs a stencil of 3)."""


class Grid(eqx.Module):
    """A uniform cell-centred grid on the box [lower, upper] in 1-D or 2-D.

    Use one for every density the mean-field solver touches. Its extent and cell count
    are static: a new grid shape recompiles, a new density on the same grid does not.

    Args:
        lower: the lower corner, one float per axis.
        upper: the upper corner.
        shape: cells per axis (each >= 4).

    Raises:
        ValueError: mismatched lengths, more than 2 axes, upper <= lower or too few cells.
    """

    lower: tuple[float, ...] = eqx.field(static=True)
    upper: tuple[float, ...] = eqx.field(static=True)
    shape: tuple[int, ...] = eqx.field(static=True)

    def __init__(self, lower: Sequence[float], upper: Sequence[float], shape: Sequence[int]):
        lower = tuple(float(x) for x in np.atleast_1d(lower))
        upper = tuple(float(x) for x in np.atleast_1d(upper))
        shape = tuple(int(x) for x in np.atleast_1d(shape))
        if not (len(lower) == len(upper) == len(shape)):
            raise ValueError(
                f"lower, upper and shape need one entry per axis, got {lower}, {upper}, {shape}"
            )
        if len(shape) not in (1, 2):
            raise ValueError(f"grids are 1-D or 2-D, got {len(shape)} axes (shape={shape})")
        for k, (lo, hi, n) in enumerate(zip(lower, upper, shape, strict=True)):
            if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
                raise ValueError(f"axis {k}: need finite lower < upper, got [{lo}, {hi}]")
            if n < MIN_CELLS:
                raise ValueError(f"axis {k}: need at least {MIN_CELLS} cells, got {n}")
        self.lower, self.upper, self.shape = lower, upper, shape

    # ---- geometry -------------------------------------------------------------------------

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def widths(self) -> tuple[float, ...]:
        """Cell width along each axis."""
        return tuple(
            (hi - lo) / n for lo, hi, n in zip(self.lower, self.upper, self.shape, strict=True)
        )

    @property
    def cell_volume(self) -> float:
        return float(np.prod(self.widths))

    @property
    def num_cells(self) -> int:
        return int(np.prod(self.shape))

    def _faces(self, axis: int) -> np.ndarray:
        return np.linspace(self.lower[axis], self.upper[axis], self.shape[axis] + 1)

    def faces(self, axis: int) -> Array:
        """The shape[axis] + 1 cell faces along ``axis`` (default float dtype)."""
        return jnp.asarray(self._faces(axis), dtype=float)

    def centres(self, axis: int) -> Array:
        """The shape[axis] cell centres along ``axis`` (default float dtype)."""
        f = self._faces(axis)
        return jnp.asarray(0.5 * (f[1:] + f[:-1]), dtype=float)

    def mesh(self) -> tuple[Array, ...]:
        """Cell-centre coordinates, one array of the grid's shape per axis."""
        centres = [0.5 * (f[1:] + f[:-1]) for f in map(self._faces, range(self.ndim))]
        return tuple(jnp.asarray(x, dtype=float) for x in np.meshgrid(*centres, indexing="ij"))

    def points(self) -> Array:
        """Cell centres as a (cells, ndim) array (row-major order, like ``rho.ravel()``)."""
        return jnp.stack([x.ravel() for x in self.mesh()], axis=-1)

    # ---- densities ------------------------------------------------------------------------

    def integrate(self, f: ArrayLike) -> Array:
        """Midpoint-rule integral of f over the grid (sums the trailing ``ndim`` axes)."""
        f = jnp.asarray(f)
        return jnp.sum(f, axis=tuple(range(-self.ndim, 0))) * self.cell_volume

    def product_density(self, cdfs: Sequence[Callable[[Array], Array]]) -> Array:
        """Exact cell averages of a product law with one CDF per axis, renormalised.

        The CDFs are called on NumPy arrays of faces (the helpers :func:`normal_cdf`,
        :func:`uniform_cdf` and :func:`point_mass_cdf` are NumPy functions).

        The mass outside the box is dropped and the rest rescaled to integrate to one
        (pick a box that holds all but a negligible tail).
        """
        if len(cdfs) != self.ndim:
            raise ValueError(f"need {self.ndim} CDFs (one per axis), got {len(cdfs)}")
        rho = np.diff(np.asarray(cdfs[0](self._faces(0)), dtype=float))
        for k in range(1, self.ndim):
            p = np.diff(np.asarray(cdfs[k](self._faces(k)), dtype=float))
            rho = rho[..., None] * p.reshape((1,) * k + p.shape)
        rho = rho / (rho.sum() * self.cell_volume)
        return jnp.asarray(rho, dtype=float)

    def check_density(self, rho: ArrayLike, *, name: str = "rho0", atol: float = 1e-6) -> None:
        """Raise ValueError unless rho has the grid's shape, is >= 0 and integrates to 1.

        Only concrete (not traced) arrays are checked.
        """
        shape = tuple(np.shape(rho))
        if shape != self.shape:
            raise ValueError(f"{name} must have the grid's shape {self.shape}, got {shape}")
        try:
            r = np.asarray(rho, dtype=float)
        except Exception:  # a tracer: checked by the caller's status instead
            return
        lowest = float(r.min())
        if not np.isfinite(r).all():
            raise ValueError(f"{name} must be finite, got {int((~np.isfinite(r)).sum())} bad cells")
        if lowest < 0:
            raise ValueError(f"{name} must be >= 0, got a cell with density {lowest:.6g}")
        mass = float(r.sum() * self.cell_volume)
        if abs(mass - 1.0) > atol:
            raise ValueError(
                f"{name} must integrate to 1 on the grid, got mass {mass:.10g} "
                "(divide by grid.integrate(rho), or use meanfield.normalise)"
            )


def normalise(grid: Grid, rho: ArrayLike) -> Array:
    """rho / integral(rho): a density of unit mass on ``grid``."""
    rho = jnp.asarray(rho)
    return rho / grid.integrate(rho)


def normal_cdf(mean: float, sd: float) -> Callable[[np.ndarray], np.ndarray]:
    """The CDF of N(mean, sd^2), for :meth:`Grid.product_density`."""
    return lambda x: scipy.special.ndtr((np.asarray(x) - float(mean)) / float(sd))


def uniform_cdf(a: float, b: float) -> Callable[[np.ndarray], np.ndarray]:
    """The CDF of U(a, b), for :meth:`Grid.product_density`."""
    return lambda x: np.clip((np.asarray(x) - a) / (b - a), 0.0, 1.0)


def point_mass_cdf(x0: float) -> Callable[[np.ndarray], np.ndarray]:
    """The CDF of a point mass at x0 (half the mass on each side of a face it sits on)."""
    return lambda x: np.where(np.asarray(x) > x0, 1.0, np.where(np.asarray(x) < x0, 0.0, 0.5))
