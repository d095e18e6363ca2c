import jax.numpy as jnp
import jax.random as jr

import bdprocess as bd
from models import gaussian_mixture as gm


def test_simulate_runs_and_keeps_population_size():
    theta = gm.initial_positions(jr.key(0), 50)
    proc = bd.BirthDeath(gm.GaussianMixture(), 5.0)
    sol = bd.simulate(
        proc,
        bd.Population.from_positions(theta),
        t1=1.0,
        solver=bd.Splitting(0.01),
        key=jr.key(1),
        saveat=jnp.linspace(0, 1, 11),
        max_events=10_000,
    )
    assert sol.state.theta.shape == (50, 2)
    assert sol.observables["energy"].shape == (11,)
    assert sol.message == "success"
