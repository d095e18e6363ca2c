"""The linear model (REFERENCE.md section 5): exact solution, particle form, grid form."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import bdprocess as bd
import bdprocess.meanfield as mf
from models import linear

SETTING = dict(m0=0.0, beta=2.0, cov0=1.0)


def test_exact_energy_matches_reference_values():
    # REFERENCE.md section 5 quotes E(1) = 0.2707, 0.03663, 1.23e-5 for alpha = 0, 1, 5.
    for alpha, value, digits in [(0.0, 0.2707, 4), (1.0, 0.03663, 4), (5.0, 1.23e-5, 3)]:
        got = float(linear.energy_path(1.0, alpha=alpha, **SETTING))
        assert abs(got / value - 1) < 10.0 ** (-digits + 0.3)
    # 2-D: exp(-(I + alpha S0) t) with a non-diagonal S0 agrees with a fine Euler scheme.
    S0 = np.array([[1.0, 0.5], [0.5, 2.0]])
    m0, beta = np.array([0.0, 1.0]), np.array([2.0, -1.0])
    m, n = m0.copy(), 100_000
    for _ in range(n):
        m = m - (np.eye(2) + 3.0 * S0) @ (m - beta) / n
    want = linear.mean_path(1.0, m0=m0, beta=beta, cov0=S0, alpha=3.0)
    np.testing.assert_allclose(m, want, rtol=1e-3)


def test_particle_form_closed_forms(x64):
    theta = jr.normal(jr.key(0), (50, 2)) + 1.0
    beta = jnp.asarray([2.0, -1.0])
    ev = linear.Linear(beta).evaluate(theta)
    gap = jnp.mean(theta, axis=0) - beta
    np.testing.assert_allclose(ev.potentials, theta @ gap, rtol=1e-12)
    np.testing.assert_allclose(ev.gradients, jnp.broadcast_to(gap, theta.shape), rtol=1e-12)
    np.testing.assert_allclose(ev.energy, 0.5 * jnp.sum(gap**2), rtol=1e-12)
    # The O(n) closed-form kernel sums agree with the generic blocked autodiff path.
    pot = linear.Linear(beta, block_size=16)
    for with_grad in (False, True):
        fast = pot.interaction(theta[:7], theta, with_grad=with_grad)
        slow = bd.kernel_mean(pot.kernel, theta[:7], theta, 16, with_grad)
        for a, b in zip(fast, slow, strict=True):
            if b is None:
                assert a is None
            else:
                np.testing.assert_allclose(a, b, rtol=1e-12)


def test_particle_energy_bias_at_time_zero():
    # E[E(mu_n)] = E(mu_0) + tr S0 / (2n) (REFERENCE.md section 5); z-score over replicas.
    n, reps = 10, 4000
    keys = jr.split(jr.key(1), reps)
    thetas = jax.vmap(lambda k: linear.initial_positions(k, n, m0=0.0, cov0=1.0))(keys)
    energies = np.asarray(jax.vmap(linear.Linear(2.0).energy)(thetas))
    want = 2.0 + 1.0 / (2 * n)
    z = (energies.mean() - want) / (energies.std(ddof=1) / np.sqrt(reps))
    assert abs(z) < 3, z


def test_gradient_descent_particles_match_exact_mean_energy():
    # E[E(mu_n(t))] = e^{-2t}(|m0 - beta|^2 / 2 + tr S0 / (2n)) for GD particles.
    n, reps, t1 = 10, 400, 0.5
    keys = jr.split(jr.key(2), reps)
    thetas = jax.vmap(lambda k: linear.initial_positions(k, n, m0=0.0, cov0=1.0))(keys)
    states = jax.vmap(bd.Population.from_positions)(thetas)
    process = bd.BirthDeath(linear.Linear(2.0), 0.0)
    sol = bd.ensemble(
        process,
        states,
        keys=keys,
        batched_state=True,
        t1=t1,
        solver=bd.Splitting(0.001),
        saveat=jnp.asarray([t1]),
    )
    energies = np.asarray(sol.observables["energy"][:, -1])
    want = linear.gd_particle_energy_mean(t1, n=n, **SETTING)
    z = (energies.mean() - want) / (energies.std(ddof=1) / np.sqrt(reps))
    assert abs(z) < 3, z


@pytest.fixture(scope="module")
def fine_runs():
    ts = np.linspace(0.0, 1.0, 11)
    out = {}
    with jax.enable_x64(True):
        grid = mf.Grid([-7.0], [9.0], [1600])
        model = linear.LinearGrid(2.0)
        rho0 = model.initial_density(grid, m0=0.0, cov0=1.0)
        for alpha in (0.0, 1.0, 5.0):
            sol = mf.solve(model, rho0, grid=grid, t1=1.0, dt=0.002, alpha=alpha, saveat=ts)
            mean = mf.expectation(grid, sol.density, lambda x: x[..., 0])
            out[alpha] = (np.asarray(sol.energy), np.asarray(mean), np.asarray(sol.mass))
    return ts, out


@pytest.mark.parametrize("alpha", [0.0, 1.0, 5.0])
def test_pde_energy_at_one_to_1e_3(fine_runs, alpha):
    ts, out = fine_runs
    energy, _, _ = out[alpha]
    want = linear.energy_path(1.0, alpha=alpha, **SETTING)
    assert abs(energy[-1] / want - 1) < 1e-3, (energy[-1], want)


@pytest.mark.parametrize("alpha", [0.0, 1.0, 5.0])
def test_pde_mean_path_to_1e_3(fine_runs, alpha):
    ts, out = fine_runs
    _, mean, mass = out[alpha]
    want = linear.mean_path(ts, alpha=alpha, **SETTING)[:, 0]
    # Relative error of the distance to the optimum m(t) - beta (the demanding measure).
    np.testing.assert_allclose(mean - 2.0, want - 2.0, rtol=1e-3)
    np.testing.assert_allclose(mass, 1.0, rtol=0, atol=1e-12)


def test_exact_density_matches_pde_density(x64):
    grid = mf.Grid([-7.0], [9.0], [400])
    model = linear.LinearGrid(2.0)
    rho0 = model.initial_density(grid, m0=0.0, cov0=1.0)
    sol = mf.solve(model, rho0, grid=grid, t1=1.0, dt=1.0, alpha=1.0, save_density=False)
    want = linear.exact_density(grid, 1.0, alpha=1.0, **SETTING)
    assert float(grid.integrate(jnp.abs(sol.rho - want))) < 1e-3
