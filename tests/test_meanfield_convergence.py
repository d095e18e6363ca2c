"""Convergence of the mean-field solver: spatial order 2 on smooth problems, agreement
with exact Gaussian laws under non-constant transport, and grid independence of the
Gaussian-mixture energy."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import bdprocess.meanfield as mf
from models import fixed_potential, linear
from models import fixed_potential_grid as fpg
from models import gaussian_mixture_grid as gmg


def _linear_error(cells: int) -> float:
    # L1 distance at t = 1 between the PDE solution and the exact cell averages of
    # N(m(t), 1) (linear model, alpha = 1). dt = 1 lets the CFL bound set h ~ dx, so the
    # O(h^2) time error does not spoil the spatial rate.
    grid = mf.Grid([-7.0], [9.0], [cells])
    model = linear.LinearGrid(2.0)
    rho0 = model.initial_density(grid, m0=0.0, cov0=1.0)
    sol = mf.solve(model, rho0, grid=grid, t1=1.0, dt=1.0, alpha=1.0, save_density=False)
    exact = linear.exact_density(grid, 1.0, m0=0.0, beta=2.0, cov0=1.0, alpha=1.0)
    return float(grid.integrate(jnp.abs(sol.rho - exact)))


def _fitted_order(cells):
    errs = [_linear_error(n) for n in cells]
    slope = np.polyfit(np.log(1.0 / np.asarray(cells)), np.log(errs), 1)[0]
    return slope, errs


def test_spatial_order_is_two(x64):
    slope, errs = _fitted_order([100, 200, 400])
    assert abs(slope - 2.0) < 0.3, (slope, errs)


@pytest.mark.slow
def test_spatial_order_is_two_on_five_grids(x64):
    slope, errs = _fitted_order([100, 200, 400, 800, 1600])
    assert abs(slope - 2.0) < 0.3, (slope, errs)


def _quadratic_variance_error(cells: int, t: float = 0.5, alpha: float = 2.0) -> float:
    # Transport with the non-constant velocity -theta plus birth-death: the law stays
    # N(0, s_t) with 1/s_t = (1/s0 + alpha/2) e^{2t} - alpha/2 (models.fixed_potential).
    grid = mf.Grid([-6.0], [6.0], [cells])
    rho0 = grid.product_density([mf.normal_cdf(0.0, 1.0)])
    sol = mf.solve(
        fpg.QuadraticGrid(1.0), rho0, grid=grid, t1=t, dt=1.0, alpha=alpha, save_density=False
    )
    var = float(mf.expectation(grid, sol.rho, lambda x: x[..., 0] ** 2))
    exact = float(fixed_potential.exact_variance(t, alpha=alpha, transport=True))
    return abs(var / exact - 1.0)


def test_quadratic_potential_with_transport_matches_exact_variance(x64):
    coarse, fine = _quadratic_variance_error(200), _quadratic_variance_error(400)
    assert fine < 2e-3, fine
    assert 3.0 < coarse / fine < 5.5, (coarse, fine)  # second order


def _gm_energy(cells: int, alpha: float, t1: float = 10.0) -> float:
    grid = gmg.default_grid(cells)
    sol = mf.solve(
        gmg.GaussianMixtureGrid(),
        gmg.initial_density(grid),
        grid=grid,
        t1=t1,
        dt=0.05,
        alpha=alpha,
        save_density=False,
    )
    return float(sol.energy[-1])


def test_gaussian_mixture_energy_at_t10_agrees_on_two_grids():
    coarse, fine = _gm_energy(96, 5.0), _gm_energy(128, 5.0)
    assert abs(coarse / fine - 1.0) < 0.02, (coarse, fine)
    # Birth-death reaches an energy an order of magnitude below C_f / 100 by t = 10.
    assert fine < 5e-4


@pytest.mark.slow
@pytest.mark.parametrize("alpha", [0.0, 1.0, 5.0])
def test_gaussian_mixture_energy_at_t10_agrees_on_fine_grids(alpha):
    coarse, fine = _gm_energy(192, alpha), _gm_energy(256, alpha)
    assert abs(coarse / fine - 1.0) < 0.02, (coarse, fine)


def test_gaussian_mixture_grid_potential_matches_particle_closed_forms(x64):
    # V on the grid = -F + sum_j K(theta_i, theta_j) rho_j dV with the particle model's
    # closed-form F and K (models.gaussian_mixture), summed directly over all cell pairs.
    from models.gaussian_mixture import GaussianMixture

    grid = gmg.default_grid(40)
    rho = gmg.initial_density(grid)
    particle = GaussianMixture()
    pts = grid.points()
    w = rho.ravel() * grid.cell_volume
    K = jax.vmap(lambda a: jax.vmap(lambda b: particle.kernel(a, b))(pts))(pts)
    F = jax.vmap(particle.source)(pts)
    want_V = (K @ w - F).reshape(grid.shape)
    model = gmg.GaussianMixtureGrid()
    np.testing.assert_allclose(model.potential(grid, rho), want_V, atol=1e-12)
    want_E = particle.constant() - F @ w + 0.5 * w @ K @ w
    np.testing.assert_allclose(model.energy(grid, rho), want_E, rtol=1e-12)
