"""meanfield.energy_distance against direct sums, scipy and the exact n^{-1/2} law.

The reference is the direct O(G^2 + nG + n^2) sum in NumPy float64, written here from the
definition D^2 = 2 E|X - Y| - E|X - X'| - E|Y - Y'| with rho as point masses at the cell
centres, independently of the code under test.
"""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
import scipy.stats

import bdprocess.meanfield as mf

energy_distance = jax.jit(mf.energy_distance, static_argnames="block_size")
"""Jitted once here: eager dispatch of the FFTs would dominate the run time."""

BOX_1D = ((-2.0,), (3.0,))
BOX_2D = ((-2.0, -1.0), (3.0, 1.5))  # anisotropic cells on a 24 x 20 grid


def centres(grid: mf.Grid) -> np.ndarray:
    """Cell centres as a (cells, ndim) float64 array, row-major like rho.ravel()."""
    axes = []
    for lo, hi, n in zip(grid.lower, grid.upper, grid.shape, strict=True):
        faces = np.linspace(lo, hi, n + 1)
        axes.append(0.5 * (faces[1:] + faces[:-1]))
    return np.stack([a.ravel() for a in np.meshgrid(*axes, indexing="ij")], axis=-1)


def density(grid: mf.Grid) -> np.ndarray:
    """A smooth, skewed, non-product density (two bumps), normalised on the grid."""
    p = centres(grid)
    y = p[:, 0]
    c = p[:, 1] if grid.ndim == 2 else 0.3 * y
    r = np.exp(-((y - 0.5) ** 2) / 0.5 - (c - 0.2) ** 2 / 0.3 - 0.4 * y * c)
    r = r + 0.6 * np.exp(-((y + 1) ** 2 + (c + 0.3) ** 2) / 0.2)
    return (r / (r.sum() * grid.cell_volume)).reshape(grid.shape)


def distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sqrt(np.sum((a[:, None, :] - b[None, :, :]) ** 2, axis=-1))


def brute_d2(grid: mf.Grid, rho: np.ndarray, x: np.ndarray) -> float:
    """D^2 by the direct sums in float64."""
    p, w = centres(grid), np.ravel(rho) * grid.cell_volume
    x = np.asarray(x, np.float64).reshape(len(x), grid.ndim)
    return float(2 * w @ distances(p, x).mean(1) - w @ distances(p, p) @ w - distances(x, x).mean())


def brute_within(grid: mf.Grid, rho: np.ndarray) -> float:
    """E|X - X'| for rho as point masses."""
    p, w = centres(grid), np.ravel(rho) * grid.cell_volume
    return float(w @ distances(p, p) @ w)


def cloud(n: int, ndim: int, seed: int) -> np.ndarray:
    """n points around the density, three of them outside the box but in the lattice."""
    rng = np.random.default_rng(seed)
    x = np.stack([rng.normal(0.2, 0.9, n), rng.normal(0.0, 0.6, n)], axis=-1)[:, :ndim]
    outside = np.array([[-6.5, 0.3], [7.5, -2.0], [1.0, 3.8]])[:, :ndim]
    return np.concatenate([x[: n - 3], outside])


# D^2 error budget in 2-D. The interpolated cross term is third order in the cell width
# (test_third_order); on the 24 x 20 grid the measured error is 6e-6 (D^2 = 0.052), so
# 2e-5 leaves a factor 3. Float32 rounding of the FFT adds about 1e-6.
ATOL_2D = 2e-5


@pytest.mark.usefixtures("x64")
def test_1d_matches_direct_sum():
    # Phi is linear between cell centres in 1-D: exact up to rounding, samples outside the
    # box included.
    grid = mf.Grid(*BOX_1D, (24,))
    rho, x = density(grid), cloud(50, 1, seed=0)
    d = energy_distance(grid, jnp.asarray(rho), jnp.asarray(x[:, 0]))
    assert d.dtype == jnp.float64
    np.testing.assert_allclose(float(d) ** 2, brute_d2(grid, rho, x), rtol=1e-10)


@pytest.mark.usefixtures("x64")
def test_2d_matches_direct_sum():
    grid = mf.Grid(*BOX_2D, (24, 20))
    rho, x = density(grid), cloud(50, 2, seed=1)
    d = energy_distance(grid, jnp.asarray(rho), jnp.asarray(x))
    assert abs(float(d) ** 2 - brute_d2(grid, rho, x)) < ATOL_2D


@pytest.mark.parametrize("ndim", [1, 2])
def test_float32_matches_direct_sum(ndim):
    grid = mf.Grid(*(BOX_1D if ndim == 1 else BOX_2D), (24, 20)[:ndim])
    rho, x = density(grid), cloud(50, ndim, seed=2)
    d = energy_distance(grid, jnp.asarray(rho, jnp.float32), jnp.asarray(x, jnp.float32))
    assert d.dtype == jnp.float32
    # 1-D: exact but for float32 rounding of sums of O(1) terms.
    atol = 1e-5 if ndim == 1 else ATOL_2D
    assert abs(float(d) ** 2 - brute_d2(grid, rho, x)) < atol


@pytest.mark.usefixtures("x64")
def test_third_order():
    # The error of D^2 falls like width^3 (multilinear interpolation with its leading
    # curvature term removed). Measured ratios per halving: 9.1, 8.4.
    x = cloud(1000, 2, seed=3)
    within_samples = distances(x, x).mean()  # the same on every grid
    widths, errors = [], []
    for shape in [(12, 10), (24, 20), (48, 40)]:
        grid = mf.Grid(*BOX_2D, shape)
        rho = density(grid)
        p, w = centres(grid), np.ravel(rho) * grid.cell_volume
        exact = 2 * w @ distances(p, x).mean(1) - brute_within(grid, rho) - within_samples
        d = energy_distance(grid, jnp.asarray(rho), jnp.asarray(x))
        widths.append(grid.widths[0])
        errors.append(abs(float(d) ** 2 - exact))
    slope = np.polyfit(np.log(widths), np.log(errors), 1)[0]
    assert 2.5 < slope < 3.5, (slope, errors)


@pytest.mark.usefixtures("x64")
def test_1d_matches_scipy():
    # A fine histogram of N(0, 1) against 300 draws of N(0.3, 1.2^2).
    grid = mf.Grid((-6.0,), (6.0,), (400,))
    faces = np.linspace(-6.0, 6.0, 401)
    rho = np.diff(scipy.stats.norm.cdf(faces)) / grid.widths[0]
    rho = rho / (rho.sum() * grid.widths[0])
    x = np.random.default_rng(4).normal(0.3, 1.2, 300)
    expected = scipy.stats.energy_distance(centres(grid)[:, 0], x, u_weights=rho * grid.widths[0])
    d = energy_distance(grid, jnp.asarray(rho), jnp.asarray(x))
    np.testing.assert_allclose(float(d), expected, rtol=1e-9)


@pytest.mark.parametrize("n", [16, 256])
def test_mean_square_is_within_over_n(n):
    # For n i.i.d. draws from the point masses themselves, E D^2 = E|X - X'| / n exactly.
    # 200 replicas; z-score of the mean of n D^2 against E|X - X'| from the direct sum.
    grid = mf.Grid(*BOX_2D, (24, 20))
    rho = density(grid)
    points = jnp.asarray(centres(grid), jnp.float32)
    weights = jnp.asarray(np.ravel(rho) * grid.cell_volume, jnp.float32)
    rho32 = jnp.asarray(rho, jnp.float32)

    def replica(key):
        cells = jr.choice(key, grid.num_cells, (n,), p=weights)
        return mf.energy_distance(grid, rho32, points[cells])

    keys = jr.split(jr.key(5), 200)
    scaled = n * np.asarray(jax.jit(jax.vmap(replica))(keys), np.float64) ** 2
    within = brute_within(grid, rho)
    z = (scaled.mean() - within) / (scaled.std(ddof=1) / np.sqrt(len(scaled)))
    assert abs(z) < 4, (z, scaled.mean(), within)


@pytest.mark.parametrize("ndim", [1, 2])
def test_nan_outside_lattice(ndim):
    # The lattice spans the box widened by one extent on every side, less half a cell.
    grid = mf.Grid(*(BOX_1D if ndim == 1 else BOX_2D), (24, 20)[:ndim])
    rho = jnp.asarray(density(grid), jnp.float32)
    edge = grid.lower[0] - (grid.upper[0] - grid.lower[0]) + 0.5 * grid.widths[0]
    x = jnp.zeros((5, ndim), jnp.float32)
    assert np.isfinite(float(energy_distance(grid, rho, x.at[0, 0].set(edge + 1e-3))))
    assert np.isnan(float(energy_distance(grid, rho, x.at[0, 0].set(edge - 1e-3))))
    assert np.isnan(float(energy_distance(grid, rho, x.at[0, 0].set(100.0))))
    assert np.isnan(float(energy_distance(grid, rho, x.at[0, 0].set(jnp.nan))))


def test_vmap_and_jit():
    grid = mf.Grid(*BOX_2D, (24, 20))
    rho = jnp.asarray(density(grid), jnp.float32)
    batch = jnp.asarray(np.stack([cloud(40, 2, seed=s) for s in range(3)]), jnp.float32)
    batch = batch.at[2, 0, 0].set(50.0)  # one bad replica does not spoil the others

    @jax.jit
    @jax.vmap
    def per_replica(x):
        return mf.energy_distance(grid, rho, x, block_size=16)

    got = per_replica(batch)
    assert got.shape == (3,)
    for i in range(2):
        np.testing.assert_allclose(got[i], energy_distance(grid, rho, batch[i]), rtol=1e-5)
    assert np.isnan(got[2])


def test_bad_shape():
    grid = mf.Grid(*BOX_2D, (24, 20))
    with pytest.raises(ValueError, match="samples must have shape"):
        mf.energy_distance(grid, jnp.asarray(density(grid)), jnp.zeros((5, 3)))
