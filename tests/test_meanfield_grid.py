"""Grids, densities and the observables used to compare the PDE with particle clouds."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
import scipy.stats

import bdprocess.meanfield as mf


def test_grid_geometry():
    grid = mf.Grid([-1.0, 0.0], [1.0, 3.0], [4, 6])
    assert grid.ndim == 2 and grid.num_cells == 24
    assert grid.widths == (0.5, 0.5) and grid.cell_volume == 0.25
    np.testing.assert_allclose(grid.centres(0), [-0.75, -0.25, 0.25, 0.75])
    y, c = grid.mesh()
    assert y.shape == c.shape == (4, 6)
    np.testing.assert_allclose(grid.points()[7], [-0.25, 0.75])  # row-major like ravel
    np.testing.assert_allclose(grid.integrate(jnp.ones((4, 6))), 6.0)


def test_product_density_is_the_exact_cell_average():
    grid = mf.Grid([-3.0, -1.0], [3.0, 1.0], [6, 4])
    rho = grid.product_density([mf.uniform_cdf(-1.0, 1.0), mf.point_mass_cdf(0.0)])
    # The point mass at the face c = 0 is split between the two middle c cells.
    want_y = np.array([0, 0, 0.5, 0.5, 0, 0])
    want_c = np.array([0, 1.0, 1.0, 0]) / 0.5 / 2
    np.testing.assert_allclose(rho, np.outer(want_y, want_c), atol=1e-15)
    np.testing.assert_allclose(grid.integrate(rho), 1.0, rtol=1e-6)


def test_marginal_and_expectation():
    grid = mf.Grid([-6.0, -6.0], [6.0, 6.0], [60, 80])
    rho = grid.product_density([mf.normal_cdf(1.0, 1.0), mf.normal_cdf(-0.5, 1.0)])
    my = mf.marginal(grid, rho, 0)
    want = np.diff(scipy.stats.norm.cdf(np.asarray(grid.faces(0)), 1.0, 1.0)) / 0.2
    np.testing.assert_allclose(my, want, rtol=1e-4, atol=1e-7)
    mean_c = mf.expectation(grid, rho, lambda x: x[..., 1])
    np.testing.assert_allclose(mean_c, -0.5, atol=1e-5)
    batch = jnp.stack([rho, rho])
    assert mf.marginal(grid, batch, 1).shape == (2, 80)
    assert mf.expectation(grid, batch, lambda x: x[..., 0]).shape == (2,)


def test_histogram_counts_particles_in_cells():
    grid = mf.Grid([0.0, 0.0], [2.0, 2.0], [4, 4])
    theta = jnp.asarray([[0.1, 0.1], [0.1, 0.2], [1.9, 0.6], [2.5, 1.0]])
    rho, outside = mf.histogram(grid, theta)
    assert float(outside) == 0.25
    assert float(rho[0, 0]) == pytest.approx(2 / 4 / 0.25)
    assert float(rho[3, 1]) == pytest.approx(1 / 4 / 0.25)
    assert float(grid.integrate(rho)) == pytest.approx(0.75)


def test_wasserstein1_exact_cases():
    grid = mf.Grid([0.0], [1.0], [10])
    uniform = jnp.ones(10)
    assert float(mf.wasserstein1(grid, uniform, jnp.asarray([0.5]))) == pytest.approx(0.25)
    two = jnp.asarray([0.25, 0.75])
    assert float(mf.wasserstein1(grid, uniform, two)) == pytest.approx(0.125)
    # A sample outside the box: W1 = E|X - 2| = 1.5.
    assert float(mf.wasserstein1(grid, uniform, jnp.asarray([2.0]))) == pytest.approx(1.5)


def test_wasserstein1_of_normal_samples_scales_like_reference():
    # REFERENCE.md section 5: sqrt(n) E[W1] -> 1.288 for N(0, 1) samples. Average over
    # replicas; the Monte-Carlo standard error sets the tolerance.
    grid = mf.Grid([-7.0], [7.0], [1400])
    rho = grid.product_density([mf.normal_cdf(0.0, 1.0)])
    n, reps = 2000, 200
    samples = jr.normal(jr.key(3), (reps, n))
    w = np.asarray(jax.vmap(lambda s: mf.wasserstein1(grid, rho, s))(samples)) * np.sqrt(n)
    se = w.std(ddof=1) / np.sqrt(reps)
    # Finite-n value is a little below the limit; allow 3 SE plus 2% for that.
    assert abs(w.mean() - 1.288) < 3 * se + 0.03, (w.mean(), se)
