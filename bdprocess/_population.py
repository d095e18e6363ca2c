"""The particle population: positions plus lineage bookkeeping."""

from typing import Self

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._types import Array, ArrayLike, Ids, Int, Positions


class Population(eqx.Module):
    """n particles ("neurons") theta_i in R^p with a lineage id per slot.

    The population size n is fixed: a jump overwrites a slot with a new occupant, which
    gets a fresh id (``next_id`` counts the ids handed out so far). Ids of the initial
    occupants are ``0 .. n-1``. Shapes are static; positions are dynamic.

    Build one with :meth:`Population.from_positions`.
    """

    # continuous state
    theta: Positions
    # lineage bookkeeping
    ids: Ids
    next_id: Int[Array, ""]

    @classmethod
    def from_positions(cls, theta: ArrayLike) -> Self:
        """A population whose slot i holds theta[i], with ids 0..n-1.

        Raises:
            ValueError: theta is not a finite 2-D array with at least two rows.
        """
        theta = jnp.asarray(theta)
        if theta.ndim != 2:
            raise ValueError(f"theta must have shape (n, p), got shape {theta.shape}")
        n = theta.shape[0]
        if n < 2:
            raise ValueError(f"a population needs n >= 2 particles, got n={n}")
        if not jnp.issubdtype(theta.dtype, jnp.floating):
            theta = theta.astype(jnp.result_type(float))
        if not isinstance(theta, jax.core.Tracer):
            values = np.asarray(theta)
            if not np.all(np.isfinite(values)):
                bad = tuple(int(i) for i in np.argwhere(~np.isfinite(values))[0])
                raise ValueError(f"theta must be finite, got {values[bad]} at index {bad}")
        return cls(
            theta=theta,
            ids=jnp.arange(n, dtype=jnp.int32),
            next_id=jnp.asarray(n, dtype=jnp.int32),
        )

    @property
    def n(self) -> int:
        """Number of particles (static)."""
        return self.theta.shape[-2]

    @property
    def p(self) -> int:
        """Dimension of each particle (static)."""
        return self.theta.shape[-1]
