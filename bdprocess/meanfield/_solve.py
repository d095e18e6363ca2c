"""``solve``: Strang splitting of transport and reaction, one jitted ``lax.scan``.

Each step of length h is R(h/2) T(h) R(h/2) (Strang 1968): a half reaction step
(:func:`reaction_step`), one SSP-RK3 transport step (:func:`transport_step`) and another
half reaction step. h = min(dt, cfl / speed, time to the next save): the transport step is
positivity-preserving for cfl <= 1/2, the reaction step for any h.
"""

import math
from typing import Literal

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from .. import _progress
from .._status import Status
from .._types import Array, ArrayLike, Float, Int
from ._grid import Grid
from ._model import AbstractGridPotential
from ._reaction import reaction_dissipation, reaction_step
from ._transport import MAX_CFL, transport_rhs, transport_speed, transport_step

Rebirth = Literal["clone", "prior"]


class MeanFieldSolution(eqx.Module):
    """What :func:`solve` returns; every per-save array has a leading save-time axis.

    Attributes:
        grid: the grid.
        ts: the save times.
        density: rho at each save time (None when ``save_density=False``).
        energy: E[rho].
        mass: integral of rho (1 to rounding).
        vbar: the mean potential int V drho.
        transport_dissipation: int |grad V|^2 drho, in the scheme's exact discrete form
            (-dE/dt from transport).
        reaction_dissipation: alpha int (V - Vbar)^2 drho (-dE/dt from birth-death; with a
            prior minus alpha a (int V drho_b - Vbar)).
        outflow: the mass that would have left the box by then (zero-flux boundaries keep
            it in; a value that is not small means the box is too small).
        min_density: the smallest cell value (>= 0 when the CFL bound holds).
        rho: the density at t1.
        num_steps: Strang steps taken.
        max_cfl: the largest CFL number met by any transport stage.
        status: a :class:`bdprocess.Status`.
    """

    grid: Grid
    ts: Float[Array, " saves"]
    density: Array | None
    energy: Float[Array, " saves"]
    mass: Float[Array, " saves"]
    vbar: Float[Array, " saves"]
    transport_dissipation: Float[Array, " saves"]
    reaction_dissipation: Float[Array, " saves"]
    outflow: Float[Array, " saves"]
    min_density: Float[Array, " saves"]
    rho: Array
    num_steps: Int[Array, ""]
    max_cfl: Float[Array, ""]
    status: Status

    @property
    def message(self) -> str:
        return Status[self.status]


def _concrete(*xs) -> bool:
    return not any(isinstance(x, jax.core.Tracer) for x in xs)


def strang_step(
    model: AbstractGridPotential,
    grid: Grid,
    rho: Array,
    h,
    alpha,
    *,
    transport: bool = True,
    prior: Array | None = None,
):
    """One Strang step R(h/2) T(h) R(h/2); returns (rho, outflow, cfl).

    The caller chooses h: keep h * transport_speed(grid, V) <= 1/2.
    """
    rho = reaction_step(model, grid, rho, 0.5 * h, alpha, prior)
    outflow = cfl = jnp.zeros((), rho.dtype)
    if transport:
        rho, outflow, cfl = transport_step(model, grid, rho, h)
    rho = reaction_step(model, grid, rho, 0.5 * h, alpha, prior)
    return rho, outflow, cfl


def solve(
    model: AbstractGridPotential,
    rho0: ArrayLike,
    *,
    grid: Grid,
    t1: float,
    dt: float,
    alpha: float = 0.0,
    t0: float = 0.0,
    saveat: ArrayLike | None = None,
    cfl: float = 0.4,
    transport: bool = True,
    rebirth: Rebirth = "clone",
    reaction_until: float = math.inf,
    save_density: bool = True,
    max_steps: int = 10_000_000,
    throw: bool = True,
    progress: bool = False,
) -> MeanFieldSolution:
    """Solve d_t rho = div(rho grad V[rho]) - alpha (V - Vbar) rho on ``grid``.

    The mean-field limit of the birth-death particle process (Rotskoff, Jelassi, Bruna,
    Vanden-Eijnden, ICML 2019; REFERENCE.md section 2). Use it as the reference the
    particle simulations converge to (propagation of chaos), and to study the PDE itself.
    Structure preserved: mass exactly, rho >= 0, and E non-increasing (clone rebirth).

    The computation runs in rho0's dtype: pass float64 (under ``jax.enable_x64``) for
    accuracy studies. ``dt``, ``alpha``, ``cfl``, ``t0``, ``t1`` and ``reaction_until`` are
    dynamic (sweeps and ``jax.vmap`` over them do not recompile); the grid, the number of
    save times, ``transport``, ``rebirth`` and ``save_density`` are static.

    Args:
        model: V and E on the grid (an :class:`AbstractGridPotential`).
        rho0: the initial density (cell averages, >= 0, integrating to 1 on ``grid``).
        grid: the :class:`Grid`.
        t1: final time.
        dt: the largest Strang step; steps are shortened to meet the CFL bound and the
            save times.
        alpha: the birth-death rate (>= 0).
        t0: initial time.
        saveat: increasing save times in [t0, t1] (default ``[t0, t1]``).
        cfl: the CFL number h * sum_k max|u_k| / dx_k of each step, in (0, 1/2]; 1/2 is
            the positivity bound of the transport scheme.
        transport: False drops the transport term (pure birth-death).
        rebirth: "clone" or "prior" (deaths refilled from ``model.prior_density(grid)``).
        reaction_until: birth-death is switched off from this time on (the paper's final
            gradient-descent "quench"); steps land on it exactly.
        save_density: keep rho at every save time.
        max_steps: steps allowed before ``Status.max_steps_reached``.
        throw: raise when the status is not successful (pass False under ``jax.vmap``).
        progress: advance the innermost :func:`bdprocess.progress_bar` at each save time.

    Returns:
        A :class:`MeanFieldSolution`.

    Raises:
        ValueError: a bad density (shape, sign, mass), a CFL number outside (0, 1/2], a
            non-positive dt, bad times, or a grid the model rejects (named in the message).
    """
    if not isinstance(grid, Grid):
        raise ValueError(f"grid must be a meanfield.Grid, got {type(grid).__name__}")
    if not isinstance(model, AbstractGridPotential):
        raise ValueError(f"model must be an AbstractGridPotential, got {type(model).__name__}")
    if rebirth not in ("clone", "prior"):
        raise ValueError(f"rebirth must be 'clone' or 'prior', got {rebirth!r}")
    if not isinstance(max_steps, int) or max_steps < 1:
        raise ValueError(f"max_steps must be a positive int, got {max_steps!r}")
    model.check_grid(grid)
    grid.check_density(rho0, name="rho0")
    rho0 = jnp.asarray(rho0)
    if not jnp.issubdtype(rho0.dtype, jnp.floating):
        rho0 = rho0.astype(float)
    dtype = rho0.dtype
    if _concrete(cfl) and not 0.0 < float(cfl) <= MAX_CFL:
        raise ValueError(f"cfl must be in (0, {MAX_CFL}] (the positivity bound), got {cfl}")
    if _concrete(dt) and not float(dt) > 0.0:
        raise ValueError(f"dt must be positive, got {dt}")
    if _concrete(alpha) and not float(alpha) >= 0.0:
        raise ValueError(f"alpha must be >= 0, got {alpha}")
    ts = _save_times(t0, t1, saveat, dtype)
    prior = None
    if rebirth == "prior":
        prior = jnp.asarray(model.prior_density(grid), dtype)
        grid.check_density(prior, name="prior_density")
    scalars = jnp.stack([jnp.asarray(x, dtype) for x in (t0, t1, dt, alpha, cfl, reaction_until)])
    sol = _solve(
        model, grid, rho0, ts, scalars, prior, transport, save_density, max_steps, progress
    )
    if throw:
        sol = sol.status.error_if(sol, sol.status != Status.successful)
    return sol


def _save_times(t0, t1, saveat, dtype) -> Array:
    if saveat is None:
        ts = jnp.stack([jnp.asarray(t0, dtype), jnp.asarray(t1, dtype)])
    else:
        ts = jnp.asarray(saveat, dtype)
        if ts.ndim != 1 or ts.shape[0] < 1:
            raise ValueError(f"saveat must be a 1-D array of times, got shape {ts.shape}")
    if _concrete(t0, t1, saveat):
        t0_, t1_, ts_ = float(t0), float(t1), np.asarray(ts)
        if not np.isfinite(t0_) or not np.isfinite(t1_) or t1_ <= t0_:
            raise ValueError(f"need finite t0 < t1, got t0={t0_}, t1={t1_}")
        if np.any(np.diff(ts_) <= 0):
            raise ValueError(f"saveat must be strictly increasing, got {ts_}")
        if ts_[0] < t0_ or ts_[-1] > t1_:
            raise ValueError(f"saveat must lie in [t0, t1] = [{t0_}, {t1_}], got {ts_}")
    return ts


@eqx.filter_jit
def _solve(model, grid, rho0, ts, scalars, prior, transport, save_density, max_steps, progress):
    t0, t1, dt, alpha, cfl, reaction_until = scalars
    inf = jnp.asarray(jnp.inf, rho0.dtype)

    def observe(t, rho):
        V = model.potential(grid, rho)
        a = jnp.where(t < reaction_until, alpha, 0.0)
        _, d_transport, _, _ = transport_rhs(grid, rho, V)
        out = {
            "energy": model.energy(grid, rho),
            "mass": grid.integrate(rho),
            "vbar": grid.integrate(V * rho),
            "transport_dissipation": d_transport if transport else jnp.zeros_like(a),
            "reaction_dissipation": reaction_dissipation(grid, V, rho, a, prior),
            "min_density": jnp.min(rho),
        }
        if save_density:
            out["density"] = rho
        return out

    def interval(carry, t_stop):
        def cond(c):
            t, _, _, _, steps, _ = c
            return (t < t_stop) & (steps < max_steps)

        def body(c):
            t, rho, outflow, max_cfl, steps, status = c
            h = jnp.minimum(dt, t_stop - t)
            if transport:
                speed = transport_speed(grid, model.potential(grid, rho))
                h = jnp.minimum(h, cfl / speed)
            switch = jnp.where(reaction_until > t, reaction_until - t, inf)
            h = jnp.minimum(h, switch)
            a = jnp.where(t < reaction_until, alpha, 0.0)
            new, out, step_cfl = strang_step(
                model, grid, rho, h, a, transport=transport, prior=prior
            )
            t_new = jnp.where(h >= t_stop - t, t_stop, t + h)
            status = Status.where(
                jnp.all(jnp.isfinite(new)) | (status != Status.successful),
                status,
                Status.nonfinite_state,
            )
            return t_new, new, outflow + out, jnp.maximum(max_cfl, step_cfl), steps + 1, status

        t, rho, outflow, max_cfl, steps, status = lax.while_loop(cond, body, carry)
        status = Status.where(
            (status == Status.successful) & (t < t_stop), Status.max_steps_reached, status
        )
        if progress:
            jax.debug.callback(_progress.tick, t_stop)
        obs = observe(t_stop, rho)
        obs["outflow"] = outflow
        return (t, rho, outflow, max_cfl, steps, status), obs

    stops = jnp.concatenate([ts, t1[None]])
    zero = jnp.zeros((), rho0.dtype)
    carry0 = (t0, rho0, zero, zero, jnp.asarray(0), Status.successful)
    (_, rho, _, max_cfl, steps, status), obs = lax.scan(interval, carry0, stops)
    obs = jax.tree.map(lambda x: x[:-1], obs)
    return MeanFieldSolution(
        grid=grid,
        ts=ts,
        density=obs.pop("density", None),
        rho=rho,
        num_steps=steps,
        max_cfl=max_cfl,
        status=status,
        **obs,
    )
