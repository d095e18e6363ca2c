"""The neutral Moran model: jump semantics, and its genealogy against coalescent theory.

Error budget (STYLE.md): means as z-scores with the Monte-Carlo standard error (|Z| < 3),
variances as Y = sqrt(R/2)(S^2/sigma^2 - 1) (|Y| < 5), laws by KS (p > 1e-3); the theory
is in models/moran.py: pair rate 2/(n-1), k lineages merge at rate k(k-1)/(n-1),
E[TMRCA] = (n-1)^2/n, pairwise time ~ Exp(mean (n-1)/2).
"""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
import scipy.stats as st

import bdprocess as bd
from analysis import genealogy as gen
from models import moran

P_MIN = 1e-3


def test_rates_and_validation():
    s0 = moran.initial_state(7)
    np.testing.assert_array_equal(moran.Moran(2.5).rates(0.0, s0), np.full(7, 2.5))
    assert s0.theta.shape == (7, 1) and list(np.asarray(s0.theta[:, 0])) == list(range(7))
    with pytest.raises(ValueError, match="rate must be positive"):
        moran.Moran(0.0)
    with pytest.raises(ValueError, match="n >= 2"):
        moran.initial_state(1)


def test_apply_copies_a_uniform_other():
    n, reps, channel = 6, 30_000, 3
    s0 = moran.initial_state(n)
    proc = moran.Moran()
    keys = jr.split(jr.key(0), reps)
    state, jumps, counts = jax.vmap(lambda k: proc.apply(0.0, s0, jnp.asarray(channel), k))(keys)
    assert np.all(np.asarray(jumps.slot) == channel) and np.all(np.asarray(counts) == 1)
    partner = np.asarray(jumps.partner[:, 0])
    assert not np.any(partner == channel)
    observed = np.bincount(partner, minlength=n)[[0, 1, 2, 4, 5]]
    assert st.chisquare(observed).pvalue > P_MIN
    # the copy: theta and parent id of the partner, a fresh id in the slot
    np.testing.assert_array_equal(np.asarray(state.theta[:, channel, 0]), partner)
    np.testing.assert_array_equal(np.asarray(jumps.parent_id[:, 0]), partner)
    assert np.all(np.asarray(state.ids[:, channel]) == n) and np.all(np.asarray(jumps.new_id) == n)
    assert np.all(np.asarray(jumps.kind) == bd.DEATH)


def test_leap_reads_the_pre_step_state():
    n = 8
    s0 = moran.initial_state(n)
    proc = moran.Moran()
    rates = proc.rates(0.0, s0)
    state, jumps, counts = proc.leap(0.0, s0, rates, jnp.asarray(50.0), jr.key(1))
    assert int(counts[0]) == n and bool(jnp.all(jumps.valid))  # everyone fires
    partner = np.asarray(jumps.partner)
    assert np.all(partner != np.arange(n))
    np.testing.assert_array_equal(np.asarray(state.theta[:, 0]), partner)  # old labels
    np.testing.assert_array_equal(np.asarray(jumps.parent_id), partner)  # old ids
    np.testing.assert_array_equal(np.asarray(state.ids), np.arange(n, 2 * n))


def test_splitting_event_count():
    """Per step each of n individuals is replaced with probability p = 1 - exp(-dt)."""
    n, dt, t1, reps = 10, 0.1, 20.0, 200
    steps = round(t1 / dt)
    sol = bd.ensemble(
        moran.Moran(),
        moran.initial_state(n),
        keys=jr.split(jr.key(2), reps),
        t1=t1,
        solver=bd.Splitting(dt),
    )
    total = np.asarray(sol.observables["replacements"]).sum(axis=1)
    p = -np.expm1(-dt)
    mean, var = n * steps * p, n * steps * p * (1 - p)
    z = (total.mean() - mean) / np.sqrt(var / reps)
    assert abs(z) < 3, z


def test_theory_formulas():
    for n in (2, 5, 30):
        lam = moran.coalescence_rates(n)
        assert (
            lam[-1] == pytest.approx(moran.pair_coalescence_rate(n)) == pytest.approx(2 / (n - 1))
        )
        assert moran.tmrca_mean(n) == pytest.approx(np.sum(1 / lam))
        s = np.linspace(0, 40 * moran.tmrca_mean(n), 4001)
        tail = 1 - moran.tmrca_cdf(s, n)
        assert np.trapezoid(tail, s) == pytest.approx(moran.tmrca_mean(n), rel=1e-4)
        second = 2 * np.trapezoid(s * tail, s) - moran.tmrca_mean(n) ** 2
        assert second == pytest.approx(moran.tmrca_var(n), rel=1e-3)
        assert moran.expected_lineages(0.0, n) == pytest.approx(n)
    # two individuals: the lineage law is Exp(lambda_2) exactly
    assert moran.tmrca_cdf(np.array([1.0]), 2)[0] == pytest.approx(-np.expm1(-2.0))


def run(n, reps, t1, seed):
    gs, obs = gen.simulate_genealogies(
        moran.Moran(),
        moran.initial_state(n),
        keys=jr.split(jr.key(seed), reps),
        t1=t1,
        solver=bd.Direct(),
        max_events=int(n * t1 + 10 * np.sqrt(n * t1) + 50),
    )
    return gs, obs


def check_coalescent(gs, obs, n, t1):
    reps = len(gs)
    # replacements: Poisson(n t1) per trajectory
    count = np.array([g.num_events for g in gs])
    np.testing.assert_array_equal(count, obs["replacements"].sum(axis=1))
    z = (count.mean() - n * t1) / np.sqrt(n * t1 / reps)
    y = np.sqrt(reps / 2) * (np.mean((count - n * t1) ** 2) / (n * t1) - 1)
    assert abs(z) < 3 and abs(y) < 5, (z, y)

    tm = np.array([g.tmrca() for g in gs], dtype=float)
    assert not np.any(np.isnan(tm)), "a trajectory did not coalesce; raise t1"
    mean, var = moran.tmrca_mean(n), moran.tmrca_var(n)
    z = (tm.mean() - mean) / np.sqrt(var / reps)
    y = np.sqrt(reps / 2) * (np.mean((tm - mean) ** 2) / var - 1)
    assert abs(z) < 3 and abs(y) < 5, (z, y)
    assert st.kstest(tm, lambda s: moran.tmrca_cdf(s, n)).pvalue > P_MIN

    # a fixed pair: the occupants of slots 0 and 1 at the end
    pair = np.array([g.coalescence_time(*g.alive_at()[:2]) for g in gs], dtype=float)
    scale = 1 / moran.pair_coalescence_rate(n)
    z = (pair.mean() - scale) / (scale / np.sqrt(reps))
    assert abs(z) < 3, z
    assert st.kstest(pair, st.expon(scale=scale).cdf).pvalue > P_MIN

    # time spent with k lineages ~ Exp(k(k-1)/(n-1)), k = n..2: a chi-square of z-scores
    gaps = np.diff(np.array([np.concatenate([[0.0], g.merger_times()]) for g in gs]), axis=1)
    mean_k = 1 / moran.coalescence_rates(n)
    zk = (gaps.mean(axis=0) - mean_k) / (mean_k / np.sqrt(reps))
    assert st.chi2(n - 1).sf(np.sum(zk**2)) > P_MIN, zk


def test_moran_coalescent_direct():
    """Mean TMRCA, pairwise time (mean and exponential law), per-k merger rates, event
    count, all from genealogies read off Direct's event logs."""
    n, t1 = 10, 120.0  # P(TMRCA > t1) < 1e-10
    gs, obs = run(n, 500, t1, seed=11)
    check_coalescent(gs, obs, n, t1)


@pytest.mark.slow
def test_moran_coalescent_direct_large():
    n, t1 = 30, 400.0
    gs, obs = run(n, 3000, t1, seed=12)
    check_coalescent(gs, obs, n, t1)
