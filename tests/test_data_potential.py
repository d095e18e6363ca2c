"""Data-form potentials: exact values, unbiased mini-batch estimates, blocking, validation."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
from scipy import stats

import bdprocess as bd
from models import teacher_student as ts


class Linear(bd.DataPotential):
    """phi(x, theta) = theta . x, x ~ N(0, I), target beta . x (REFERENCE.md section 5).

    Exactly V(theta, mu) = theta . (m - beta) with m the mean of the particles, grad V =
    m - beta, and E = 1/2 |m - beta|^2.
    """

    beta: jax.Array

    def unit(self, x, theta):
        return theta @ x

    def target(self, x):
        return self.beta @ x

    def sample_data(self, key, m):
        return jr.normal(key, (m, self.beta.shape[0]))

    def sample_prior(self, key, n):
        return jr.normal(key, (n, self.beta.shape[0]))


def _z_scores(samples, exact):
    """(mean - exact) / standard error, per component, from K independent estimates."""
    samples = np.asarray(samples, np.float64)
    k = samples.shape[0]
    se = samples.std(axis=0, ddof=1) / np.sqrt(k)
    return (samples.mean(axis=0) - np.asarray(exact, np.float64)) / se


def p_hotelling(samples, exact):
    """p-value of Hotelling's T^2 test that the mean of the rows of ``samples`` is ``exact``."""
    samples = np.asarray(samples, np.float64)
    k, p = samples.shape
    diff = samples.mean(axis=0) - exact
    t2 = k * diff @ np.linalg.solve(np.cov(samples, rowvar=False), diff)
    return stats.f.sf(t2 * (k - p) / (p * (k - 1)), p, k - p)


def test_minibatch_unbiased_linear_model(x64):
    """Mean of K mini-batch estimates vs the exact V_i, grad V_i and energy (z-scores)."""
    d, n, batch, k = 3, 6, 5, 4000
    beta = jnp.array([1.0, -2.0, 0.5])
    pot = Linear(jnp.zeros((1, d)), beta, batch_size=batch)
    theta = jr.normal(jr.key(0), (n, d))
    m = theta.mean(axis=0)
    exact_V = theta @ (m - beta)
    exact_grad = jnp.broadcast_to(m - beta, (n, d))
    exact_E = 0.5 * jnp.sum((m - beta) ** 2)
    ev = jax.vmap(lambda key: pot.estimate(theta, key=key))(jr.split(jr.key(1), k))
    z = np.concatenate(
        [
            _z_scores(ev.potentials, exact_V),
            _z_scores(ev.gradients, exact_grad).ravel(),
            [_z_scores(ev.energy, exact_E)],
        ]
    )
    # 6 + 18 + 1 components: Bonferroni |Z| < 4 (family false-alarm rate ~ 2e-3).
    assert np.max(np.abs(z)) < 4.0, z
    # The estimates must really be random (a fixed batch would have zero spread).
    assert np.std(np.asarray(ev.energy)) > 0


def test_minibatch_unbiased_teacher_student_against_closed_form(x64):
    """Mini-batch V_i, grad V_i, E against the arc-cosine kernel form (exact population values)."""
    d, n, batch, k = 8, 5, 16, 3000
    teacher = ts.make_teacher(jr.key(2), d=d, width=3)
    pot = ts.make_potential(teacher, jr.key(3), batch_size=batch, test_size=8)
    exact = ts.TeacherStudentKernel(teacher).evaluate(
        ts.initial_positions(jr.key(4), n, d, init_c=2.0)
    )
    theta = ts.initial_positions(jr.key(4), n, d, init_c=2.0)
    ev = jax.vmap(lambda key: pot.estimate(theta, key=key))(jr.split(jr.key(5), k))
    z = np.concatenate(
        [
            _z_scores(ev.potentials, exact.potentials),
            _z_scores(ev.gradients, exact.gradients).ravel(),
            [_z_scores(ev.energy, exact.energy)],
        ]
    )
    # 5 + 45 + 1 components: Bonferroni |Z| < 4.3 (family false-alarm rate ~ 1e-3).
    assert np.max(np.abs(z)) < 4.3, z
    # Joint test (Hotelling T^2) on grad_w and the energy. V_i and grad_c are left out:
    # by ReLU homogeneity V_i = c_i dV_i/dc_i = w_i . grad_w V_i, so they are linear in grad_w.
    joint = np.concatenate(
        [np.asarray(ev.gradients[:, :, :-1]).reshape(k, -1), np.asarray(ev.energy)[:, None]], 1
    )
    exact_joint = np.concatenate([np.asarray(exact.gradients[:, :-1]).ravel(), [exact.energy]])
    assert p_hotelling(joint, exact_joint) > 1e-3


def test_arccos_kernel_exact_values(x64):
    a = jnp.array([3.0, 4.0, 0.0])
    b = jnp.array([0.0, 0.0, 2.0])
    assert ts.arccos_kernel(a, a) == pytest.approx(25.0 / 2)  # |a|^2 / 2
    assert ts.arccos_kernel(a, -a) == pytest.approx(0.0, abs=1e-12)
    assert ts.arccos_kernel(a, b) == pytest.approx(5.0 * 2.0 / (2 * np.pi))  # orthogonal
    # Differentiable at a = b: d/da k1(a, b)|_{a=b} = b / 2.
    np.testing.assert_allclose(jax.grad(ts.arccos_kernel)(a, a), a / 2, rtol=1e-7)


def test_evaluate_matches_numpy_and_blocking(x64):
    """Full-sample evaluation against a direct NumPy computation, for several block sizes."""
    d, n, m = 4, 7, 53
    teacher = ts.make_teacher(jr.key(6), d=d, width=2)
    theta = ts.initial_positions(jr.key(7), n, d, init_c=1.0)
    x = np.asarray(ts.sphere(jr.key(8), m, d))
    w, c = np.asarray(theta[:, :-1]), np.asarray(theta[:, -1])
    pre = x @ w.T
    phi = np.maximum(pre, 0) * c
    r = phi.mean(axis=1) - np.maximum(x @ np.asarray(teacher.w).T, 0) @ np.asarray(teacher.c)
    V = phi.T @ r / m
    grad_w = ((pre > 0) * c * r[:, None]).T @ x / m
    grad_c = np.maximum(pre, 0).T @ r / m
    for block in (1, 8, 53, 1000):
        pot = ts.TeacherStudent(
            jnp.asarray(x), teacher, prior_std=0.02, block_size=block, batch_size=None
        )
        ev = pot.evaluate(theta)
        np.testing.assert_allclose(ev.potentials, V, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(ev.gradients[:, :-1], grad_w, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(ev.gradients[:, -1], grad_c, rtol=1e-10, atol=1e-14)
        assert float(ev.energy) == pytest.approx(0.5 * np.mean(r**2), rel=1e-10)
        np.testing.assert_allclose(pot.predict(jnp.asarray(x), theta), phi.mean(axis=1))
        # No key or no batch size: the fixed sample (deterministic).
        assert float(pot.estimate(theta, key=jr.key(0)).energy) == float(ev.energy)


def _max_intermediate(closed):
    sizes = []

    def walk(jaxpr):
        for eqn in jaxpr.eqns:
            for v in eqn.outvars:
                sizes.append(int(np.prod(v.aval.shape)) if hasattr(v.aval, "shape") else 1)
            for p in eqn.params.values():
                for sub in p if isinstance(p, tuple | list) else (p,):
                    inner = getattr(sub, "jaxpr", None)
                    if inner is not None:
                        walk(inner if hasattr(inner, "eqns") else inner.jaxpr)

    walk(closed.jaxpr)
    return max(sizes)


def test_memory_is_linear_in_n_and_block():
    """No intermediate of size n * m (or n * n): blocks of inputs only."""
    d, n, m, block = 20, 400, 3000, 64
    teacher = ts.make_teacher(jr.key(0), d=d, width=3)
    pot = ts.make_potential(teacher, jr.key(1), test_size=m, block_size=block, batch_size=m)
    theta = ts.initial_positions(jr.key(2), n, d)
    closed = jax.make_jaxpr(lambda th, k: pot.estimate(th, key=k))(theta, jr.key(3))
    largest = _max_intermediate(closed)
    assert largest <= max(n * block, (m + block) * d, n * (d + 1)), largest  # padded batch
    assert largest < n * m


def test_deterministic_potential_ignores_key(getkey):
    from models import gaussian_mixture as gm

    theta = gm.initial_positions(getkey(), 30)
    proc = bd.BirthDeath(gm.GaussianMixture(), 5.0)
    pop = bd.Population.from_positions(theta)
    r0, v0 = proc.rates_and_drift(0.0, pop, None)
    r1, v1 = proc.rates_and_drift(0.0, pop, None, key=getkey())
    np.testing.assert_array_equal(r0, r1)
    np.testing.assert_array_equal(v0, v1)


def test_bad_sizes_raise():
    teacher = ts.make_teacher(jr.key(0), d=4, width=2)
    with pytest.raises(ValueError, match="batch_size"):
        ts.make_potential(teacher, jr.key(1), batch_size=0)
    with pytest.raises(ValueError, match="block_size"):
        ts.make_potential(teacher, jr.key(1), block_size=0)
    with pytest.raises(ValueError, match="data must have shape"):
        ts.TeacherStudent(jnp.zeros((4,)), teacher, prior_std=0.1)
    with pytest.raises(ValueError, match="test_size"):
        ts.make_potential(teacher, jr.key(1), test_size=0)
