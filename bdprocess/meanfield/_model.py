"""What a model supplies to the mean-field solver: V[rho] and E[rho] on a grid."""

import abc

import equinox as eqx

from .._types import Array, Float
from ._grid import Grid


class AbstractGridPotential(eqx.Module):
    """The grid form of a mean-field learning problem (REFERENCE.md sections 1-2).

    Subclasses give the first variation V(theta, rho) at every cell centre
    (:meth:`potential`) and the energy E[rho] (:meth:`energy`). For the discrete
    structure-preserving properties (energy decrease equal to the computed dissipation),
    V must be the gradient of the discrete energy: E_h(rho + eps d) = E_h(rho) +
    eps * grid.integrate(V * d) + O(eps^2). Quadratic energies built from midpoint-rule
    sums with a symmetric kernel satisfy this.

    Optional: :meth:`prior_density` (rebirth from the prior) and :meth:`check_grid`
    (reject grids too coarse or too small for the model).
    """

    @abc.abstractmethod
    def potential(self, grid: Grid, rho: Float[Array, "..."]) -> Float[Array, "..."]:
        """V(theta_cell, rho) on every cell (the grid's shape)."""

    @abc.abstractmethod
    def energy(self, grid: Grid, rho: Float[Array, "..."]) -> Float[Array, ""]:
        """E[rho]."""

    def prior_density(self, grid: Grid) -> Float[Array, "..."]:
        """The prior mu_b on the grid, for ``rebirth="prior"``."""
        raise ValueError(f"{type(self).__name__} has no prior; use rebirth='clone'")

    def check_grid(self, grid: Grid) -> None:
        """Raise ValueError when ``grid`` cannot resolve the model (default: accept)."""
