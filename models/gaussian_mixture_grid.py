"""Grid form of the paper's Gaussian-mixture problem on theta = (y, c) (2-D grid).

With m(y) = int c rho(y, c) dc the potential is linear in c (REFERENCE.md section 4.1):

    V(y, c) = c g(y),   g(y) = -F1(y) + int N(y - y'; 0, 1) m(y') dy',
    E[rho] = C_f + int (-F1(y) m(y) + (1/2) (K * m)(y) m(y)) dy,

where F(y, c) = c F1(y) (:func:`models.gaussian_mixture.source_profile`). The interaction
is a 1-D convolution in y, computed exactly (the discrete sum over cells) by a zero-padded
FFT, so a potential evaluation costs O(cells + n_y log n_y). The discrete V is exactly the
gradient of the discrete E, which the solver's energy identity relies on.

Axis 0 of the grid is y, axis 1 is c. The particle form is
:class:`models.gaussian_mixture.GaussianMixture`.
"""

import jax.numpy as jnp

from bdprocess._types import Array, ArrayLike
from bdprocess.meanfield import (
    AbstractGridPotential,
    Grid,
    normal_cdf,
    point_mass_cdf,
    uniform_cdf,
)

from .gaussian_mixture import INITS, UNIT_VAR, exact_constant, normal_pdf, source_profile

LOWER = (-5.0, -5.0)
UPPER = (5.0, 5.0)
"""The default box (y, c) for :func:`default_grid`."""
SUPPORT = ((-4.0, 4.0), (-3.0, 3.0))
"""What a grid must cover: the target's support in y, and the c values reached."""
MAX_WIDTH = 0.25
"""Coarsest cell width (in y and c) that resolves the unit-variance interaction."""


def default_grid(cells: int | tuple[int, int] = 128) -> Grid:
    """The default (y, c) grid on [-5, 5]^2 with ``cells`` cells per axis."""
    shape = (cells, cells) if isinstance(cells, int) else tuple(cells)
    return Grid(LOWER, UPPER, shape)


def _convolve(m: Array, dy: float) -> Array:
    """(K * m)(y_a) = sum_b N(y_a - y_b; 0, 1) m_b dy, by a zero-padded FFT."""
    n = m.shape[-1]
    offsets = dy * jnp.arange(-(n - 1), n, dtype=m.dtype)
    kern = normal_pdf(offsets, 0.0, 2 * UNIT_VAR) * dy
    size = 1 << (2 * n - 1).bit_length()
    full = jnp.fft.irfft(jnp.fft.rfft(kern, size) * jnp.fft.rfft(m, size), size)
    return full[n - 1 : 2 * n - 1]


class GaussianMixtureGrid(AbstractGridPotential):
    """The Gaussian mixture on a 2-D (y, c) grid. Prior: y ~ N(0, 1), c = 0."""

    def weights(self, grid: Grid, rho) -> Array:
        """m(y) = int c rho(y, c) dc, on the y cells."""
        c = grid.centres(1).astype(rho.dtype)
        return jnp.sum(rho * c[None, :], axis=-1) * grid.widths[1]

    def profile(self, grid: Grid, rho) -> Array:
        """g(y), so that V(y, c) = c g(y)."""
        y = grid.centres(0).astype(rho.dtype)
        return _convolve(self.weights(grid, rho), grid.widths[0]) - source_profile(y)

    def potential(self, grid: Grid, rho):
        c = grid.centres(1).astype(rho.dtype)
        return self.profile(grid, rho)[:, None] * c[None, :]

    def energy(self, grid: Grid, rho):
        y = grid.centres(0).astype(rho.dtype)
        m = self.weights(grid, rho)
        conv = _convolve(m, grid.widths[0])
        integrand = -source_profile(y) * m + 0.5 * conv * m
        return exact_constant() + jnp.sum(integrand) * grid.widths[0]

    def prior_density(self, grid: Grid):
        return grid.product_density([normal_cdf(0.0, 1.0), point_mass_cdf(0.0)])

    def check_grid(self, grid: Grid):
        if grid.ndim != 2:
            raise ValueError(f"the Gaussian mixture needs a 2-D (y, c) grid, got {grid.ndim}-D")
        for k, name in enumerate(("y", "c")):
            if grid.widths[k] > MAX_WIDTH:
                raise ValueError(
                    f"grid too coarse: cell width {grid.widths[k]:.4g} in {name} exceeds "
                    f"{MAX_WIDTH}; use at least "
                    f"{int((grid.upper[k] - grid.lower[k]) / MAX_WIDTH + 0.999)} cells"
                )
            lo, hi = SUPPORT[k]
            if grid.lower[k] > lo or grid.upper[k] < hi:
                raise ValueError(
                    f"grid box [{grid.lower[k]}, {grid.upper[k]}] in {name} does not cover the "
                    f"model's support [{lo}, {hi}]; widen it"
                )


def initial_density(grid: Grid, init: str = "uniform") -> Array:
    """The paper's initial laws as cell averages (see ``initial_positions``).

    * ``uniform``: y ~ U(-2, 2), c ~ N(0, 1);
    * ``bad``: y ~ N(-2, 0.1^2), c ~ N(0, 1).

    Raises:
        ValueError: unknown init, or a grid with fewer than 2 cells per 0.1 in y for "bad".
    """
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {init!r}")
    GaussianMixtureGrid().check_grid(grid)
    if init == "uniform":
        return grid.product_density([uniform_cdf(-2.0, 2.0), normal_cdf(0.0, 1.0)])
    if grid.widths[0] > 0.05:
        raise ValueError(
            f"grid too coarse for init='bad': cell width {grid.widths[0]:.4g} in y exceeds "
            "0.05 (half the initial spread 0.1); use more y cells"
        )
    return grid.product_density([normal_cdf(-2.0, 0.1), normal_cdf(0.0, 1.0)])


def predict(grid: Grid, rho: ArrayLike, x: ArrayLike) -> Array:
    """The mean-field network f_rho(x) = int c N(x; y, 1/2) drho at points x (any shape)."""
    rho = jnp.asarray(rho)
    x = jnp.asarray(x, rho.dtype)
    m = GaussianMixtureGrid().weights(grid, rho)
    shape = (1,) * x.ndim + (-1,)
    y, m = (jnp.reshape(v, shape) for v in (grid.centres(0).astype(rho.dtype), m))
    return jnp.sum(m * normal_pdf(x[..., None], y, UNIT_VAR), axis=-1) * grid.widths[0]
