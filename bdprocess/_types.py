"""Array type aliases used across bdprocess (jaxtyping; checked at run time in tests only)."""

from jaxtyping import Array, ArrayLike, Bool, Float, Int, PRNGKeyArray

Positions = Float[Array, "n p"]
"""Particle positions theta_i in R^p, one row per particle."""
Potentials = Float[Array, " n"]
"""The potential V(theta_i, mu_n) of each particle."""
Ids = Int[Array, " n"]
"""The lineage id of the occupant of each slot."""
Scalar = Float[Array, ""]
Key = PRNGKeyArray

__all__ = [
    "Array",
    "ArrayLike",
    "Bool",
    "Float",
    "Int",
    "Ids",
    "Key",
    "Positions",
    "Potentials",
    "Scalar",
]
