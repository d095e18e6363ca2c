"""The paper's student-teacher ReLU experiment (REFERENCE.md section 4.2).

A planted teacher f(x) = sum_{j=1..k} c*_j ReLU(w*_j . x) in d dimensions (k = 10,
d = 50, w*_j ~ N(0, I_d) rescaled so that |c*_j| ||w*_j|| = 1, random signs of c*_j),
inputs x uniform on the unit sphere S^{d-1}, a fresh mini-batch every step. The student
is a mean-field ReLU network f_n(x) = (1/n) sum_i c_i ReLU(w_i . x), one particle
theta_i = (w_i, c_i) in R^{d+1} per hidden unit, trained by SGD (Splitting with dt = lr)
with or without birth-death.

Mean-field parametrisation: the paper's network sum_i c_i ReLU(w_i . x) has output weights
c_i / n here, so c is n times the paper's; the per-step update of theta_i is
-lr * grad V_i = -lr * n * grad_{theta_i} L_B (see :class:`bdprocess.DataPotential`).
Initial units: w_i ~ N(0, I/d) (the paper's N(0, I/n) at n = d = 50; independent of n as
the mean-field limit requires), c_i ~ U(-c0, c0) with c0 = 1 (the paper's "small uniform"
output weights: U(-0.02, 0.02) in its parametrisation at n = 50).
Prior for rebirth (the paper's second scheme): w ~ N(0, prior_std^2 I) with
prior_std = 1/50 (the paper's N(0, I/n^2) at n = 50), c = 0, so a newborn leaves f_n
unchanged.

Two potentials for the same problem:

* :class:`TeacherStudent` (data form): mini-batch estimates for training, and a fixed test
  sample for full-batch evaluation;
* :class:`TeacherStudentKernel` (kernel form): the exact population loss. On the sphere,
  E_x[ReLU(a . x) ReLU(b . x)] = k1(a, b) / d with the degree-1 arc-cosine kernel
  k1(a, b) = (|a||b| sin t + (pi - t) a . b) / (2 pi), t the angle between a and b (Cho and
  Saul, NIPS 2009; x = g/|g| with g ~ N(0, I) and |g| independent of g/|g|).
"""

from typing import Literal

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr

import bdprocess as bd
from bdprocess._types import Array, Float, Key, Positions, Scalar

D_PAPER = 50
TEACHER_WIDTH = 10
N_PAPER = 50
LR_PAPER = 2e-2
BATCH_PAPER = 100
STEPS_PAPER = 100_000
ALPHA_CLONE_PAPER = 1.0
ALPHA_PRIOR_PAPER = 0.01
PRIOR_STD = 1.0 / 50
INIT_C = 1.0
TEST_SIZE = 4096

Method = Literal["gd", "bd", "bd_prior"]
METHODS: tuple[str, ...] = ("gd", "bd", "bd_prior")


class Teacher(eqx.Module):
    """The planted network f(x) = sum_j c_j ReLU(w_j . x)."""

    c: Float[Array, " k"]
    w: Float[Array, "k d"]

    def __call__(self, x: Float[Array, "... d"]) -> Array:
        return jax.nn.relu(x @ self.w.T) @ self.c


def make_teacher(key: Key, d: int = D_PAPER, width: int = TEACHER_WIDTH) -> Teacher:
    """w_j ~ N(0, I_d), c_j = +-1 / ||w_j|| (random signs), so |c_j| ||w_j|| = 1.

    Raises:
        ValueError: d < 2 or width < 1.
    """
    if d < 2:
        raise ValueError(f"d must be >= 2, got {d}")
    if width < 1:
        raise ValueError(f"teacher width must be >= 1, got {width}")
    k_w, k_s = jr.split(key)
    w = jr.normal(k_w, (width, d))
    sign = jnp.where(jr.bernoulli(k_s, 0.5, (width,)), 1.0, -1.0)
    return Teacher(c=sign / jnp.linalg.norm(w, axis=1), w=w)


def sphere(key: Key, m: int, d: int) -> Float[Array, "m d"]:
    """m points uniform on the unit sphere S^{d-1}."""
    g = jr.normal(key, (m, d))
    return g / jnp.linalg.norm(g, axis=1, keepdims=True)


class TeacherStudent(bd.DataPotential):
    """Data form of the student-teacher problem; theta = (w_1..w_d, c).

    ``data`` is a fixed test sample (used by :meth:`evaluate`, e.g. for the loss curves);
    :meth:`estimate` draws fresh batches of ``batch_size`` inputs. Build with
    :func:`make_potential`.
    """

    teacher: Teacher
    prior_std: Float[Array, ""] = eqx.field(converter=jnp.asarray, kw_only=True)

    def unit(self, x, theta):
        return theta[-1] * jax.nn.relu(theta[:-1] @ x)

    def units(self, x, theta):
        return jax.nn.relu(x @ theta[:, :-1].T) * theta[None, :, -1]

    def target(self, x):
        return self.teacher(x)

    def sample_data(self, key, m):
        return sphere(key, m, self.teacher.w.shape[1])

    def sample_prior(self, key, n):
        d = self.teacher.w.shape[1]
        w = self.prior_std * jr.normal(key, (n, d))
        return jnp.concatenate([w, jnp.zeros((n, 1), w.dtype)], axis=1)


def make_potential(
    teacher: Teacher,
    key: Key,
    *,
    batch_size: int | None = BATCH_PAPER,
    test_size: int = TEST_SIZE,
    prior_std: float = PRIOR_STD,
    block_size: int = 1024,
) -> TeacherStudent:
    """The data-form potential with a fixed test sample of ``test_size`` inputs from ``key``.

    ``batch_size=None`` gives full-batch gradient descent on that fixed sample.
    """
    if test_size < 1:
        raise ValueError(f"test_size must be >= 1, got {test_size}")
    data = sphere(key, test_size, teacher.w.shape[1])
    return TeacherStudent(
        data, teacher, prior_std=prior_std, batch_size=batch_size, block_size=block_size
    )


def arccos_kernel(a: Float[Array, " d"], b: Float[Array, " d"]) -> Scalar:
    """k1(a, b) = d * E_{x on S^{d-1}}[ReLU(a . x) ReLU(b . x)] (differentiable at a = b)."""
    u = a @ b
    q = (a @ a) * (b @ b) - u**2
    tiny = 64 * jnp.finfo(u.dtype).eps * (a @ a) * (b @ b)
    ok = q > tiny
    s = jnp.where(ok, jnp.sqrt(jnp.where(ok, q, 1.0)), 0.0)  # |a||b| sin t
    angle = jnp.arctan2(s, u)
    return (s + (jnp.pi - angle) * u) / (2 * jnp.pi)


class TeacherStudentKernel(bd.KernelPotential):
    """Kernel form (closed-form F, K, C_f) of the same problem: the exact population loss.

    F(w, c) = c sum_j c*_j k1(w, w*_j) / d, K((w, c), (w', c')) = c c' k1(w, w') / d,
    C_f = 1/2 sum_jk c*_j c*_k k1(w*_j, w*_k) / d.
    """

    teacher: Teacher
    prior_std: Float[Array, ""] = eqx.field(converter=jnp.asarray, kw_only=True, default=PRIOR_STD)

    def _k(self, a, b):
        return arccos_kernel(a, b) / self.teacher.w.shape[1]

    def source(self, theta):
        cross = jax.vmap(self._k, in_axes=(None, 0))(theta[:-1], self.teacher.w)
        return theta[-1] * (cross @ self.teacher.c)

    def kernel(self, a, b):
        return a[-1] * b[-1] * self._k(a[:-1], b[:-1])

    def constant(self):
        w, c = self.teacher.w, self.teacher.c
        gram = jax.vmap(jax.vmap(self._k, in_axes=(None, 0)), in_axes=(0, None))(w, w)
        return 0.5 * c @ gram @ c

    def sample_prior(self, key, n):
        d = self.teacher.w.shape[1]
        w = self.prior_std * jr.normal(key, (n, d))
        return jnp.concatenate([w, jnp.zeros((n, 1), w.dtype)], axis=1)


def initial_positions(
    key: Key, n: int = N_PAPER, d: int = D_PAPER, *, init_c: float = INIT_C
) -> Positions:
    """Student units w_i ~ N(0, I/d), c_i ~ U(-init_c, init_c); rows (w_i, c_i).

    Raises:
        ValueError: n < 2, d < 1 or init_c < 0.
    """
    if n < 2:
        raise ValueError(f"n must be >= 2, got {n}")
    if d < 1:
        raise ValueError(f"d must be >= 1, got {d}")
    if init_c < 0:
        raise ValueError(f"init_c must be >= 0, got {init_c}")
    k_w, k_c = jr.split(key)
    w = jr.normal(k_w, (n, d)) / jnp.sqrt(d)
    c = jr.uniform(k_c, (n, 1), minval=-init_c, maxval=init_c)
    return jnp.concatenate([w, c], axis=1)


def make_process(
    potential: bd.AbstractPotential,
    method: Method,
    *,
    alpha: float | None = None,
    centred: bool = False,
    jumps_until: float = float("inf"),
) -> bd.BirthDeath:
    """The process for one method: ``gd`` (alpha = 0), ``bd`` (cloning) or ``bd_prior``.

    ``alpha`` defaults to the paper's value for the method (1 for ``bd``, 0.01 for
    ``bd_prior``). Rates are uncentred by default (beta_i = V_i, as in the paper's
    alpha c_i dL/dc_i). ``alpha`` is dynamic: sweeping it does not recompile.

    Raises:
        ValueError: unknown method, or alpha given for ``gd``.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method == "gd":
        if alpha not in (None, 0, 0.0):
            raise ValueError(f"method 'gd' has alpha = 0, got alpha={alpha}")
        alpha = 0.0
    elif alpha is None:
        alpha = ALPHA_CLONE_PAPER if method == "bd" else ALPHA_PRIOR_PAPER
    rebirth = "prior" if method == "bd_prior" else "clone"
    return bd.BirthDeath(
        potential, alpha, centred=centred, rebirth=rebirth, jumps_until=jumps_until
    )
