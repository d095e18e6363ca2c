"""ReactionNetwork: propensities, stoichiometry, leaps, leap sizes, models, exact moments."""

import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate

import bdprocess as bd
from models import reactions as rx


def test_mass_action_propensities_are_exact():
    net, _ = rx.dimerisation(p0=10, k1=0.5, k2=0.25)
    a = net.rates(0.0, jnp.asarray([10, 3], jnp.int32))
    np.testing.assert_allclose(a, [0.5 * 10 * 9 / 2, 0.25 * 3], rtol=1e-6)
    # Too few molecules for a second-order reaction: propensity exactly 0, never negative.
    a = net.rates(0.0, jnp.asarray([1, 0], jnp.int32))
    assert a[0] == 0 and a[1] == 0
    net, x0 = rx.birth_death(x0=7, birth=2.0, death=3.0)
    np.testing.assert_allclose(net.rates(0.0, x0), [14.0, 21.0])
    net, x0 = rx.batch_immigration(x0=4, batch=3, immigration=2.0, death=0.5)
    np.testing.assert_allclose(net.rates(0.0, x0), [2.0, 2.0])
    np.testing.assert_array_equal(net.stoichiometry, [[3], [-1]])


def test_apply_fires_one_reaction_and_names_it(getkey):
    net, x0 = rx.dimerisation(p0=10)
    x, jumps, counts = net.apply(0.0, x0, jnp.asarray(0), getkey())
    np.testing.assert_array_equal(x, [8, 1])
    np.testing.assert_array_equal(counts, [1, 0])
    assert int(jumps.kind[0]) == 0 and bool(jumps.valid[0])
    assert net.event_kinds == ("dimerise", "dissociate")
    assert set(net.observe(0.0, x)) == {"P", "P2"}


def test_leap_never_goes_negative_and_counts_match_the_state_change(getkey):
    # Two reactions drain A; a huge leap would overdraw it without the cap.
    net = bd.ReactionNetwork(
        ("A", "B"), {"decay": ({"A": 1}, {}), "convert": ({"A": 1}, {"B": 1})}, [1.0, 1.0]
    )
    x0 = net.initial_state({"A": 20})
    for _ in range(20):
        x, _, fired = net.leap(0.0, x0, net.rates(0.0, x0), 50.0, getkey())
        assert int(x.min()) >= 0
        np.testing.assert_array_equal(x, x0 + fired @ net.stoichiometry)
    net, x0 = rx.dimerisation(p0=50, k1=1.0, k2=1.0)
    x, _, _ = net.leap(0.0, x0, net.rates(0.0, x0), 100.0, getkey())
    assert int(x.min()) >= 0 and int(x[0] + 2 * x[1]) == 50


def test_cao_gillespie_petzold_leap_size():
    # x = 100, rates 10 and 11: gross flux 21 (net drift only -1), sigma^2 = 21, g = 1,
    # eps x / g = 3.
    net, x0 = rx.birth_death()
    tau = net.leap_size(0.0, x0, net.rates(0.0, x0), 0.03)
    np.testing.assert_allclose(tau, min(3 / 21, 9 / 21), rtol=1e-6)
    # Second order in one species: g = 2 + 1/(x - 1) = 2 + 1/99 for P = 100.
    net, x0 = rx.dimerisation(p0=100, k1=0.001, k2=0.01)
    a = net.rates(0.0, x0)
    room = max(0.03 * 100 / (2 + 1 / 99), 1.0)
    mu, s2 = -2 * float(a[0]), 4 * float(a[0])
    expect = min(room / abs(mu), room**2 / s2)  # P2 = 0 is consumed but has mu_P2 > 0
    room2 = 1.0
    expect = min(expect, room2 / float(a[0]), room2**2 / float(a[0]))
    np.testing.assert_allclose(net.leap_size(0.0, x0, a, 0.03), expect, rtol=1e-5)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(species=("X",), reactions={"r": ({"Y": 1}, {})}, rate_constants=[1.0]), "unknown"),
        (dict(species=("X",), reactions={"r": ({"X": -1}, {})}, rate_constants=[1.0]), "bad"),
        (dict(species=("X",), reactions={"r": ({"X": 1}, {})}, rate_constants=[1.0, 2.0]), "one"),
        (dict(species=("X",), reactions={"r": ({"X": 1}, {})}, rate_constants=[-1.0]), ">= 0"),
        (dict(species=("X",), reactions={"X": ({"X": 1}, {})}, rate_constants=[1.0]), "differ"),
    ],
)
def test_bad_networks_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        bd.ReactionNetwork(**kwargs)


def test_initial_state_validation():
    net, _ = rx.birth_death()
    with pytest.raises(ValueError, match="unknown species"):
        net.initial_state({"Y": 1})
    with pytest.raises(ValueError, match="integers >= 0"):
        net.initial_state([-1])
    with pytest.raises(ValueError, match="batch"):
        rx.batch_immigration(batch=0)


def test_exact_moments_agree_with_the_moment_equations():
    """The closed forms solve the moment ODEs (an independent derivation)."""
    t = np.linspace(0, 50, 11)
    a, b, mu, x0 = 1.0, 5, 0.1, 7

    def rhs(_, y):  # d mean = a b - mu m; d var = -2 mu v + mu m + a b^2
        m, v = y
        return [a * b - mu * m, -2 * mu * v + mu * m + a * b**2]

    ode = scipy.integrate.solve_ivp(rhs, (0, 50), [x0, 0], t_eval=t, rtol=1e-10, atol=1e-10)
    mean, var = rx.batch_immigration_moments(t, x0, b, a, mu)
    np.testing.assert_allclose(mean, ode.y[0], rtol=1e-6)
    np.testing.assert_allclose(var, ode.y[1], rtol=1e-6, atol=1e-8)

    lam, mu = 0.1, 0.11

    def rhs_bd(_, y):  # d mean = (l - m) m; d var = 2 (l - m) v + (l + m) m
        m, v = y
        return [(lam - mu) * m, 2 * (lam - mu) * v + (lam + mu) * m]

    ode = scipy.integrate.solve_ivp(rhs_bd, (0, 50), [100, 0], t_eval=t, rtol=1e-10, atol=1e-10)
    mean, var = rx.birth_death_moments(t)
    np.testing.assert_allclose(mean, ode.y[0], rtol=1e-6)
    np.testing.assert_allclose(var, ode.y[1], rtol=1e-6, atol=1e-8)
    mean, var = rx.immigration_death_moments(t)
    np.testing.assert_allclose(mean, var)  # Poisson from x0 = 0


def test_dimerisation_master_equation_conserves_probability_and_reaches_balance():
    mean, var = rx.dimerisation_moments([0.0, 1e4], p0=20, k1=0.1, k2=0.1)
    assert mean[0] == 20 and var[0] == 0
    # Detailed balance at equilibrium: pi(d+1)/pi(d) = up(d)/down(d+1).
    d = np.arange(11)
    p = 20 - 2 * d
    w = np.ones(11)
    for i in range(10):
        w[i + 1] = w[i] * (0.1 * p[i] * (p[i] - 1) / 2) / (0.1 * (i + 1))
    w /= w.sum()
    np.testing.assert_allclose(mean[1], w @ p, rtol=1e-6)
    np.testing.assert_allclose(var[1], w @ p**2 - (w @ p) ** 2, rtol=1e-5)


def test_dsmts_scores_detect_a_biased_simulator():
    rng = np.random.default_rng(0)
    x = rng.poisson(10.0, size=(1000, 3))
    z, y = rx.dsmts_scores(x, 10.0, 10.0)
    assert np.all(np.abs(z) < 3) and np.all(np.abs(y) < 5)
    z, _ = rx.dsmts_scores(x + 1, 10.0, 10.0)
    assert np.all(np.abs(z) > 3)
    _, y = rx.dsmts_scores(x, 10.0, 5.0)
    assert np.all(np.abs(y) > 5)


def test_reaction_network_runs_under_every_solver(getkey):
    net, x0 = rx.immigration_death()
    for solver in (bd.Direct(), bd.Extrande(), bd.TauLeap(0.1), bd.AdaptiveTauLeap()):
        sol = bd.simulate(net, x0, t1=5.0, solver=solver, key=getkey(), max_events=1000)
        assert sol.message == "success"
        assert sol.state.dtype == jnp.int32 and int(sol.state[0]) >= 0
        assert set(sol.observables) == {"X", "immigration", "death"}
        np.testing.assert_array_equal(
            sol.state,
            x0 + jnp.stack([sol.observables[k].sum() for k in net.event_kinds]) @ net.stoichiometry,
        )


def test_rate_constants_are_dynamic(getkey):
    """Sweeping rate constants reuses the compiled simulation."""
    import equinox as eqx

    @eqx.filter_jit
    @eqx.debug.assert_max_traces(max_traces=1)
    def run(net, x0, key):
        return bd.simulate(net, x0, t1=1.0, solver=bd.Direct(), key=key, throw=False).state

    for k in (0.5, 1.0, 2.0):
        net, x0 = rx.birth_death(x0=10, birth=k, death=1.0)
        run(net, x0, getkey())
