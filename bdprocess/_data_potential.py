"""The data form of the potential: a unit, a target and a data sampler (REFERENCE.md 1).

For a network f_n(x) = (1/n) sum_i phi(x, theta_i) trained on 1/2 E_x |f(x) - f_n(x)|^2
the potential needs no closed-form F or K: with the residual r(x) = f_n(x) - f(x),

    V(theta_i, mu_n) = E_x[phi(x, theta_i) r(x)],   E[mu_n] = 1/2 E_x[r(x)^2],

and the same averages over a mini-batch x_1..x_B are unbiased estimates of V_i, of its
gradient E_x[grad phi(x, theta_i) r(x)] and of the energy (f_n depends on theta, not on
the batch). Used for stochastic gradient descent with birth-death (Rotskoff et al.,
ICML 2019, section 4.2).
"""

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
from jax import lax

from ._potential import AbstractPotential, Evaluation
from ._types import Array, Float, Key, Positions, Scalar

Inputs = Float[Array, "m d"]


def _block_size(value):
    if not isinstance(value, int) or value < 1:
        raise ValueError(f"block_size must be a positive int, got {value!r}")
    return value


def _batch_size(value):
    if value is not None and (not isinstance(value, int) or value < 1):
        raise ValueError(f"batch_size must be a positive int or None, got {value!r}")
    return value


class DataPotential(AbstractPotential):
    """A learning problem given by data: unit phi(x, theta), target f(x), input sampler.

    Two evaluations:

    * :meth:`evaluate` (no randomness) averages over the fixed sample ``data``: full-batch
      gradient descent when ``data`` is the training set, or a test-set loss for
      observables;
    * :meth:`estimate` with a key draws a fresh mini-batch of ``batch_size`` inputs from
      :meth:`sample_data` (``batch_size=None``: falls back to ``data``). Under
      :class:`bdprocess.Splitting` and :class:`bdprocess.TauLeap` every step gets a fresh
      key, and that one batch drives both the gradient step and the jump rates of the step
      (the exact solvers and :class:`bdprocess.AdaptiveTauLeap` use ``data``).

    Relation to SGD: with Splitting(dt), a step moves theta_i by -dt grad V_i, i.e. plain
    SGD with learning rate lr = dt on n times the batch loss L_B = 1/2 mean_b r(x_b)^2
    (mean-field scaling, grad_{theta_i} L_B = grad V_i / n). For units phi = c * phihat
    (V linear in c), V_i = c_i dV_i/dc_i = n c_i dL_B/dc_i, so :class:`bdprocess.BirthDeath`
    with uncentred beta_i = V_i fires at the paper's mini-batch rate alpha c_i dL/dc_i
    (up to the factor n of the mean-field parametrisation), and its per-step probability
    1 - exp(-alpha |beta_i| dt) is the authors' alpha_step |beta_i| with alpha_step =
    alpha dt to first order.

    Memory is O(n * block_size + n * p): inputs are visited in equal blocks of at most
    ``block_size`` rows (``lax.scan``), each block giving its residuals, its share of V_i,
    of grad V_i and of the energy; no n-by-n or n-by-m-by-p array is formed. ``batch_size``
    and ``block_size`` are static (changing them recompiles); ``data`` is dynamic.

    Subclasses implement :meth:`unit`, :meth:`target`, :meth:`sample_data` and
    :meth:`sample_prior`, and may override :meth:`units` with a faster batched form.
    """

    data: Inputs
    batch_size: int | None = eqx.field(
        static=True, default=None, kw_only=True, converter=_batch_size
    )
    block_size: int = eqx.field(static=True, default=1024, kw_only=True, converter=_block_size)

    def __check_init__(self):
        if jnp.ndim(self.data) != 2 or jnp.shape(self.data)[0] < 1:
            raise ValueError(f"data must have shape (m, d) with m >= 1, got {jnp.shape(self.data)}")

    # ---- what a subclass provides ------------------------------------------------------

    @abc.abstractmethod
    def unit(self, x: Float[Array, " d"], theta: Float[Array, " p"]) -> Scalar:
        """phi(x, theta): one unit's output at one input."""

    @abc.abstractmethod
    def target(self, x: Float[Array, " d"]) -> Scalar:
        """f(x): the function to learn at one input."""

    @abc.abstractmethod
    def sample_data(self, key: Key, m: int) -> Inputs:
        """m independent inputs x ~ nu."""

    def units(self, x: Inputs, theta: Positions) -> Float[Array, "m n"]:
        """phi(x_b, theta_i) for every input row b and unit i."""
        per_input = jax.vmap(self.unit, in_axes=(None, 0))
        return jax.vmap(per_input, in_axes=(0, None))(x, theta)

    # ---- evaluations ---------------------------------------------------------------------

    def predict(self, x: Inputs, theta: Positions) -> Float[Array, " m"]:
        """The network f_n(x) = (1/n) sum_i phi(x, theta_i) at the rows of x."""
        return _blocked(x, self.block_size, lambda xb: jnp.mean(self.units(xb, theta), axis=1))

    def evaluate(self, theta: Positions, *, with_grad: bool = True) -> Evaluation:
        """V_i, grad V_i and E[mu_n] averaged over the fixed sample ``data``."""
        return self.evaluate_on(self.data, theta, with_grad=with_grad)

    def estimate(
        self, theta: Positions, *, with_grad: bool = True, key: Key | None = None
    ) -> Evaluation:
        """Mini-batch estimate from a fresh batch drawn with ``key``.

        Falls back to :meth:`evaluate` (the fixed sample) when ``key`` is None or
        ``batch_size`` is None.
        """
        if key is None or self.batch_size is None:
            return self.evaluate(theta, with_grad=with_grad)
        batch = self.sample_data(key, self.batch_size).astype(theta.dtype)
        return self.evaluate_on(batch, theta, with_grad=with_grad)

    def evaluate_on(self, x: Inputs, theta: Positions, *, with_grad: bool = True) -> Evaluation:
        """V_i, grad V_i (when asked) and the energy as averages over the rows of ``x``."""
        m = x.shape[0]
        x = x.astype(theta.dtype)

        def block(xb, weight):
            phi, pullback = jax.vjp(lambda th: self.units(xb, th), theta)
            residual = weight * (jnp.mean(phi, axis=1) - jax.vmap(self.target)(xb))
            V = residual @ phi  # sum_b r_b phi(x_b, theta_i)
            energy = 0.5 * jnp.sum(residual**2)
            if not with_grad:
                return V, energy
            (grad,) = pullback(jnp.broadcast_to(residual[:, None], phi.shape))
            return V, energy, grad

        totals = _blocked_sum(x, self.block_size, block)
        V, energy = totals[0] / m, totals[1] / m
        grad = totals[2] / m if with_grad else None
        return Evaluation(V, grad, energy)

    def loss(self, theta: Positions) -> Scalar:
        """E[mu_n] = 1/2 mean (f - f_n)^2 over the fixed sample ``data``."""
        return self.evaluate(theta, with_grad=False).energy


def _padded_blocks(x: Inputs, block_size: int):
    m = x.shape[0]
    num = -(-m // block_size)
    block = -(-m // num)  # balanced: fewer than num padded rows in all
    pad = num * block - m
    weight = jnp.concatenate([jnp.ones((m,), x.dtype), jnp.zeros((pad,), x.dtype)])
    padded = jnp.concatenate([x, jnp.zeros((pad, x.shape[1]), x.dtype)])
    return padded.reshape(num, block, x.shape[1]), weight.reshape(num, block), m


def _blocked_sum(x: Inputs, block_size: int, fn):
    """sum over row blocks of fn(block, weight) (a tuple of arrays), padded rows weighted 0."""
    blocks, weights, _ = _padded_blocks(x, block_size)
    if blocks.shape[0] == 1:
        return fn(blocks[0], weights[0])

    def body(total, blk):
        return jax.tree.map(jnp.add, total, fn(*blk)), None

    first = fn(blocks[0], weights[0])
    total, _ = lax.scan(body, first, (blocks[1:], weights[1:]))
    return total


def _blocked(x: Inputs, block_size: int, fn) -> Array:
    """fn applied to row blocks of x, concatenated (padding removed)."""
    blocks, _, m = _padded_blocks(x, block_size)
    out = lax.map(fn, blocks)
    return out.reshape(-1)[:m]
