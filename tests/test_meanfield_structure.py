"""Structure preservation of the mean-field solver: mass, positivity, energy decay, the
discrete dissipation identity, CFL, bad input, tracing and vmap."""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import bdprocess as bd
import bdprocess.meanfield as mf
from models import fixed_potential_grid as fpg
from models import gaussian_mixture_grid as gmg
from models import linear


@pytest.fixture(scope="module")
def gm_run():
    with jax.enable_x64(True):
        grid = gmg.default_grid(48)
        rho0 = gmg.initial_density(grid)
        sol = mf.solve(
            gmg.GaussianMixtureGrid(),
            rho0,
            grid=grid,
            t1=4.0,
            dt=0.05,
            alpha=5.0,
            saveat=jnp.linspace(0.0, 4.0, 41),
        )
    return sol


def test_mass_is_conserved_to_rounding(gm_run):
    assert gm_run.mass.dtype == jnp.float64
    np.testing.assert_allclose(gm_run.mass, 1.0, rtol=0, atol=1e-12)


def test_density_stays_nonnegative(gm_run):
    assert np.min(np.asarray(gm_run.min_density)) >= 0.0
    assert np.min(np.asarray(gm_run.density)) >= 0.0
    assert np.asarray(gm_run.max_cfl) <= 0.45


def test_energy_is_non_increasing(gm_run):
    assert np.all(np.diff(np.asarray(gm_run.energy)) <= 1e-14)
    # ... and actually falls (from C_f = 0.0689 by more than an order of magnitude).
    assert float(gm_run.energy[-1]) < 0.1 * float(gm_run.energy[0])


def test_energy_decrease_matches_integrated_dissipation(gm_run):
    # E(t_k) - E(t_{k+1}) = int (D_T + D_R) dt; trapezoid over the saves (error O(dt_save^2)).
    drop = -np.diff(np.asarray(gm_run.energy))
    D = np.asarray(gm_run.transport_dissipation + gm_run.reaction_dissipation)
    trapezoid = 0.5 * (D[1:] + D[:-1]) * 0.1
    late = slice(10, None)  # after the initial transient the trapezoid rule is accurate
    np.testing.assert_allclose(drop[late], trapezoid[late], rtol=0.02)


def test_outflow_is_reported_and_small(gm_run):
    assert np.all(np.diff(np.asarray(gm_run.outflow)) >= 0)
    assert 0.0 < float(gm_run.outflow[-1]) < 1e-3


@pytest.mark.parametrize("parts", ["both", "transport", "reaction"])
def test_one_step_energy_change_matches_dissipation_to_first_order(x64, parts):
    # (E(rho_h) - E(rho)) / h = -(D_T + D_R) + O(h): the error halves with h.
    grid = gmg.default_grid(40)
    model = gmg.GaussianMixtureGrid()
    rho = gmg.initial_density(grid)
    alpha = 0.0 if parts == "transport" else 5.0
    transport = parts != "reaction"
    V = model.potential(grid, rho)
    _, d_t, _, _ = mf.transport_rhs(grid, rho, V)
    D = (d_t if transport else 0.0) + mf.reaction_dissipation(grid, V, rho, alpha, None)
    E0 = model.energy(grid, rho)
    step = eqx.filter_jit(mf.strang_step)

    def err(h):
        new, _, _ = step(model, grid, rho, h, alpha, transport=transport)
        return abs(float((model.energy(grid, new) - E0) / h + D))

    hs = [0.02, 0.01, 0.005]
    errs = [err(h) for h in hs]
    assert errs[0] < 0.1 * float(D)
    ratios = np.asarray(errs[:-1]) / np.asarray(errs[1:])
    assert np.all(ratios > 1.7), (errs, ratios)


def test_cfl_bound_is_what_keeps_the_density_nonnegative(x64):
    grid = mf.Grid([-1.0], [1.0], [64])
    model = fpg.QuadraticGrid(-20.0)  # u = 20 theta: an expanding flow
    rho = grid.product_density([mf.uniform_cdf(0.5, 0.8)])  # sharp edges
    speed = float(mf.transport_speed(grid, model.potential(grid, rho)))
    ok, _, cfl_ok = mf.transport_step(model, grid, rho, 0.5 / speed)
    bad, _, cfl_bad = mf.transport_step(model, grid, rho, 3.0 / speed)
    assert float(jnp.min(ok)) >= 0.0 and abs(float(cfl_ok) - 0.5) < 1e-12
    assert float(jnp.min(bad)) < 0.0 and float(cfl_bad) > 2.9


# ---- bad input --------------------------------------------------------------------------


def _linear_setup():
    grid = mf.Grid([-7.0], [9.0], [128])
    model = linear.LinearGrid(2.0)
    return grid, model, model.initial_density(grid, m0=0.0, cov0=1.0)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (dict(cfl=0.6), "cfl must be in"),
        (dict(cfl=0.0), "cfl must be in"),
        (dict(dt=-0.1), "dt must be positive"),
        (dict(alpha=-1.0), "alpha must be >= 0"),
        (dict(t1=0.0), "t0 < t1"),
        (dict(saveat=[0.5, 0.2]), "strictly increasing"),
        (dict(saveat=[0.5, 2.0]), "must lie in"),
        (dict(rebirth="bogus"), "rebirth must be"),
    ],
)
def test_bad_options_raise(change, match):
    grid, model, rho0 = _linear_setup()
    kwargs = dict(grid=grid, t1=1.0, dt=0.01, alpha=1.0) | change
    with pytest.raises(ValueError, match=match):
        mf.solve(model, rho0, **kwargs)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda r: -r, r"must be >= 0, got a cell with density -"),
        (lambda r: 2 * r, r"must integrate to 1 on the grid, got mass (2|1.9999)"),
        (lambda r: r[:-1], r"must have the grid's shape \(128,\)"),
        (lambda r: r.at[3].set(jnp.nan), "must be finite"),
    ],
)
def test_bad_densities_raise(make, match):
    grid, model, rho0 = _linear_setup()
    with pytest.raises(ValueError, match=match):
        mf.solve(model, make(rho0), grid=grid, t1=1.0, dt=0.01)


def test_coarse_or_small_grids_raise():
    model = gmg.GaussianMixtureGrid()
    rho = jnp.full((20, 20), 1 / 100.0)
    with pytest.raises(ValueError, match=r"too coarse: cell width 0.5 in y exceeds 0.25"):
        mf.solve(model, rho, grid=mf.Grid([-5, -5], [5, 5], [20, 20]), t1=1.0, dt=0.1)
    with pytest.raises(ValueError, match=r"does not cover the model's support \[-4.0, 4.0\]"):
        gmg.initial_density(mf.Grid([-2, -5], [2, 5], [40, 40]))
    with pytest.raises(ValueError, match="too coarse for init='bad'"):
        gmg.initial_density(gmg.default_grid(64), "bad")
    with pytest.raises(ValueError, match=r"exceeds sd/4"):
        linear.LinearGrid(2.0).initial_density(mf.Grid([-7], [9], [32]), m0=0.0, cov0=1.0)
    with pytest.raises(ValueError, match=r"does not cover the support"):
        linear.LinearGrid(2.0).initial_density(mf.Grid([-1], [3], [64]), m0=0.0, cov0=1.0)
    with pytest.raises(ValueError, match="at least 4 cells"):
        mf.Grid([0.0], [1.0], [3])
    with pytest.raises(ValueError, match="1-D or 2-D"):
        mf.Grid([0, 0, 0], [1, 1, 1], [8, 8, 8])
    with pytest.raises(ValueError, match="lower < upper"):
        mf.Grid([1.0], [0.0], [8])


# ---- statuses, tracing, vmap ------------------------------------------------------------


def test_max_steps_status():
    grid, model, rho0 = _linear_setup()
    sol = mf.solve(model, rho0, grid=grid, t1=1.0, dt=0.01, max_steps=3, throw=False)
    assert sol.status == bd.Status.max_steps_reached
    assert "max_steps" in sol.message
    with pytest.raises(Exception, match="max_steps"):
        mf.solve(model, rho0, grid=grid, t1=1.0, dt=0.01, max_steps=3)


class _Counting(linear.LinearGrid):
    def potential(self, grid, rho):
        TRACES.append(1)
        return super().potential(grid, rho)


TRACES: list[int] = []


def test_dynamic_parameters_do_not_retrace():
    grid, _, rho0 = _linear_setup()
    model = _Counting(2.0)
    kw = dict(grid=grid, saveat=jnp.linspace(0.0, 0.5, 3))
    mf.solve(model, rho0, t1=0.5, dt=0.01, alpha=1.0, **kw)
    traced = len(TRACES)
    assert traced > 0
    mf.solve(model, rho0, t1=0.6, dt=0.02, alpha=3.0, cfl=0.3, reaction_until=0.2, **kw)
    mf.solve(_Counting(1.0), rho0, t1=0.5, dt=0.01, alpha=0.0, **kw)
    assert len(TRACES) == traced


def test_vmap_over_alpha_matches_single_runs():
    grid, model, rho0 = _linear_setup()
    alphas = jnp.asarray([0.0, 1.0, 5.0])

    def final_energy(a):
        return mf.solve(
            model, rho0, grid=grid, t1=0.5, dt=0.01, alpha=a, throw=False, save_density=False
        ).energy[-1]

    batched = jax.vmap(final_energy)(alphas)
    single = jnp.stack([final_energy(a) for a in alphas])
    np.testing.assert_allclose(batched, single, rtol=1e-5)
    exact = [linear.energy_path(0.5, m0=0, beta=2, cov0=1, alpha=float(a)) for a in alphas]
    np.testing.assert_allclose(batched, exact, rtol=0.05)


def test_reaction_until_switches_birth_death_off(x64):
    # With birth-death off after t_q the linear model decays at rate 2 (gradient flow only).
    grid, model, rho0 = _linear_setup()
    sol = mf.solve(
        model,
        rho0,
        grid=grid,
        t1=1.0,
        dt=0.01,
        alpha=5.0,
        reaction_until=0.5,
        saveat=jnp.asarray([0.5, 1.0]),
    )
    e_q = linear.energy_path(0.5, m0=0, beta=2, cov0=1, alpha=5.0)
    np.testing.assert_allclose(sol.energy[0], e_q, rtol=0.02)
    np.testing.assert_allclose(sol.energy[1] / sol.energy[0], math.exp(-1.0), rtol=1e-3)
    assert float(sol.reaction_dissipation[1]) == 0.0
