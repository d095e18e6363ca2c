"""``bdprocess pde``: result folder contents and one-line errors."""

import json

import numpy as np
import pytest
import xarray as xr

import bdprocess.meanfield as mf
from analysis.cli import main
from models import fixed_potential_grid as fpg
from models import linear


def test_pde_command_writes_summary_data_and_figures(tmp_path):
    out = tmp_path / "run"
    main(
        [
            "pde",
            "--model",
            "linear",
            "--alpha",
            "1",
            "--t1",
            "0.5",
            "--grid",
            "256",
            "--saves",
            "3",
            "--x64",
            "--no-progress",
            "--out",
            str(out),
        ]
    )
    summary = json.loads((out / "summary.json").read_text())
    assert {"model", "alpha", "t", "energy", "mass"} <= set(summary)
    assert summary["model"] == "linear" and summary["alpha"] == 1.0
    assert summary["t"] == [0.0, 0.25, 0.5]
    exact = linear.energy_path(np.asarray(summary["t"]), m0=0, beta=2, cov0=1, alpha=1.0)
    np.testing.assert_allclose(summary["energy"], exact, rtol=5e-3)
    np.testing.assert_allclose(summary["mass"], 1.0, atol=1e-12)
    assert summary["run"]["status"] == "success"
    data = xr.open_dataset(out / "data.nc", engine="h5netcdf")
    assert data["density"].shape == (3, 256)
    np.testing.assert_allclose(data["energy"], summary["energy"])
    assert (out / "density.png").stat().st_size > 0 and (out / "energy.png").stat().st_size > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "linear", "--grid", "64x64"], "has 2 axes; this model needs 1"),
        (["--model", "linear", "--grid", "abc"], "--grid must look like"),
        (["--model", "linear", "--cfl", "0.9"], "--cfl must be in (0, 0.5]"),
        (["--model", "gaussian-mixture", "--grid", "20x20"], "grid too coarse"),
        (["--model", "fixed-potential", "--grid", "40"], "grid too coarse"),
        (["--model", "linear", "--init", "bad"], "applies to the gaussian-mixture model only"),
        (["--model", "linear", "--alpha", "-1"], "alpha"),
    ],
)
def test_pde_command_bad_input_exits_2_with_one_line(tmp_path, capsys, args, message):
    out = tmp_path / "never"
    with pytest.raises(SystemExit) as exc:
        main(["pde", *args, "--out", str(out), "--no-progress"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("extra", "has_exact"),
    [([], True), (["--rebirth", "prior"], False), (["--quench-at", "0.1"], False)],
    ids=["clone", "prior", "quench"],
)
def test_pde_exact_energy_only_where_the_closed_form_applies(tmp_path, extra, has_exact):
    """The fixed-potential closed form assumes cloning throughout: no exact curve under
    rebirth from the prior or a quench, and one that matches the PDE otherwise."""
    out = tmp_path / "run"
    args = ["pde", "--model", "fixed-potential", "--alpha", "2", "--t1", "0.2", "--grid", "200"]
    main([*args, "--saves", "3", "--x64", "--no-progress", "--out", str(out), *extra])
    summary = json.loads((out / "summary.json").read_text())
    exact = summary["run"]["exact_energy"]
    assert (exact is not None) == has_exact
    if has_exact:
        np.testing.assert_allclose(summary["energy"], exact, rtol=5e-3)
    assert (out / "energy.png").stat().st_size > 0


def test_fixed_potential_grid_rejects_coarse_grids():
    coarse = mf.Grid([-6.0], [6.0], [40])  # cell width 0.3 > MAX_WIDTH = 0.25
    rho0 = coarse.product_density([mf.normal_cdf(0.0, 1.0)])
    with pytest.raises(ValueError, match="grid too coarse: cell width 0.3 on axis 0.*48 cells"):
        mf.solve(fpg.QuadraticGrid(1.0), rho0, grid=coarse, t1=0.1, dt=0.05)
    fpg.FixedPotentialGrid().check_grid(mf.Grid([-6.0], [6.0], [48]))  # width 0.25: accepted


def test_quadratic_grid_takes_its_curvature_positionally():
    """QuadraticGrid(c) sets the curvature (``fn`` of the base class is keyword-only)."""
    grid = mf.Grid([-1.0], [1.0], [8])
    rho = grid.product_density([mf.uniform_cdf(-1.0, 1.0)])
    x = np.asarray(grid.centres(0))
    np.testing.assert_allclose(
        fpg.QuadraticGrid(-20.0).potential(grid, rho), -10.0 * x**2, rtol=1e-6
    )
