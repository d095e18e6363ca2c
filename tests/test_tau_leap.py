"""Tau-leaping: accuracy at the default eps, weak order 1 in tau, no negative counts,
exact population size for particle leaps."""

import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import bdprocess as bd
from models import gaussian_mixture as gm
from models import reactions as rx
from models import teacher_student as ts


def _final(net, x0, solver, replicas, seed, t1, ts=None):
    ts = np.array([t1]) if ts is None else ts
    sol = bd.ensemble(
        net,
        x0,
        keys=jr.split(jr.key(seed), replicas),
        t1=t1,
        solver=solver,
        saveat=jnp.asarray(ts),
        max_steps=10**7,
    )
    assert np.all(np.asarray(sol.status._value) == bd.Status.successful._value)
    return sol


def _within_two_percent(x, mean, var):
    """Relative errors of the sample mean and sd, each within 2% plus 3 standard errors."""
    n = x.shape[0]
    sd = np.sqrt(var)
    m_err = np.abs(x.mean(0) / mean - 1)
    s_err = np.abs(x.std(0) / sd - 1)
    m_se = sd / mean / np.sqrt(n)
    s_se = np.sqrt(1 / (2 * n))  # ~Gaussian counts; the sd's relative standard error
    assert np.all(m_err < 0.02 + 3 * m_se), (m_err, m_se)
    assert np.all(s_err < 0.02 + 3 * s_se), (s_err, s_se)
    return m_err, s_err


@pytest.mark.parametrize(
    "model, moments, kwargs",
    [
        (rx.birth_death, rx.birth_death_moments, dict(x0=10_000, birth=1.0, death=1.1)),
        (rx.immigration_death, rx.immigration_death_moments, dict(immigration=1000.0, death=1.0)),
    ],
    ids=["birth_death", "immigration_death"],
)
def test_adaptive_tau_leap_is_within_two_percent_at_default_eps(model, moments, kwargs):
    """Large counts, so that the default eps = 0.03 really leaps: the exact fallback (one
    jump per step, taken while the counts are small, e.g. immigration from X = 0) fires
    under 10% of all jumps."""
    net, x0 = model(**kwargs)
    ts = np.array([1.0, 2.0, 5.0])
    sol = _final(net, x0, bd.AdaptiveTauLeap(), 10_000, 21, 5.0, ts)
    jumps = sum(int(np.asarray(sol.observables[k]).sum()) for k in net.event_kinds)
    exact = int(np.asarray(sol.stats["exact_steps"]).sum())
    assert int(np.asarray(sol.stats["leaps"]).sum()) > 0
    assert exact < 0.1 * jumps, (exact, jumps)
    mean, var = moments(ts, **kwargs)
    _within_two_percent(np.asarray(sol.observables["X"], float), mean, var)


@pytest.mark.slow
def test_adaptive_tau_leap_dsmts_birth_death_within_two_percent():
    """The DSMTS setting (x0 = 100) at the default eps; the mean and sd over t = 1..50.

    Slow (about 90 s): at these small counts most steps are the exact fallback, so the
    large-count test above is the per-commit check of the leaps themselves."""
    net, x0 = rx.birth_death()
    ts = np.arange(1.0, 51.0)
    sol = _final(net, x0, bd.AdaptiveTauLeap(), 10_000, 22, 50.0, ts)
    mean, var = rx.birth_death_moments(ts)
    _within_two_percent(np.asarray(sol.observables["X"], float), mean, var)


def test_fixed_tau_weak_error_is_first_order():
    """Mean of X(1) for birth 1, death 2, x0 = 1000 under Poisson leaps.

    A leap multiplies the mean by exactly 1 + (b - d) tau, so E X_tau(1) =
    x0 (1 - tau)^(1/tau): the sample means must match that (z-scores) and their error
    against the exact x0 e^{-1} must fall with slope 1 (+-0.3) in tau.
    """
    net, x0 = rx.birth_death(x0=1000, birth=1.0, death=2.0)
    taus = np.array([1 / 32, 1 / 16, 1 / 8, 1 / 4])
    exact, var = rx.birth_death_moments(1.0, x0=1000, birth=1.0, death=2.0)
    errors = []
    for i, tau in enumerate(taus):
        x = np.asarray(_final(net, x0, bd.TauLeap(tau), 20_000, 30 + i, 1.0).state[:, 0], float)
        leap_mean = 1000 * (1 - tau) ** (1 / tau)
        z = (x.mean() - leap_mean) / (x.std() / np.sqrt(x.size))
        assert abs(z) < 4, (tau, x.mean(), leap_mean)
        errors.append(exact - x.mean())
    errors = np.asarray(errors)
    assert np.all(errors > 0)
    slope = np.polyfit(np.log(taus), np.log(errors), 1)[0]
    assert abs(slope - 1) < 0.3, (slope, errors)
    assert var > 0


def test_leaps_never_go_negative():
    net, x0 = rx.birth_death(x0=5, birth=0.5, death=3.0)
    sol = _final(net, x0, bd.TauLeap(2.0), 500, 40, 10.0, np.arange(1.0, 11.0))
    assert int(np.asarray(sol.observables["X"]).min()) >= 0
    net, x0 = rx.dimerisation(p0=100, k1=0.05, k2=0.5)
    sol = _final(net, x0, bd.TauLeap(1.0), 500, 41, 10.0, np.arange(1.0, 11.0))
    p, p2 = (np.asarray(sol.observables[k]) for k in ("P", "P2"))
    assert p.min() >= 0 and p2.min() >= 0
    np.testing.assert_array_equal(p + 2 * p2, 100)


@pytest.mark.parametrize("solver", [bd.TauLeap(0.05), bd.AdaptiveTauLeap(0.05)])
def test_particle_leaps_keep_n_and_lineages(solver):
    n = 300
    proc = bd.BirthDeath(gm.GaussianMixture(), 5.0, transport=False)
    pop = bd.Population.from_positions(gm.initial_positions(jr.key(0), n))
    sol = bd.simulate(proc, pop, t1=1.0, solver=solver, key=jr.key(1), max_events=100_000)
    assert sol.message == "success"
    assert sol.state.theta.shape == (n, 2)
    assert np.unique(np.asarray(sol.state.ids)).size == n
    assert int(sol.state.next_id) == n + int(sol.event_log.count)
    rows = {tuple(r) for r in np.asarray(pop.theta)}
    assert all(tuple(r) in rows for r in np.asarray(sol.state.theta))


def test_adaptive_tau_leap_refuses_a_drift():
    proc = bd.BirthDeath(gm.GaussianMixture(), 5.0)
    pop = bd.Population.from_positions(gm.initial_positions(jr.key(0), 10))
    with pytest.raises(ValueError, match="pure-jump"):
        bd.simulate(proc, pop, t1=1.0, solver=bd.AdaptiveTauLeap(), key=jr.key(1))


def test_bad_step_sizes_are_rejected():
    with pytest.raises(ValueError, match="tau must be positive"):
        bd.TauLeap(0.0)
    with pytest.raises(ValueError, match="eps must be positive"):
        bd.AdaptiveTauLeap(-1.0)
    with pytest.raises(ValueError, match="horizon must be positive"):
        bd.Extrande(horizon=float("inf"))


def test_tau_leap_draws_a_mini_batch_per_step_like_splitting():
    """With a drift, TauLeap is the Splitting scheme step for step, mini-batches included:
    the same trajectory from the same key. Full-batch rates (the fixed sample) differ."""
    teacher = ts.make_teacher(jr.key(0), d=4, width=2)
    pop = bd.Population.from_positions(ts.initial_positions(jr.key(1), 8, 4, init_c=2.0))

    def final(solver, batch_size):
        pot = ts.make_potential(teacher, jr.key(2), batch_size=batch_size, test_size=64)
        proc = bd.BirthDeath(pot, 50.0, centred=True)
        sol = bd.simulate(proc, pop, t1=0.2, solver=solver, key=jr.key(3), max_events=1000)
        assert sol.message == "success"
        assert int(sol.event_log.count) > 0  # the rates matter: jumps happened
        return np.asarray(sol.state.theta)

    leap = final(bd.TauLeap(0.01), 16)
    np.testing.assert_array_equal(leap, final(bd.Splitting(0.01), 16))
    assert not np.allclose(leap, final(bd.TauLeap(0.01), None))
