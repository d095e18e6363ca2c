"""Propagation of chaos: particle ensembles at several n against the mean-field PDE.

For each model and method (gradient descent, alpha = 0, and birth-death with cloning) the
study solves the mean-field PDE once on a grid (:func:`bdprocess.meanfield.solve`) and
simulates R independent particle systems at each n of a geometric grid, all drawn from
the same initial law mu_0 that the PDE starts from. At every save time it records, per
(n, replica):

* ``loss_gap``: E(mu_n(t)) - E(rho_t);
* ``test_function_<name>``: <g, mu_n(t)> - <g, rho_t> for the model's test functions g;
* ``w1``: the exact 1-D Wasserstein distance between the first coordinate's marginals;
* ``energy_distance`` (2-D models): the energy distance between mu_n(t) and rho_t
  (:func:`bdprocess.meanfield.energy_distance`).

Propagation of chaos (Rotskoff, Jelassi, Bruna, Vanden-Eijnden, ICML 2019; REFERENCE.md
section 5) predicts that test-function errors, W1 in 1-D and the energy distance fall like
n^{-1/2}, with a bias of order 1/n; :mod:`analysis.fluctuations` and :mod:`analysis.bayes`
test that. The particle solver is exact where that is cheap: :class:`bdprocess.Extrande`
(exact jumps, RK4 drift) for the linear model, whose potentials cost O(n); the paper's
:class:`bdprocess.Splitting` (dt = 0.01, whose time-discretisation bias we measured below
the Monte-Carlo error at n = 2048) for the Gaussian mixture, whose potentials cost O(n^2).

Models (one :class:`ChaosModel` each): the paper's Gaussian mixture (theta = (y, c), uniform
init, alpha = 5) and the linear model (theta in R, N(0, 1) init, beta = 2, alpha = 1).
"""

import dataclasses
import time
from collections.abc import Callable, Mapping

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import xarray as xr
from tqdm.auto import tqdm

import bdprocess as bd
import bdprocess.meanfield as mf
from models import gaussian_mixture as gm
from models import gaussian_mixture_grid as gmg
from models import linear

TestFunction = Callable[[jax.Array], jax.Array]
"""g(theta): maps positions of shape (..., p) to values of shape (...)."""

MIN_REPLICAS = 8
"""Fewest replicas per n for a variance or a normality test to mean anything."""

METHODS = ("gd", "bd")
"""gd: alpha = 0 (pure gradient flow); bd: birth-death with cloning at the model's alpha."""


@dataclasses.dataclass(frozen=True)
class ChaosModel:
    """A model as the chaos study needs it: both forms, one initial law, test functions.

    Attributes:
        name: key used in results ("gaussian_mixture", "linear").
        alpha: the birth-death rate of the "bd" method.
        potential: the particle form.
        grid_model: the grid form (the PDE).
        grid: the PDE grid.
        rho0: mu_0 as cell averages on ``grid``.
        sample: ``sample(key, n)`` draws n i.i.d. positions from mu_0.
        test_functions: name -> g, documented per model.
        axes: names of the coordinates of theta.
        anchors: the exact t = 0 laws {"energy", "bias", "variance"} (REFERENCE.md 5).
        solver: the particle solver.
    """

    name: str
    alpha: float
    potential: bd.AbstractPotential
    grid_model: mf.AbstractGridPotential
    grid: mf.Grid
    rho0: jax.Array
    sample: Callable[[jax.Array, int], jax.Array]
    test_functions: Mapping[str, TestFunction]
    axes: tuple[str, ...]
    anchors: Mapping[str, float]
    solver: bd.AbstractSolver


def gaussian_mixture_model(cells: int = 128) -> ChaosModel:
    """The paper's Gaussian mixture from the uniform init; alpha = 5, Splitting(0.01).

    Test functions: ``c`` (the mean output weight), ``y`` (the mean centre) and ``f0``
    (the network's output at x = 0, int c N(0; y, 1/2) dmu).
    """
    grid = gmg.default_grid(cells)
    return ChaosModel(
        name="gaussian_mixture",
        alpha=gm.ALPHA_PAPER,
        potential=gm.GaussianMixture(),
        grid_model=gmg.GaussianMixtureGrid(),
        grid=grid,
        rho0=gmg.initial_density(grid, "uniform"),
        sample=lambda key, n: gm.initial_positions(key, n, "uniform"),
        test_functions={
            "c": lambda th: th[..., 1],
            "y": lambda th: th[..., 0],
            "f0": lambda th: th[..., 1] * gm.normal_pdf(0.0, th[..., 0], gm.UNIT_VAR),
        },
        axes=("y", "c"),
        anchors=gm.initial_anchors("uniform"),
        solver=bd.Splitting(gm.DT_PAPER),
    )


LINEAR_SETUP = {"m0": 0.0, "beta": 2.0, "cov0": 1.0}
"""The linear model of REFERENCE.md section 5: mu_0 = N(0, 1), target slope beta = 2."""


def linear_model(cells: int = 800) -> ChaosModel:
    """The 1-D linear model (exact Gaussian solution); alpha = 1, Extrande.

    Test functions: ``theta`` (the mean, whose limit is exact), ``theta2`` (the second
    moment) and ``sin`` (a bounded non-polynomial observable, sin theta).
    """
    grid = mf.Grid([-7.0], [9.0], [cells])
    model = linear.LinearGrid(LINEAR_SETUP["beta"])
    return ChaosModel(
        name="linear",
        alpha=1.0,
        potential=linear.Linear(LINEAR_SETUP["beta"]),
        grid_model=model,
        grid=grid,
        rho0=model.initial_density(grid, m0=LINEAR_SETUP["m0"], cov0=LINEAR_SETUP["cov0"]),
        sample=lambda key, n: linear.initial_positions(
            key, n, m0=LINEAR_SETUP["m0"], cov0=LINEAR_SETUP["cov0"]
        ),
        test_functions={
            "theta": lambda th: th[..., 0],
            "theta2": lambda th: th[..., 0] ** 2,
            "sin": lambda th: jnp.sin(th[..., 0]),
        },
        axes=("theta",),
        anchors=linear.initial_anchors(**LINEAR_SETUP),
        solver=bd.Extrande(horizon=0.05, drift_dt=0.01),
    )


MODELS: dict[str, Callable[[], ChaosModel]] = {
    "gaussian_mixture": gaussian_mixture_model,
    "linear": linear_model,
}


@dataclasses.dataclass(frozen=True)
class Settings:
    """Sizes of a chaos study. The defaults are the full study; :data:`QUICK` is smaller.

    Attributes:
        ns: population sizes (a geometric grid spanning at least a factor 4).
        replicas: independent particle systems per n.
        t1: final time.
        saves: number of evenly spaced save times in [0, t1].
        fit_times: the times at which error-vs-n slopes are fitted (must be save times).
        models: which models to run.
        seed: master PRNG seed.
        max_particles: the most particles (replicas x n) simulated in one vmapped call;
            larger ensembles run in chunks of replicas.
    """

    ns: tuple[int, ...] = tuple(2**k for k in range(6, 13))
    replicas: int = 32
    t1: float = 5.0
    saves: int = 21
    fit_times: tuple[float, ...] = (1.0, 5.0)
    models: tuple[str, ...] = tuple(MODELS)
    seed: int = 0
    max_particles: int = 2**16

    def __post_init__(self):
        ns = np.asarray(self.ns)
        if ns.ndim != 1 or ns.size < 3 or np.any(ns < 2) or np.any(np.diff(ns) <= 0):
            raise ValueError(
                f"ns must be at least 3 increasing sizes >= 2 for a slope fit, got {self.ns}"
            )
        if ns[-1] < 4 * ns[0]:
            raise ValueError(
                f"ns must span at least a factor 4 for a slope fit, got {ns[0]}..{ns[-1]}"
            )
        if self.replicas < MIN_REPLICAS:
            raise ValueError(
                f"replicas must be >= {MIN_REPLICAS} for variances, normality tests and fits, "
                f"got {self.replicas}"
            )
        if not self.t1 > 0 or self.saves < 2:
            raise ValueError(f"need t1 > 0 and saves >= 2, got t1={self.t1}, saves={self.saves}")
        ts = self.save_times()
        for t in self.fit_times:
            if not np.any(np.isclose(ts, t)):
                raise ValueError(f"fit time {t} is not a save time; the save times are {ts}")
        unknown = set(self.models) - set(MODELS)
        if unknown or not self.models:
            raise ValueError(f"models must be among {sorted(MODELS)}, got {self.models}")

    def save_times(self) -> np.ndarray:
        return np.linspace(0.0, self.t1, self.saves)


QUICK = Settings(ns=(32, 64, 128, 256, 512), replicas=32)
"""The --quick study: n = 2^5 .. 2^9, 32 replicas each."""


def alpha_of(model: ChaosModel, method: str) -> float:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    return 0.0 if method == "gd" else model.alpha


# ---- the mean-field reference -----------------------------------------------------------


def solve_pde(model: ChaosModel, method: str, ts: np.ndarray) -> xr.Dataset:
    """The PDE from rho0 with the method's alpha: energy, test functions and densities."""
    sol = mf.solve(
        model.grid_model,
        model.rho0,
        grid=model.grid,
        t1=float(ts[-1]),
        dt=0.01,
        alpha=alpha_of(model, method),
        saveat=ts,
    )
    grid = model.grid
    data = {
        "energy": ("time", np.asarray(sol.energy)),
        "mass": ("time", np.asarray(sol.mass)),
        "density": (("time", *model.axes), np.asarray(sol.density)),
    }
    for name, fn in model.test_functions.items():
        data[f"test_function_{name}"] = ("time", np.asarray(mf.expectation(grid, sol.density, fn)))
    coords = {"time": ts} | {a: np.asarray(grid.centres(k)) for k, a in enumerate(model.axes)}
    return xr.Dataset(data, coords=coords, attrs={"status": sol.message})


# ---- particles ----------------------------------------------------------------------------


def simulate_particles(
    model: ChaosModel, method: str, n: int, replicas: int, ts: np.ndarray, key, *, chunk: int
) -> dict[str, np.ndarray]:
    """R replicas at size n from i.i.d. mu_0 draws: energy, test functions and positions.

    Replicas run as vmapped ensembles of at most ``chunk`` replicas. ``key`` fixes both
    the initial draws and the dynamics; the initial draws depend on (key, n) only, so the
    methods share them (common random numbers).
    """
    k_init, k_run = jr.split(key)
    init_keys = jr.split(k_init, replicas)
    run_keys = jr.split(jr.fold_in(k_run, METHODS.index(method)), replicas)
    process = bd.BirthDeath(model.potential, alpha_of(model, method))
    observables = {
        f"test_function_{name}": _mean_of(fn) for name, fn in model.test_functions.items()
    }
    observables["theta"] = lambda t, s, a: s.theta
    parts = []
    for start in range(0, replicas, chunk):
        stop = min(start + chunk, replicas)
        theta0 = jax.vmap(lambda k: model.sample(k, n))(init_keys[start:stop])
        sol = bd.ensemble(
            process,
            jax.vmap(bd.Population.from_positions)(theta0),
            batched_state=True,
            keys=run_keys[start:stop],
            t1=float(ts[-1]),
            solver=model.solver,
            saveat=ts,
            observables=observables,
        )
        bad = np.asarray(sol.status._value) != bd.Status.successful._value
        if np.any(bad):
            first = int(np.argmax(bad))
            raise RuntimeError(
                f"{model.name}/{method} n={n}: replica {start + first} failed: "
                f"{bd.Status[sol.status[first]]}"
            )
        out = {k: np.asarray(v) for k, v in sol.observables.items()}
        out["events"] = np.asarray(sol.observables["deaths"] + sol.observables["births"])
        parts.append(out)
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _mean_of(fn: TestFunction):
    return lambda t, s, a: jnp.mean(fn(s.theta))


# ---- errors against the PDE -------------------------------------------------------------


def errors(model: ChaosModel, pde: xr.Dataset, sim: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per (replica, time) errors of one n against the PDE (see the module docstring)."""
    out = {"loss_gap": sim["energy"] - pde["energy"].values[None, :]}
    for name in model.test_functions:
        key = f"test_function_{name}"
        out[key] = sim[key] - pde[key].values[None, :]
    rho = jnp.asarray(pde["density"].values)
    theta = jnp.asarray(sim["theta"])  # (replica, time, n, p)
    grid = model.grid

    def w1(rho_t, cloud):
        return mf.wasserstein1(grid, rho_t, cloud[:, 0], axis=0)

    per_time = jax.jit(jax.vmap(jax.vmap(w1, in_axes=(0, 0)), in_axes=(None, 0)))
    out["w1"] = np.asarray(per_time(rho, theta))
    if grid.ndim == 2:

        def ed(rho_t, cloud):
            return mf.energy_distance(grid, rho_t, cloud)

        # Time outer, replicas inner: the density's own term is computed once per time.
        per_replica = jax.jit(jax.vmap(ed, in_axes=(None, 0)))
        out["energy_distance"] = np.stack(
            [np.asarray(per_replica(rho[i], theta[:, i])) for i in range(rho.shape[0])], axis=1
        )
    return out


# ---- the study ------------------------------------------------------------------------------


def run_model(model: ChaosModel, settings: Settings, *, progress: bool = True) -> dict:
    """Every method of one model: method -> {"pde": Dataset, "particles": Dataset}.

    The particle Dataset has dims (n, replica, time) and one variable per error quantity,
    plus the raw ``energy``, the jump counts ``events`` and the ``mu_n`` test-function
    values ``value_<name>``; its attributes include the wall time spent solving the PDE,
    simulating and computing errors (``seconds_pde``, ``seconds_simulation``,
    ``seconds_errors``).
    """
    ts = settings.save_times()
    root = jr.fold_in(jr.key(settings.seed), list(MODELS).index(model.name))
    results = {}
    for method in METHODS:
        clock = time.perf_counter()
        pde = solve_pde(model, method, ts)
        seconds = {"pde": time.perf_counter() - clock, "simulation": 0.0, "errors": 0.0}
        rows = []
        bar = tqdm(settings.ns, desc=f"{model.name}/{method}", disable=not progress, leave=True)
        for n in bar:
            chunk = max(1, settings.max_particles // n)
            clock = time.perf_counter()
            sim = simulate_particles(
                model, method, n, settings.replicas, ts, jr.fold_in(root, n), chunk=chunk
            )
            seconds["simulation"] += time.perf_counter() - clock
            clock = time.perf_counter()
            err = errors(model, pde, sim)
            seconds["errors"] += time.perf_counter() - clock
            err["energy"] = sim["energy"]
            err["events"] = sim["events"]
            for name in model.test_functions:
                err[f"value_{name}"] = sim[f"test_function_{name}"]
            rows.append(err)
        data = {k: (("n", "replica", "time"), np.stack([r[k] for r in rows])) for k in rows[0]}
        particles = xr.Dataset(
            data,
            coords={
                "n": np.asarray(settings.ns),
                "replica": np.arange(settings.replicas),
                "time": ts,
            },
            attrs={
                "model": model.name,
                "method": method,
                "alpha": alpha_of(model, method),
                "solver": type(model.solver).__name__,
                **{f"seconds_{k}": v for k, v in seconds.items()},
            },
        )
        results[method] = {"pde": pde, "particles": particles}
    return results


def run(settings: Settings, *, progress: bool = True) -> dict[str, dict]:
    """The whole study: model -> method -> {"pde", "particles"} (see :func:`run_model`)."""
    return {
        name: run_model(MODELS[name](), settings, progress=progress) for name in settings.models
    }


def to_datatree(results: dict[str, dict]) -> xr.DataTree:
    """Results as one DataTree: /<model>/<method>/{pde, particles}."""
    return xr.DataTree.from_dict(
        {
            f"/{model}/{method}/{part}": ds
            for model, per_method in results.items()
            for method, parts in per_method.items()
            for part, ds in parts.items()
        }
    )


def quantities(particles: xr.Dataset) -> list[str]:
    """The error quantities of a particle Dataset, in a fixed order."""
    names = [v for v in ("loss_gap",) if v in particles]
    names += sorted(v for v in particles if str(v).startswith("test_function_"))
    names += [v for v in ("w1", "energy_distance") if v in particles]
    return [str(v) for v in names]


def time_index(ts, t: float) -> int:
    """The index of save time t (raises ValueError if t is not one)."""
    ts = np.asarray(ts)
    hit = np.flatnonzero(np.isclose(ts, t))
    if hit.size == 0:
        raise ValueError(f"time {t} is not a save time; the save times are {ts}")
    return int(hit[0])
