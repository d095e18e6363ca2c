"""Direct (Gillespie) method: DSMTS scores against exact moments, waiting times, statuses."""

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
import scipy.stats

import bdprocess as bd
from models import gaussian_mixture as gm
from models import reactions as rx

TS = np.arange(51.0)


def _ensemble(net, x0, solver, n, seed, t1=50.0, ts=TS):
    sol = bd.ensemble(
        net, x0, keys=jr.split(jr.key(seed), n), t1=t1, solver=solver, saveat=jnp.asarray(ts)
    )
    assert np.all(np.asarray(sol.status._value) == bd.Status.successful._value)
    return sol


def _assert_dsmts(x, mean, var):
    """|Z| < 3 and |Y| < 5 at every t with var > 0; exact agreement where var = 0."""
    z, y = rx.dsmts_scores(x, mean, var)
    fixed = var == 0
    np.testing.assert_array_equal(x[:, fixed], np.broadcast_to(mean[fixed], x[:, fixed].shape))
    assert np.nanmax(np.abs(z)) < 3, z
    assert np.nanmax(np.abs(y)) < 5, y


@pytest.mark.parametrize(
    "model, moments, seed",
    [
        (rx.birth_death, rx.birth_death_moments, 1),
        (rx.immigration_death, rx.immigration_death_moments, 2),
        (rx.batch_immigration, rx.batch_immigration_moments, 3),
    ],
    ids=["birth_death", "immigration_death", "batch_immigration"],
)
def test_dsmts_direct(model, moments, seed):
    net, x0 = model()
    sol = _ensemble(net, x0, bd.Direct(), 1000, seed)
    x = np.asarray(sol.observables["X"], float)
    _assert_dsmts(x, *moments(TS))


def test_dsmts_dimerisation_against_the_master_equation():
    net, x0 = rx.dimerisation()
    ts = np.arange(0.0, 51.0, 5.0)
    sol = _ensemble(net, x0, bd.Direct(), 1000, 4, ts=ts)
    p = np.asarray(sol.observables["P"], float)
    p2 = np.asarray(sol.observables["P2"], float)
    np.testing.assert_array_equal(p + 2 * p2, 100.0)
    _assert_dsmts(p, *rx.dimerisation_moments(ts))


def test_dsmts_scores_catch_a_wrong_rate():
    """The same check fails for a simulator of a slightly different model (power)."""
    net, x0 = rx.birth_death(death=0.115)
    sol = _ensemble(net, x0, bd.Direct(), 1000, 1)
    z, _ = rx.dsmts_scores(np.asarray(sol.observables["X"], float), *rx.birth_death_moments(TS))
    assert np.nanmax(np.abs(z)) > 3


def test_waiting_times_are_exponential():
    """Constant-rate immigration: inter-event times are Exp(rate) (KS)."""
    net, x0 = rx.immigration_death(immigration=2.0, death=0.0)
    sol = bd.simulate(net, x0, t1=1000.0, solver=bd.Direct(), key=jr.key(5), max_events=4000)
    times = sol.event_log.to_numpy()["time"]
    assert times.size == int(sol.state[0]) > 1500
    waits = np.diff(np.concatenate([[0.0], times]))
    assert scipy.stats.kstest(waits, "expon", args=(0, 0.5)).pvalue > 1e-3
    # Power: the same waits are not Exp(rate 2.5).
    assert scipy.stats.kstest(waits, "expon", args=(0, 1 / 2.5)).pvalue < 1e-3


class _NaNRate(bd.ReactionNetwork):
    """Birth-death whose death rate turns NaN once X drops below 95."""

    def rates(self, t, state, args=None):
        a = super().rates(t, state, args)
        return a.at[1].set(jnp.where(state[0] < 95, jnp.nan, a[1]))


def _nan_network():
    net, x0 = rx.birth_death(birth=0.1, death=1.0)
    return _NaNRate(
        net.species, {"birth": ({"X": 1}, {"X": 2}), "death": ({"X": 1}, {})}, net.rate_constants
    ), x0


@pytest.mark.parametrize(
    "solver",
    [bd.Direct(), bd.Extrande(), bd.TauLeap(0.01), bd.AdaptiveTauLeap(), bd.Splitting(0.01)],
    ids=lambda s: type(s).__name__,
)
def test_nan_rate_names_the_channel(solver):
    net, x0 = _nan_network()
    sol = bd.simulate(net, x0, t1=5.0, solver=solver, key=jr.key(0), throw=False)
    assert sol.status == bd.Status.bad_rate
    assert int(sol.stats["bad_channel"]) == 1
    assert "negative or NaN" in sol.message
    with pytest.raises(eqx.EquinoxRuntimeError, match="first bad channel: 1"):
        bd.simulate(net, x0, t1=5.0, solver=solver, key=jr.key(0))


def test_event_log_overflow_says_what_to_raise():
    net, x0 = rx.birth_death()
    sol = bd.simulate(
        net, x0, t1=50.0, solver=bd.Direct(), key=jr.key(0), max_events=10, throw=False
    )
    assert sol.status == bd.Status.event_log_full
    assert "raise max_events" in sol.message
    assert int(sol.event_log.count) > 10
    with pytest.raises(eqx.EquinoxRuntimeError, match="max_events"):
        bd.simulate(net, x0, t1=50.0, solver=bd.Direct(), key=jr.key(0), max_events=10)


def test_event_log_matches_the_counters_and_the_state():
    net, x0 = rx.birth_death(x0=30)
    sol = bd.simulate(net, x0, t1=10.0, solver=bd.Direct(), key=jr.key(7), max_events=5000)
    log = sol.event_log.to_numpy()
    births = int(np.sum(log["kind"] == 0))
    deaths = int(np.sum(log["kind"] == 1))
    assert births == int(sol.observables["birth"].sum())
    assert deaths == int(sol.observables["death"].sum())
    assert int(sol.state[0]) == 30 + births - deaths
    assert np.all(np.diff(log["time"]) >= 0) and log["time"][-1] < 10.0


def test_extinct_population_reaches_t1():
    net, x0 = rx.birth_death(x0=0)
    sol = bd.simulate(net, x0, t1=50.0, solver=bd.Direct(), key=jr.key(0), saveat=jnp.asarray(TS))
    np.testing.assert_array_equal(sol.observables["X"], 0)
    assert int(sol.num_steps) == TS.size - 1  # one empty step per save interval


def test_direct_refuses_a_drift():
    proc = bd.BirthDeath(gm.GaussianMixture(), 5.0)
    pop = bd.Population.from_positions(gm.initial_positions(jr.key(0), 10))
    with pytest.raises(ValueError, match="pure-jump"):
        bd.simulate(proc, pop, t1=1.0, solver=bd.Direct(), key=jr.key(1))


def test_direct_birth_death_particles_keep_n_and_lineages():
    n = 40
    proc = bd.BirthDeath(gm.GaussianMixture(), 5.0, transport=False)
    pop = bd.Population.from_positions(gm.initial_positions(jr.key(0), n))
    sol = bd.simulate(proc, pop, t1=2.0, solver=bd.Direct(), key=jr.key(1), max_events=10_000)
    log = sol.event_log.to_numpy()
    events = log["time"].size
    assert events > 20
    assert events == int(sol.observables["deaths"].sum() + sol.observables["births"].sum())
    assert sol.state.theta.shape == (n, 2)
    assert int(sol.state.next_id) == n + events
    assert np.unique(np.asarray(sol.state.ids)).size == n
    # Every row is a copy of an initial row (clone rebirth moves nothing).
    rows = {tuple(r) for r in np.asarray(pop.theta)}
    assert all(tuple(r) in rows for r in np.asarray(sol.state.theta))


def test_direct_rates_of_particles_match_a_single_step_law():
    """First-jump time of a frozen population is Exp(total rate) (KS over replicas)."""
    n = 20
    proc = bd.BirthDeath(gm.GaussianMixture(), 5.0, transport=False)
    pop = bd.Population.from_positions(gm.initial_positions(jr.key(0), n))
    total = float(jnp.sum(proc.rates(0.0, pop, None)))
    t1 = 20.0 / total  # P(no jump by t1) = e^-20
    sol = bd.ensemble(
        proc, pop, keys=jr.split(jr.key(2), 2000), t1=t1, solver=bd.Direct(), max_events=1
    )
    first = np.asarray(sol.event_log.time[:, 0])
    assert np.isfinite(first).all()
    assert scipy.stats.kstest(first, "expon", args=(0, 1 / total)).pvalue > 1e-3


def test_ensemble_under_vmap_matches_single_runs():
    net, x0 = rx.birth_death(x0=20)
    keys = jr.split(jr.key(9), 3)
    batch = bd.ensemble(net, x0, keys=keys, t1=5.0, solver=bd.Direct())
    for i in range(3):
        one = bd.simulate(net, x0, t1=5.0, solver=bd.Direct(), key=keys[i])
        np.testing.assert_array_equal(one.state, batch.state[i])
