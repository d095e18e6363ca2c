"""Upwind finite-volume transport d_t rho = div(rho grad V) on a tensor grid.

The scheme of Carrillo, Chertock and Huang, "A finite-volume method for nonlinear
nonlocal equations with a gradient flow structure", Commun. Comput. Phys. 17 (2015):

* face velocities from differences of V, u_{i+1/2} = -(V_{i+1} - V_i) / dx;
* a piecewise-linear reconstruction with minmod-limited slopes, giving east / west face
  values rho^E_i, rho^W_i >= 0;
* the upwind flux F_{i+1/2} = u^+ rho^E_i + u^- rho^W_{i+1};
* zero flux through the boundary (mass is conserved exactly); the flux that *would* leave
  (with the boundary velocity taken from the nearest interior face) is returned as the
  outflow rate so that a too-small box shows up in the diagnostics;
* the strong-stability-preserving Runge-Kutta method of order 3 (Shu and Osher 1988),
  which keeps rho >= 0 when h * sum_k max|u_k| / dx_k <= 1/2 (the CFL number).

The semi-discrete energy identity dE/dt = -sum_faces (u^+)^2 rho^E + (u^-)^2 rho^W (times
the cell volume) holds exactly; that sum is returned as the transport dissipation.
"""

import jax.numpy as jnp

from .._types import Array
from ._grid import Grid

MAX_CFL = 0.5
"""The positivity bound h * sum_k max|u_k| / dx_k <= 1/2 of the scheme."""


def _slice(x, axis, start, stop):
    index = [slice(None)] * x.ndim
    index[axis] = slice(start, stop)
    return x[tuple(index)]


def _pad(x, axis, before, after):
    widths = [(0, 0)] * x.ndim
    widths[axis] = (before, after)
    return jnp.pad(x, widths)


def _minmod(a, b):
    return jnp.where(a * b > 0, jnp.sign(a) * jnp.minimum(jnp.abs(a), jnp.abs(b)), 0.0)


def face_values(rho: Array, axis: int) -> tuple[Array, Array]:
    """East and west face values rho^E, rho^W of the minmod-limited reconstruction.

    Boundary cells get zero slope. Both are >= 0 wherever rho >= 0.
    """
    jump = jnp.diff(rho, axis=axis)
    slope = _minmod(_slice(jump, axis, 1, None), _slice(jump, axis, None, -1))
    half = 0.5 * _pad(slope, axis, 1, 1)
    return rho + half, rho - half


class AxisFlux:
    """Per-axis pieces of the transport operator (plain container, built under trace)."""

    def __init__(self, rho: Array, V: Array, axis: int, dx: float):
        east, west = face_values(rho, axis)
        u = -jnp.diff(V, axis=axis) / dx
        up, um = jnp.maximum(u, 0.0), jnp.minimum(u, 0.0)
        e_in, w_in = _slice(east, axis, None, -1), _slice(west, axis, 1, None)
        self.flux = up * e_in + um * w_in
        self.dissipation = jnp.sum(up**2 * e_in + um**2 * w_in)
        self.speed = jnp.max(jnp.abs(u)) / dx
        u_lo, u_hi = _slice(u, axis, 0, 1), _slice(u, axis, -1, None)
        out_lo = -jnp.minimum(u_lo, 0.0) * _slice(west, axis, 0, 1)
        out_hi = jnp.maximum(u_hi, 0.0) * _slice(east, axis, -1, None)
        self.outflow = jnp.sum(out_lo) + jnp.sum(out_hi)
        self.divergence = jnp.diff(_pad(self.flux, axis, 1, 1), axis=axis) / dx


def transport_rhs(grid: Grid, rho: Array, V: Array):
    """-div(rho u) with u = -grad V, and its diagnostics.

    Returns:
        (drho_dt, dissipation, outflow_rate, speed): the time derivative of every cell;
        sum over faces of rho u^2 integrated (the exact semi-discrete -dE/dt from
        transport); the mass per unit time that would leave through the boundary; and
        sum_k max|u_k| / dx_k (a step h has CFL number h * speed).
    """
    drho = jnp.zeros_like(rho)
    dissipation = outflow = speed = jnp.zeros((), rho.dtype)
    for axis, dx in enumerate(grid.widths):
        pieces = AxisFlux(rho, V, axis, dx)
        drho = drho - pieces.divergence
        dissipation = dissipation + pieces.dissipation
        outflow = outflow + pieces.outflow * (grid.cell_volume / dx)
        speed = speed + pieces.speed
    return drho, dissipation * grid.cell_volume, outflow, speed


def transport_speed(grid: Grid, V: Array) -> Array:
    """sum_k max|u_k| / dx_k for u = -grad V (the CFL number of a unit step)."""
    speed = jnp.zeros((), V.dtype)
    for axis, dx in enumerate(grid.widths):
        speed = speed + jnp.max(jnp.abs(jnp.diff(V, axis=axis))) / dx**2
    return speed


def transport_step(model, grid: Grid, rho: Array, h) -> tuple[Array, Array, Array]:
    """One SSP-RK3 step of length h of d_t rho = div(rho grad V[rho]).

    V is re-evaluated at every stage. Returns (rho, outflow, cfl): the new density, the
    mass that would have left the box during the step, and the largest CFL number
    h * speed met at the three stages (the step is positivity-preserving when it is
    <= :data:`MAX_CFL`).
    """

    def stage(r):
        d, _, out, speed = transport_rhs(grid, r, model.potential(grid, r))
        return d, out, speed * h

    d0, o0, c0 = stage(rho)
    r1 = rho + h * d0
    d1, o1, c1 = stage(r1)
    r2 = 0.75 * rho + 0.25 * (r1 + h * d1)
    d2, o2, c2 = stage(r2)
    r3 = rho / 3 + 2.0 / 3.0 * (r2 + h * d2)
    outflow = h * (o0 / 6 + o1 / 6 + 2 * o2 / 3)
    cfl = jnp.maximum(jnp.maximum(c0, c1), c2)
    return r3, outflow, cfl
