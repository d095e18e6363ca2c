"""The Gaussian-mixture potential against quadrature and autodiff (float64)."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import bdprocess as bd
from models import gaussian_mixture as gm

X = np.linspace(-14.0, 14.0, 28_001)  # f and f_n decay like exp(-x^2): the ends are ~0


def _quadrature_energy(theta_or_weights, theta=None):
    """1/2 int (f - f_n)^2 dx by the trapezoid rule, independent of the closed forms.

    With one argument: equal weights 1/n. With two: weights w_i on the rows of theta.
    """
    x = jnp.asarray(X)
    if theta is None:
        theta = theta_or_weights
        w = jnp.full(theta.shape[0], 1.0 / theta.shape[0])
    else:
        w = theta_or_weights
    y, c = theta[:, 0], theta[:, 1]
    bumps = jnp.exp(-((x[:, None] - y[None, :]) ** 2)) / jnp.sqrt(jnp.pi)  # N(x; y, 1/2)
    fn = bumps @ (w * c)
    return 0.5 * jnp.trapezoid((gm.target(x) - fn) ** 2, x)


def test_constant_is_the_paper_value():
    assert gm.exact_constant() == pytest.approx(0.0688683, abs=5e-8)


@pytest.mark.parametrize("init", gm.INITS)
def test_energy_matches_quadrature(x64, init):
    theta = gm.initial_positions(jr.key(3), 37, init)
    energy = gm.GaussianMixture().energy(theta)
    assert float(energy) == pytest.approx(float(_quadrature_energy(theta)), rel=1e-8)


def test_potentials_and_gradients_match_autodiff_of_n_times_energy(x64):
    n = 23
    theta = gm.initial_positions(jr.key(4), n, "uniform")
    ev = gm.GaussianMixture().evaluate(theta, with_grad=True)
    # V_i is the first variation: dE/dw_i of the weighted measure at w = 1/n.
    w = jnp.full(n, 1.0 / n)
    V_ref = jax.grad(_quadrature_energy)(w, theta)
    # grad_theta_i E[mu_n] = (1/n) grad V_i.
    grad_ref = n * jax.grad(_quadrature_energy)(theta)
    np.testing.assert_allclose(ev.potentials, V_ref, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(ev.gradients, grad_ref, rtol=1e-8, atol=1e-12)


def test_blocked_sums_do_not_depend_on_the_block_size(x64):
    theta = gm.initial_positions(jr.key(5), 1000, "uniform")
    whole = gm.GaussianMixture(block_size=4096).evaluate(theta)
    blocked = gm.GaussianMixture(block_size=96).evaluate(theta)  # 96 does not divide 1000
    np.testing.assert_allclose(blocked.potentials, whole.potentials, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(blocked.gradients, whole.gradients, rtol=1e-12, atol=1e-15)
    assert float(blocked.energy) == pytest.approx(float(whole.energy), rel=1e-12)


def test_memory_is_linear_in_n():
    """No intermediate of the potential evaluation has n^2 entries (n = 10^5 then fits)."""
    n, block = 8192, 256
    potential = gm.GaussianMixture(block_size=block)
    theta = jnp.zeros((n, 2))
    jaxpr = jax.make_jaxpr(lambda th: potential.evaluate(th, with_grad=True))(theta)

    def sizes(jx):
        for eqn in jx.eqns:
            for var in eqn.outvars:
                yield int(np.prod(var.aval.shape))
            for param in eqn.params.values():
                for sub in param if isinstance(param, tuple | list) else [param]:
                    inner = getattr(sub, "jaxpr", sub)  # ClosedJaxpr -> Jaxpr
                    if hasattr(inner, "eqns"):
                        yield from sizes(inner)

    assert max(sizes(jaxpr.jaxpr)) <= n * block


def test_potential_at_agrees_with_the_particle_potentials(x64):
    theta = gm.initial_positions(jr.key(6), 50, "bad")
    potential = gm.GaussianMixture()
    np.testing.assert_allclose(
        potential.potential_at(theta, theta), potential.potentials(theta), rtol=1e-12
    )


def test_prior_leaves_the_network_unchanged():
    draws = gm.GaussianMixture().sample_prior(jr.key(7), 10_000)
    assert np.all(np.asarray(draws[:, 1]) == 0)
    y = np.asarray(draws[:, 0])
    assert abs(y.mean()) < 3 / np.sqrt(y.size) and abs(y.var() - 1) < 5 * np.sqrt(2 / y.size)


@pytest.mark.parametrize(
    "kwargs, match",
    [({"init": "good"}, "init must be one of"), ({"n": 1}, "n must be >= 2")],
)
def test_bad_init_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        gm.initial_positions(jr.key(0), **{"n": 10, "init": "uniform", **kwargs})


def test_population_rejects_nan_and_bad_shapes():
    theta = np.zeros((5, 2))
    theta[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"theta must be finite, got nan at index \(3, 1\)"):
        bd.Population.from_positions(theta)
    with pytest.raises(ValueError, match=r"shape \(n, p\), got shape \(5,\)"):
        bd.Population.from_positions(np.zeros(5))
    with pytest.raises(ValueError, match="n >= 2 particles, got n=1"):
        bd.Population.from_positions(np.zeros((1, 2)))


def test_closed_form_sums_match_the_generic_autodiff_path(x64):
    """The Gaussian mixture's matrix-product kernel sums equal KernelPotential's generic
    blocked autodiff of K (the path every user-defined kernel takes)."""

    class Generic(gm.GaussianMixture):
        def interaction(self, queries, sources, *, with_grad):
            return bd.kernel_mean(self.kernel, queries, sources, self.block_size, with_grad)

    theta = gm.initial_positions(jr.key(8), 300, "uniform")
    fast = gm.GaussianMixture(block_size=128).evaluate(theta)
    generic = Generic(block_size=128).evaluate(theta)
    np.testing.assert_allclose(fast.potentials, generic.potentials, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(fast.gradients, generic.gradients, rtol=1e-12, atol=1e-15)
