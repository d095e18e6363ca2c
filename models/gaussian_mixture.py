"""The paper's 1-D Gaussian-mixture regression (REFERENCE.md section 4.1).

Particles theta = (y, c) in R^2 are Gaussian bumps c N(x; y, 1/2); the target is
f(x) = (1/3)[N(x; -2, 1/2) - 2 N(x; 0, 1) + N(x; 2, 1/2)] and the data measure is
Lebesgue measure on R, so F, K and C_f are closed-form Gaussian integrals:

* F(y, c) = c (1/3)[N(y; -2, 1) - 2 N(y; 0, 3/2) + N(y; 2, 1)],
* K((y, c), (y', c')) = c c' N(y - y'; 0, 1),
* C_f = (1/18) sum_ab w_a w_b N(m_a - m_b; 0, v_a + v_b) = 0.0688683...

The global minimum E = 0 is reached only by a continuous measure, so at finite n the loss
has a floor set by n. Paper settings: n = 200, dt = 0.01, alpha = 5.
"""

from typing import Literal

import jax.numpy as jnp
import jax.random as jr
import numpy as np

from bdprocess import KernelPotential, block_reduce
from bdprocess._types import Array, ArrayLike, Float, Key, Positions

# Target f = sum_a TARGET_WEIGHT[a] / 3 * N(x; TARGET_MEAN[a], TARGET_VAR[a]).
TARGET_WEIGHT = (1.0, -2.0, 1.0)
TARGET_MEAN = (-2.0, 0.0, 2.0)
TARGET_VAR = (0.5, 1.0, 0.5)
UNIT_VAR = 0.5
"""Variance of each unit's bump N(x; y, UNIT_VAR)."""

Init = Literal["uniform", "bad"]
INITS: tuple[str, ...] = ("uniform", "bad")

N_PAPER = 200
DT_PAPER = 0.01
ALPHA_PAPER = 5.0


def normal_pdf(x, mean, var):
    """N(x; mean, var), the Gaussian density with the given variance."""
    return jnp.exp(-0.5 * (x - mean) ** 2 / var) / jnp.sqrt(2 * jnp.pi * var)


def target(x: ArrayLike) -> Array:
    """The target function f(x)."""
    x = jnp.asarray(x)
    return sum(
        w / 3 * normal_pdf(x, m, v)
        for w, m, v in zip(TARGET_WEIGHT, TARGET_MEAN, TARGET_VAR, strict=True)
    )


def predict(x: ArrayLike, theta: Positions) -> Array:
    """The network f_n(x) = (1/n) sum_i c_i N(x; y_i, 1/2) at points x (any shape)."""
    x = jnp.asarray(x)[..., None]
    y, c = (jnp.reshape(v, (1,) * (x.ndim - 1) + (-1,)) for v in (theta[:, 0], theta[:, 1]))
    return jnp.mean(c * normal_pdf(x, y, UNIT_VAR), axis=-1)


def exact_constant() -> float:
    """C_f = 1/2 int f^2 dx in closed form (0.0688683...)."""
    total = 0.0
    for wa, ma, va in zip(TARGET_WEIGHT, TARGET_MEAN, TARGET_VAR, strict=True):
        for wb, mb, vb in zip(TARGET_WEIGHT, TARGET_MEAN, TARGET_VAR, strict=True):
            var = va + vb
            total += wa * wb * np.exp(-0.5 * (ma - mb) ** 2 / var) / np.sqrt(2 * np.pi * var)
    return 0.5 * total / 9


def source_profile(y):
    """F(y, 1): F(y, c) = c * source_profile(y)."""
    return sum(
        w / 3 * normal_pdf(y, m, v + UNIT_VAR)
        for w, m, v in zip(TARGET_WEIGHT, TARGET_MEAN, TARGET_VAR, strict=True)
    )


class GaussianMixture(KernelPotential):
    """Kernel form of the paper's Gaussian-mixture problem; theta = (y, c).

    ``block_size`` bounds the memory of the kernel sums (see :class:`KernelPotential`).
    The prior for rebirth is y ~ N(0, 1), c = 0: newborns leave f_n unchanged.
    """

    def source(self, theta: Float[Array, " 2"]):
        return theta[1] * source_profile(theta[0])

    def kernel(self, a: Float[Array, " 2"], b: Float[Array, " 2"]):
        return a[1] * b[1] * normal_pdf(a[0] - b[0], 0.0, 2 * UNIT_VAR)

    def constant(self):
        return jnp.asarray(exact_constant())

    def interaction(self, queries: Positions, sources: Positions, *, with_grad: bool):
        """The kernel sums as blocked matrix products (about 5x faster than autodiff).

        With e_ij = N(y_i - y'_j; 0, 1): I_i = c_i g_i with g_i = (1/n) sum_j e_ij c'_j,
        dI_i/dc_i = g_i and dI_i/dy_i = c_i ((1/n) sum_j e_ij y'_j c'_j - y_i g_i).
        """
        n = sources.shape[0]
        yq, cq = queries[:, 0], queries[:, 1]

        def per_block(q, s, w):
            e = normal_pdf(q[:, :1] - s[:, 0][None, :], 0.0, 2 * UNIT_VAR)
            wc = w * s[:, 1]
            return e @ jnp.stack([wc, wc * s[:, 0]], axis=-1)

        sums = block_reduce(per_block, queries, sources, self.block_size) / n
        g = sums[:, 0]
        if not with_grad:
            return cq * g, None
        return cq * g, jnp.stack([cq * (sums[:, 1] - yq * g), g], axis=-1)

    def sample_prior(self, key: Key, n: int) -> Positions:
        y = jr.normal(key, (n,))
        return jnp.stack([y, jnp.zeros_like(y)], axis=-1)


def initial_anchors(init: Init = "uniform") -> dict[str, float]:
    """The exact t = 0 laws of the energy of n i.i.d. units from an initial law (REFERENCE 5).

    For mu_n of n i.i.d. draws from mu_0, E[E(mu_n)] = E(mu_0) + b / n exactly, with
    b = (1/2)[int K(th, th) dmu_0 - int int K dmu_0 dmu_0], and
    sqrt(n) (E(mu_n) - E(mu_0)) -> N(0, sigma^2), sigma^2 = Var_{mu_0} V(theta, mu_0).
    Both initial laws have c ~ N(0, 1) independent of y, so int F dmu_0 = 0 and the
    double integral vanishes: E(mu_0) = C_f, b = N(0; 0, 1) / 2 = 1 / (2 sqrt(2 pi)),
    V(theta, mu_0) = -c F1(y) and sigma^2 = E[F1(y)^2] (Gauss quadrature over y).

    Returns:
        {"energy": E(mu_0), "bias": b, "variance": sigma^2}.
    """
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {init!r}")
    if init == "uniform":
        nodes, weights = np.polynomial.legendre.leggauss(400)
        y, w = 2.0 * nodes, weights / 2.0  # U(-2, 2)
    else:
        nodes, weights = np.polynomial.hermite_e.hermegauss(80)
        y, w = -2.0 + 0.1 * nodes, weights / np.sqrt(2 * np.pi)  # N(-2, 0.1^2)
    f1 = np.asarray(source_profile(jnp.asarray(y, jnp.float32)), float)
    return {
        "energy": exact_constant(),
        "bias": 0.5 / np.sqrt(2 * np.pi),
        "variance": float(np.sum(w * f1**2)),
    }


def initial_positions(key: Key, n: int = N_PAPER, init: Init = "uniform") -> Positions:
    """The paper's initial laws for theta = (y, c).

    * ``uniform`` ("full support"): y ~ U(-2, 2), c ~ N(0, 1);
    * ``bad``: y ~ -2 + 0.1 N(0, 1), c ~ N(0, 1) (all units start near one bump).

    Raises:
        ValueError: unknown ``init`` or n < 2.
    """
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {init!r}")
    if n < 2:
        raise ValueError(f"n must be >= 2, got {n}")
    k_y, k_c = jr.split(key)
    if init == "uniform":
        y = jr.uniform(k_y, (n,), minval=-2.0, maxval=2.0)
    else:
        y = -2.0 + 0.1 * jr.normal(k_y, (n,))
    c = jr.normal(k_c, (n,))
    return jnp.stack([y, c], axis=-1)
