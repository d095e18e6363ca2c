"""Extrande: DSMTS scores, thinning with loose bounds, bound violations, the RK4 drift
integrator's order, the exact law of the fixed-potential model with drift, and agreement
with Splitting at small dt on the paper's Gaussian model."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
import scipy.stats

import bdprocess as bd
from bdprocess._solver.extrande import rk4
from models import fixed_potential as fp
from models import gaussian_mixture as gm
from models import reactions as rx

TS = np.arange(51.0)


class _ScaledBound(bd.ReactionNetwork):
    """A reaction network that reports ``factor`` times its total rate as its bound."""

    factor: float

    def __init__(self, net: bd.ReactionNetwork, factor: float):
        reactions = {
            name: (dict(zip(net.species, r, strict=True)), dict(zip(net.species, p, strict=True)))
            for name, r, p in zip(net.reaction_names, net.reactants, net.products, strict=True)
        }
        super().__init__(net.species, reactions, net.rate_constants)
        self.factor = factor

    def rate_bound(self, t, state, horizon, safety, args=None):
        return self.factor * jnp.sum(self.rates(t, state, args))


def _loose(model, factor):
    net, x0 = model()
    return _ScaledBound(net, factor), x0


def _dsmts(net, x0, solver, seed, moments):
    sol = bd.ensemble(
        net, x0, keys=jr.split(jr.key(seed), 1000), t1=50.0, solver=solver, saveat=jnp.asarray(TS)
    )
    assert np.all(np.asarray(sol.status._value) == bd.Status.successful._value)
    x = np.asarray(sol.observables["X"], float)
    z, y = rx.dsmts_scores(x, *moments(TS))
    assert np.nanmax(np.abs(z)) < 3, z
    assert np.nanmax(np.abs(y)) < 5, y
    return sol


@pytest.mark.parametrize(
    "model, moments, seed",
    [
        (rx.birth_death, rx.birth_death_moments, 11),
        (rx.immigration_death, rx.immigration_death_moments, 13),
    ],
    ids=["birth_death", "immigration_death"],
)
def test_dsmts_extrande(model, moments, seed):
    net, x0 = model()
    _dsmts(net, x0, bd.Extrande(), seed, moments)


def test_dsmts_extrande_with_a_loose_bound_thins_correctly():
    """Bound = 3 x total rate: two thirds of the proposals are rejected, law unchanged."""
    net, x0 = _loose(rx.birth_death, 3.0)
    sol = _dsmts(net, x0, bd.Extrande(horizon=1.0), 13, rx.birth_death_moments)
    proposals = np.asarray(sol.stats["proposals"]).sum()
    rejected = np.asarray(sol.stats["rejections"]).sum()
    assert int(np.asarray(sol.stats["bound_violations"]).sum()) == 0
    # Binomial(proposals, 2/3) rejections.
    frac, se = rejected / proposals, np.sqrt(2 / 9 / proposals)
    assert abs(frac - 2 / 3) < 4 * se


def test_violated_bound_is_detected_counted_and_reported():
    net, x0 = _loose(rx.birth_death, 0.5)
    sol = bd.simulate(net, x0, t1=5.0, solver=bd.Extrande(), key=jr.key(0), throw=False)
    assert sol.status == bd.Status.rate_bound_violated
    assert int(sol.stats["bound_violations"]) > 0
    assert "safety" in sol.message
    with pytest.raises(Exception, match="Extrande rate bound"):
        bd.simulate(net, x0, t1=5.0, solver=bd.Extrande(), key=jr.key(0))


def test_rk4_drift_integrator_is_fourth_order(x64):
    """Drift -k theta (alpha = 0): error against theta0 e^{-kT} falls as max_dt^4."""
    proc, pop = fp.make(jr.key(0), n=5, alpha=0.0, curvature=1.3, transport=True)
    T = 2.0
    exact = pop.theta * np.exp(-1.3 * T)
    steps = np.array([0.2, 0.1, 0.05, 0.025])
    errors = []
    for h in steps:
        out = rk4(proc, jnp.asarray(0.0), pop, jnp.asarray(T), jnp.asarray(h), None)
        errors.append(float(jnp.max(jnp.abs(out.theta - exact))))
    slope = np.polyfit(np.log(steps), np.log(errors), 1)[0]
    assert abs(slope - 4) < 0.2, (slope, errors)


def _pooled_sample(process, n, solver, t_save, replicas, per_replica, seed):
    """``per_replica`` slots from each of ``replicas`` independent clouds (nearly iid)."""
    k_init, k_run = jr.split(jr.key(seed))
    theta0 = jax.vmap(lambda k: fp.initial_positions(k, n))(jr.split(k_init, replicas))
    pops = jax.vmap(bd.Population.from_positions)(theta0)
    sol = bd.ensemble(
        process,
        pops,
        batched_state=True,
        keys=jr.split(k_run, replicas),
        t1=float(t_save[-1]),
        solver=solver,
        saveat=jnp.asarray(t_save),
        observables={"theta": lambda t, s, a: s.theta[:per_replica, 0]},
    )
    assert np.all(np.asarray(sol.status._value) == bd.Status.successful._value)
    return np.asarray(sol.observables["theta"]), sol


def test_fixed_potential_with_drift_matches_the_exact_law():
    """Transport -k theta plus birth-death: N(0, s_t) with 1/s_t = (1/s0 + a/2)e^{2t} - a/2.

    One cloud is not an iid sample (clones are correlated), so the KS test pools 100 slots
    from each of 20 independent clouds of n = 1000 (within-cloud correlations are O(1/n)).
    """
    proc, _ = fp.make(jr.key(1), n=2, alpha=1.0, transport=True)
    ts = np.array([0.5, 1.0])
    theta, sol = _pooled_sample(proc, 1000, bd.Extrande(), ts, 20, 100, 2)
    assert int(np.asarray(sol.stats["bound_violations"]).sum()) == 0
    for i, t in enumerate(ts):
        x = theta[:, i].ravel()
        cdf = lambda z, t=t: fp.exact_cdf(z, t, alpha=1.0, transport=True)  # noqa: E731
        assert scipy.stats.kstest(x, cdf).pvalue > 1e-3
    # Power: at t = 1 the law without birth-death (variance 0.135, not 0.094) is rejected.
    no_bd = lambda z: fp.exact_cdf(z, 1.0, alpha=0.0, transport=True)  # noqa: E731
    assert scipy.stats.kstest(theta[:, 1].ravel(), no_bd).pvalue < 1e-3


def _mean_energy(solver, n, replicas, t_save, seed):
    proc = bd.BirthDeath(gm.GaussianMixture(), 5.0)
    pop = bd.Population.from_positions(gm.initial_positions(jr.key(0), n))
    sol = bd.ensemble(
        proc,
        pop,
        keys=jr.split(jr.key(seed), replicas),
        t1=float(t_save[-1]),
        solver=solver,
        saveat=jnp.asarray(t_save),
    )
    assert np.all(np.asarray(sol.status._value) == bd.Status.successful._value)
    e = np.asarray(sol.observables["energy"], float)
    return e.mean(0), e.std(0, ddof=1) / np.sqrt(replicas)


def test_extrande_matches_small_step_splitting_on_the_gaussian_model():
    """Mean energy path of the paper's process (alpha = 5, transport on): Extrande and
    Splitting(dt = 0.002) agree within Monte-Carlo error (z < 4 at every save time);
    Splitting's own O(dt) bias is below 0.1 standard errors at this dt."""
    ts = np.array([0.25, 0.5])
    e_ex, se_ex = _mean_energy(bd.Extrande(horizon=0.05), 40, 48, ts, 3)
    e_sp, se_sp = _mean_energy(bd.Splitting(0.002), 40, 48, ts, 4)
    z = (e_ex - e_sp) / np.hypot(se_ex, se_sp)
    assert np.all(np.abs(z) < 4), (e_ex, e_sp, z)


@pytest.mark.slow
def test_extrande_matches_small_step_splitting_on_the_gaussian_model_long():
    ts = np.array([0.5, 1.0, 2.0])
    e_ex, se_ex = _mean_energy(bd.Extrande(horizon=0.05), 200, 64, ts, 5)
    e_sp, se_sp = _mean_energy(bd.Splitting(0.001), 200, 64, ts, 6)
    z = (e_ex - e_sp) / np.hypot(se_ex, se_sp)
    assert np.all(np.abs(z) < 4), (e_ex, e_sp, z)


def test_extrande_keeps_n_and_moves_particles():
    proc = bd.BirthDeath(gm.GaussianMixture(), 5.0)
    pop = bd.Population.from_positions(gm.initial_positions(jr.key(0), 30))
    sol = bd.simulate(proc, pop, t1=0.5, solver=bd.Extrande(), key=jr.key(1), max_events=5000)
    assert sol.state.theta.shape == (30, 2)
    assert int(sol.state.next_id) == 30 + int(sol.event_log.count)
    assert int(sol.event_log.count) > 0
    assert not np.allclose(sol.state.theta[:, 0], pop.theta[:, 0])
    assert int(sol.stats["bound_violations"]) == 0
