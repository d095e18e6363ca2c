"""The reaction (birth-death) step: exact tilt, positivity, mass, prior rebirth."""

import equinox as eqx
import jax.numpy as jnp
import numpy as np
import pytest

import bdprocess.meanfield as mf
from models import fixed_potential_grid as fpg
from models import gaussian_mixture_grid as gmg


def _grid_1d():
    return mf.Grid([-3.0], [3.0], [301])


def test_reaction_step_is_the_exact_tilt(x64):
    grid = _grid_1d()
    model = fpg.FixedPotentialGrid()  # double well, independent of rho
    rho0 = grid.product_density([mf.normal_cdf(0.3, 0.8)])
    for h, alpha in [(0.01, 1.0), (0.5, 3.0), (2.0, 10.0)]:
        got = mf.reaction_step(model, grid, rho0, h, alpha)
        want = fpg.exact_density(model, grid, rho0, h, alpha)
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_pure_birth_death_solution_matches_exact_tilt(x64):
    grid = _grid_1d()
    model = fpg.FixedPotentialGrid()
    rho0 = grid.product_density([mf.normal_cdf(0.0, 1.0)])
    ts = jnp.linspace(0.0, 3.0, 4)
    sol = mf.solve(model, rho0, grid=grid, t1=3.0, dt=0.07, alpha=2.0, saveat=ts, transport=False)
    for t, rho in zip(ts, sol.density, strict=True):
        want = fpg.exact_density(model, grid, rho0, t, 2.0)
        np.testing.assert_allclose(rho, want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(sol.mass, 1.0, atol=1e-12)


def test_vbar_approaches_min_at_rate_d_over_2_alpha_t(x64):
    # REFERENCE.md section 2: Vbar_t - min V ~ d / (2 alpha t) for a quadratic minimum.
    grid = mf.Grid([-2.0], [2.0], [4001])
    model = fpg.QuadraticGrid(1.0)
    rho0 = grid.product_density([mf.uniform_cdf(-2.0, 2.0)])
    alpha, t = 1.0, 400.0
    rho = fpg.exact_density(model, grid, rho0, t, alpha)
    got = mf.reaction_step(model, grid, rho0, t, alpha)
    vbar = grid.integrate(model.potential(grid, got) * got)
    assert abs(float(vbar) * 2 * alpha * t - 1.0) < 0.01
    np.testing.assert_allclose(got, rho, rtol=1e-9, atol=1e-12)


def test_reaction_step_nonlinear_is_second_order_in_h(x64):
    # V depends on rho (Gaussian mixture): the exponential midpoint rule has local error
    # O(h^3), so over a fixed time the error of n steps falls like n^-2.
    grid = gmg.default_grid(40)
    model = gmg.GaussianMixtureGrid()
    rho0 = gmg.initial_density(grid)
    t = 1.0

    step = eqx.filter_jit(mf.reaction_step)

    def run(n):
        rho = rho0
        for _ in range(n):
            rho = step(model, grid, rho, t / n, 5.0)
        return rho

    ref = run(128)
    errs = [float(grid.integrate(jnp.abs(run(n) - ref))) for n in (8, 16, 32)]
    orders = np.log2(np.asarray(errs[:-1]) / np.asarray(errs[1:]))
    assert np.all(np.abs(orders - 2.0) < 0.3), (errs, orders)


@pytest.mark.parametrize("prior", [False, True])
def test_reaction_keeps_mass_and_positivity_for_any_step(x64, prior):
    grid = gmg.default_grid(40)
    model = gmg.GaussianMixtureGrid()
    rho0 = gmg.initial_density(grid)
    p = model.prior_density(grid) if prior else None
    rho = mf.reaction_step(model, grid, rho0, 50.0, 20.0, p)
    assert float(jnp.min(rho)) >= 0.0
    assert abs(float(grid.integrate(rho)) - 1.0) < 1e-12


def test_prior_rebirth_refills_empty_regions(x64):
    # Clone rebirth cannot create mass where rho0 = 0; prior rebirth can.
    grid = _grid_1d()
    model = fpg.QuadraticGrid(1.0)
    rho0 = grid.product_density([mf.uniform_cdf(1.0, 3.0)])
    empty = grid.centres(0) < 0.9
    clone = mf.solve(model, rho0, grid=grid, t1=2.0, dt=0.05, alpha=1.0, transport=False)
    prior = mf.solve(
        model, rho0, grid=grid, t1=2.0, dt=0.05, alpha=1.0, transport=False, rebirth="prior"
    )
    assert float(jnp.max(clone.rho[empty])) == 0.0
    assert float(grid.integrate(jnp.where(empty, prior.rho, 0.0))) > 0.05
    np.testing.assert_allclose(prior.mass, 1.0, atol=1e-12)
    # Prior rebirth moves mass towards the minimum faster than cloning alone here.
    assert float(prior.energy[-1]) < float(clone.energy[-1])
