"""Fluctuation checks: variance scaling, Gaussianity and the exact t = 0 anchors."""

import jax
import jax.random as jr
import numpy as np
import pytest

from analysis import fluctuations
from models import gaussian_mixture as gm
from models import linear

NS = np.array([32, 64, 128, 256, 512, 1024])


def test_variance_slope_recovers_the_clt_law_and_rejects_another():
    rng = np.random.default_rng(0)
    err = rng.normal(size=(NS.size, 200)) / np.sqrt(NS)[:, None]
    fit = fluctuations.variance_scaling(NS, err)
    assert fit["lo95"] < -1.0 < fit["hi95"]
    assert fit["hi95"] - fit["lo95"] < 0.2
    steeper = rng.normal(size=(NS.size, 200)) / NS[:, None]  # Var ~ n^-2
    fit = fluctuations.variance_scaling(NS, steeper)
    assert fit["hi95"] < -1.0 and fit["lo95"] < -2.0 < fit["hi95"]


def test_variance_interval_covers_at_the_nominal_rate():
    # 200 independent synthetic studies: the 95% interval should miss about 10 times.
    rng = np.random.default_rng(1)
    R, studies = 32, 200
    misses = 0
    for _ in range(studies):
        err = rng.normal(size=(NS.size, R)) / np.sqrt(NS)[:, None]
        fit = fluctuations.variance_scaling(NS, err)
        misses += not fit["lo95"] < -1.0 < fit["hi95"]
    # Binomial(200, 0.05): mean 10, sd 3.1; |z| < 3.5 allows 0..21.
    assert abs(misses - 10) / np.sqrt(200 * 0.05 * 0.95) < 3.5


def test_anderson_darling_accepts_gaussian_and_rejects_skewed_errors():
    rng = np.random.default_rng(2)
    gauss = fluctuations.gaussianity(NS, rng.normal(size=(NS.size, 100)) / np.sqrt(NS)[:, None])
    assert np.all(gauss["pvalue"] > 0.01)
    assert gauss["qq_sample"].shape == (NS.size, 100)
    assert np.allclose(gauss["sd"], 1.0, atol=0.25)  # sqrt(n) scaling makes them flat
    skewed = rng.exponential(size=(NS.size, 100)) / np.sqrt(NS)[:, None]
    assert np.all(fluctuations.gaussianity(NS, skewed)["pvalue"] <= 0.01)  # the table ends at 1%


def _energies(potential, sample, ns, replicas, key):
    out = []
    for n in ns:
        key, k = jr.split(key)
        theta = jax.vmap(lambda kk, n=n: sample(kk, int(n)))(jr.split(k, replicas))
        out.append(np.asarray(jax.vmap(potential.energy)(theta), float))
    return np.stack(out)


@pytest.mark.parametrize("init", ["uniform", "bad"])
def test_gaussian_mixture_anchors_hold_for_iid_draws(init, x64):
    # The anchors are derived by quadrature (gm.initial_anchors); the energies here come
    # from the particle potential on i.i.d. draws, an independent route.
    ns = np.array([64, 256])
    energy = _energies(
        gm.GaussianMixture(), lambda k, n: gm.initial_positions(k, n, init), ns, 2000, jr.key(3)
    )
    check = fluctuations.check_anchors(ns, energy, gm.initial_anchors(init))
    assert check["ok"], check


def test_linear_anchors_hold_and_a_wrong_bias_is_caught(x64):
    setup = {"m0": 0.0, "beta": 2.0, "cov0": 1.0}
    ns = np.array([32, 128, 512])
    energy = _energies(
        linear.Linear(setup["beta"]),
        lambda k, n: linear.initial_positions(k, n, m0=setup["m0"], cov0=setup["cov0"]),
        ns,
        4000,
        jr.key(4),
    )
    anchors = linear.initial_anchors(**setup)
    assert fluctuations.check_anchors(ns, energy, anchors)["ok"]
    wrong = dict(anchors, bias=2 * anchors["bias"])
    assert not fluctuations.check_anchors(ns, energy, wrong)["ok"]
    wrong = dict(anchors, variance=1.3 * anchors["variance"])
    assert not fluctuations.check_anchors(ns, energy, wrong)["ok"]


def test_too_few_replicas_or_sizes_are_refused():
    with pytest.raises(ValueError, match="at least 8 replicas"):
        fluctuations.variance_scaling(NS, np.ones((NS.size, 4)))
    with pytest.raises(ValueError, match="at least 3 sizes"):
        fluctuations.variance_scaling(NS[:2], np.random.default_rng(0).normal(size=(2, 16)))
    with pytest.raises(ValueError, match="NaN"):
        fluctuations.gaussianity(NS, np.full((NS.size, 16), np.nan))
    with pytest.raises(ValueError, match="shape"):
        fluctuations.check_anchors(NS, np.ones((3, 16)), {"energy": 0, "bias": 0, "variance": 1})
