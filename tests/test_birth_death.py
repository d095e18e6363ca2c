"""BirthDeath + Splitting: jump semantics, lineage bookkeeping, rates, reductions."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import bdprocess as bd
from models import gaussian_mixture as gm


class LinearField(bd.KernelPotential):
    """Non-interacting particles in the fixed potential V(theta) = theta_0 (K = 0)."""

    def source(self, theta):
        return -theta[0]

    def kernel(self, a, b):
        return 0.0 * a[0] * b[0]

    def constant(self):
        return jnp.asarray(0.0)

    def sample_prior(self, key, n):
        return jr.normal(key, (n, 1))


def _population(key, n=200, init="uniform"):
    return bd.Population.from_positions(gm.initial_positions(key, n, init))


# ---- lineage bookkeeping ------------------------------------------------------------------


@pytest.mark.parametrize("rebirth", ["clone", "prior"])
@pytest.mark.parametrize("centred", [True, False])
def test_event_log_replays_to_the_final_ids(rebirth, centred):
    """Replaying the log from ids 0..n-1 reproduces every slot's final id, and every
    recorded parent was alive in the partner slot at that time."""
    n = 40
    state0 = _population(jr.key(0), n, "uniform")
    process = bd.BirthDeath(gm.GaussianMixture(), 150.0, rebirth=rebirth, centred=centred)
    sol = bd.simulate(
        process, state0, t1=1.0, solver=bd.Splitting(0.01), key=jr.key(1), max_events=20_000
    )
    log = sol.event_log.to_numpy()
    assert 50 < log["time"].size < 20_000  # jumps happened, and the log did not overflow
    ids = np.arange(n)
    for t in np.unique(log["time"]):  # one Splitting step: copies read the pre-step state
        step = log["time"] == t
        before = ids.copy()
        assert len(set(log["slot"][step])) == step.sum(), "a slot was overwritten twice"
        for slot, partner, new_id, parent in zip(
            log["slot"][step],
            log["partner"][step],
            log["new_id"][step],
            log["parent_id"][step],
            strict=True,
        ):
            assert slot != partner
            assert parent == (before[partner] if partner >= 0 else -1)
            ids[slot] = new_id
    np.testing.assert_array_equal(ids, np.asarray(sol.state.ids))
    assert np.all(np.diff(log["new_id"]) == 1) and log["new_id"][0] == n
    assert int(sol.state.next_id) == n + log["time"].size
    assert len(set(np.asarray(sol.state.ids))) == n
    if rebirth == "prior":
        assert np.all((log["partner"] == -1) == (log["kind"] == bd.DEATH))
    assert set(np.unique(log["kind"])) <= {bd.DEATH, bd.BIRTH}


@pytest.mark.parametrize("rebirth", ["clone", "prior"])
def test_single_jumps_copy_the_right_particle(rebirth, getkey):
    n = 7
    state = bd.Population.from_positions(jnp.arange(2.0 * n).reshape(n, 2))
    process = bd.BirthDeath(gm.GaussianMixture(), 1.0, rebirth=rebirth)
    for channel in range(2 * n):
        new, jumps, counts = process.apply(0.0, state, jnp.asarray(channel), getkey())
        i = channel % n
        slot, partner = int(jumps.slot[0]), int(jumps.partner[0])
        changed = np.flatnonzero(np.any(np.asarray(new.theta != state.theta), axis=1))
        assert changed.tolist() == [slot]
        assert int(new.ids[slot]) == n and int(new.next_id) == n + 1
        if channel < n:  # death of i
            assert slot == i and int(jumps.kind[0]) == bd.DEATH
            assert counts.tolist() == [1, 0]
            if rebirth == "clone":
                assert partner != i
                np.testing.assert_array_equal(new.theta[i], state.theta[partner])
            else:
                assert partner == -1 and float(new.theta[i, 1]) == 0.0
        else:  # birth of i: another slot takes a copy of i
            assert partner == i and slot != i and int(jumps.kind[0]) == bd.BIRTH
            assert counts.tolist() == [0, 1]
            np.testing.assert_array_equal(new.theta[slot], state.theta[i])


# ---- the jump probabilities of one step ---------------------------------------------------


@pytest.mark.parametrize("centred", [True, False])
def test_kill_and_clone_counts_match_the_declared_probabilities(centred):
    """Drift off, fixed potential V = theta_0: each particle dies with probability
    1 - exp(-alpha max(beta_i, 0) dt) and is cloned with 1 - exp(-alpha max(-beta_i, 0) dt)."""
    n, alpha, dt, replicas = 64, 3.0, 0.1, 4000
    theta = jnp.linspace(-1.5, 2.5, n)[:, None]
    beta = np.asarray(theta[:, 0]) - (float(jnp.mean(theta)) if centred else 0.0)
    p_kill = 1 - np.exp(-alpha * np.maximum(beta, 0) * dt)
    p_clone = 1 - np.exp(-alpha * np.maximum(-beta, 0) * dt)
    process = bd.BirthDeath(LinearField(), alpha, centred=centred, transport=False)
    sol = bd.ensemble(
        process,
        bd.Population.from_positions(theta),
        keys=jr.split(jr.key(2), replicas),
        t1=dt,
        solver=bd.Splitting(dt),
        max_events=2 * n,
    )
    assert np.all(np.asarray(sol.status._value) == 0)
    for name, p in (("deaths", p_kill), ("births", p_clone)):
        counts = np.asarray(sol.observables[name][:, -1], dtype=float)
        mean, var = p.sum(), (p * (1 - p)).sum()
        z = (counts.mean() - mean) / np.sqrt(var / replicas)
        y = np.sqrt(replicas / 2) * (np.mean((counts - mean) ** 2) / var - 1)
        assert abs(z) < 3, (name, z)
        assert abs(y) < 5, (name, y)
    # Per slot: the frequency with which a slot died of its own clock.
    slot = np.asarray(sol.event_log.slot)
    kind = np.asarray(sol.event_log.kind)
    died = np.stack(
        [np.isin(np.arange(n), s[k == bd.DEATH]) for s, k in zip(slot, kind, strict=True)]
    )
    z = (died.mean(0) - p_kill) / np.sqrt(np.maximum(p_kill * (1 - p_kill), 1e-12) / replicas)
    assert np.all(np.abs(z[p_kill > 0]) < 4.0), z  # 4: Bonferroni over up to 64 slots
    assert np.all(died[:, p_kill == 0] == 0)


def test_no_jumps_after_jumps_until():
    process = bd.BirthDeath(gm.GaussianMixture(), 50.0, jumps_until=0.5)
    sol = bd.simulate(
        process,
        _population(jr.key(3), 50),
        t1=1.0,
        solver=bd.Splitting(0.01),
        key=jr.key(4),
        saveat=jnp.array([0.0, 0.5, 1.0]),
        max_events=10_000,
    )
    assert int(sol.observables["deaths"][1]) > 0
    assert int(sol.observables["deaths"][2]) == 0 and int(sol.observables["births"][2]) == 0
    assert float(sol.event_log.to_numpy()["time"].max()) <= 0.5 + 1e-6


# ---- reductions ---------------------------------------------------------------------------


def test_alpha_zero_is_plain_gradient_descent(x64):
    """With alpha = 0 the scheme is explicit Euler on d theta_i/dt = -n grad_i E, written here
    independently with a dense n-by-n energy and autodiff."""
    n, dt, steps = 30, 0.01, 150
    theta = gm.initial_positions(jr.key(5), n, "uniform")

    def dense_energy(th):
        y, c = th[:, 0], th[:, 1]
        F = c * gm.source_profile(y)
        K = c[:, None] * c[None, :] * gm.normal_pdf(y[:, None] - y[None, :], 0.0, 1.0)
        return gm.exact_constant() - jnp.mean(F) + 0.5 * jnp.mean(K)

    def gd_step(th, _):
        return th - dt * n * jax.grad(dense_energy)(th), None

    expected, _ = jax.lax.scan(gd_step, theta, None, length=steps)
    sol = bd.simulate(
        bd.BirthDeath(gm.GaussianMixture(), 0.0),
        bd.Population.from_positions(theta),
        t1=steps * dt,
        solver=bd.Splitting(dt),
        key=jr.key(6),
    )
    np.testing.assert_allclose(sol.state.theta, expected, rtol=1e-10, atol=1e-12)
    assert int(sol.num_steps) == steps
    np.testing.assert_array_equal(sol.state.ids, np.arange(n))


def test_energy_decreases_under_gradient_descent():
    sol = bd.simulate(
        bd.BirthDeath(gm.GaussianMixture(), 0.0),
        _population(jr.key(7)),
        t1=5.0,
        solver=bd.Splitting(0.01),
        key=jr.key(8),
        saveat=jnp.linspace(0, 5, 51),
    )
    assert np.all(np.diff(np.asarray(sol.observables["energy"])) < 0)


# ---- statuses, errors, compilation --------------------------------------------------------


def test_event_log_overflow_is_reported():
    process = bd.BirthDeath(gm.GaussianMixture(), 50.0)
    kwargs = dict(t1=1.0, solver=bd.Splitting(0.01), key=jr.key(9), max_events=16)
    sol = bd.simulate(process, _population(jr.key(10), 50), throw=False, **kwargs)
    assert sol.status == bd.Status.event_log_full
    assert "raise max_events" in sol.message
    assert int(sol.event_log.count) > 16
    with pytest.raises(Exception, match="raise max_events"):
        jax.block_until_ready(bd.simulate(process, _population(jr.key(10), 50), **kwargs))


def test_nonfinite_state_is_reported():
    huge = bd.Population.from_positions(jnp.array([[0.0, 1e30], [0.1, -1e30], [0.2, 1e30]]))
    sol = bd.simulate(
        bd.BirthDeath(gm.GaussianMixture(), 0.0),
        huge,
        t1=1.0,
        solver=bd.Splitting(0.5),
        key=jr.key(0),
        throw=False,
    )
    assert sol.status == bd.Status.nonfinite_state
    assert "lower the time step" in sol.message


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: bd.BirthDeath(gm.GaussianMixture(), -1.0), "alpha must be >= 0, got -1.0"),
        (lambda: bd.BirthDeath(gm.GaussianMixture(), float("nan")), "alpha must be >= 0, got nan"),
        (lambda: bd.BirthDeath(gm.GaussianMixture(), 1.0, rebirth="mutate"), "rebirth must be"),
        (lambda: bd.Splitting(0.0), "dt must be positive and finite, got 0.0"),
        (lambda: bd.Splitting(-0.1), "dt must be positive and finite, got -0.1"),
        (lambda: bd.Splitting(float("nan")), "dt must be positive and finite, got nan"),
    ],
)
def test_bad_parameters_name_the_value(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"t1": -1.0}, "need finite t0 < t1"),
        ({"saveat": jnp.array([0.5, 0.2])}, "strictly increasing"),
        ({"saveat": jnp.array([0.0, 2.0])}, r"lie in \[t0, t1\]"),
        ({"max_events": 0}, "max_events must be a positive int or None, got 0"),
    ],
)
def test_bad_simulate_arguments(kwargs, match):
    process = bd.BirthDeath(gm.GaussianMixture(), 1.0)
    args = {"t1": 1.0, "solver": bd.Splitting(0.1), "key": jr.key(0), **kwargs}
    with pytest.raises(ValueError, match=match):
        bd.simulate(process, _population(jr.key(1), 10), **args)


def test_sweeping_alpha_dt_and_times_does_not_recompile():
    traces = []

    class Counting(bd.BirthDeath):
        def observe(self, t, state, args=None):
            traces.append(1)  # runs only while tracing
            return super().observe(t, state, args)

    state = _population(jr.key(0), 20)
    for alpha, dt, t1 in [(1.0, 0.1, 1.0), (5.0, 0.05, 2.0), (0.0, 0.2, 0.7)]:
        sol = bd.simulate(
            Counting(gm.GaussianMixture(), alpha),
            state,
            t1=t1,
            solver=bd.Splitting(dt),
            key=jr.key(1),
            saveat=jnp.linspace(0, t1, 5),
        )
        jax.block_until_ready(sol.observables["energy"])
    assert len(traces) == 1


def test_vmap_over_alpha():
    state = _population(jr.key(0), 50)

    @eqx.filter_vmap
    def final_energy(alpha):
        process = bd.BirthDeath(gm.GaussianMixture(), alpha)
        sol = bd.simulate(
            process, state, t1=2.0, solver=bd.Splitting(0.01), key=jr.key(1), throw=False
        )
        return sol.observables["energy"][-1]

    energies = final_energy(jnp.array([0.0, 5.0]))
    single = bd.simulate(
        bd.BirthDeath(gm.GaussianMixture(), 0.0),
        state,
        t1=2.0,
        solver=bd.Splitting(0.01),
        key=jr.key(1),
    )
    np.testing.assert_allclose(energies[0], single.observables["energy"][-1], rtol=1e-5)
    assert energies[1] < energies[0]


def test_user_observables_and_save_grid():
    sol = bd.simulate(
        bd.BirthDeath(gm.GaussianMixture(), 5.0),
        _population(jr.key(0), 30),
        t1=1.0,
        solver=bd.Splitting(0.03),
        key=jr.key(1),
        saveat=jnp.array([0.25, 0.5, 1.0]),
        observables={"mean_c": lambda t, s, args: jnp.mean(s.theta[:, 1])},
    )
    assert sol.ts.tolist() == [0.25, 0.5, 1.0]
    assert set(sol.observables) == {"energy", "vbar", "deaths", "births", "mean_c"}
    np.testing.assert_allclose(sol.observables["mean_c"][-1], jnp.mean(sol.state.theta[:, 1]))
