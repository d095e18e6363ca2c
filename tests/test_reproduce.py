"""The paper's Gaussian-mixture outcome, and the `bdprocess reproduce` command."""

import json
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr

from analysis import gm_experiment as gx
from analysis.cli import main


def test_paper_outcome_over_five_seeds():
    """Uniform init: E(10) with BD at most a fifth of GD's. Bad init (T = 100, the paper's
    horizon): GD and clone-BD stall at the same level, BD with the prior ends 10x lower.
    The uniform runs stop at t = 10 (no quench needed before then) to keep CI short; the
    slow test below runs the full default command."""
    settings = gx.Settings(seeds=5)
    uniform = gx.run_init(gx.Settings(seeds=5, quench=0.0), "uniform", 10.0, progress=False)
    bad = gx.run_init(settings, "bad", 100.0, progress=False)
    summary = gx.summarize({"uniform": uniform, "bad": bad}, settings)
    oc = summary["outcome"]
    assert oc["uniform_t10"]["bd"] <= oc["uniform_t10"]["gd"] / 5, oc
    assert oc["bad_final"]["gd_bd_ratio"] <= 1.5, oc
    assert oc["bad_final"]["prior_gain"] >= 10, oc
    assert np.all(uniform.status.values == 0) and np.all(bad.status.values == 0)
    # Birth-death really fired, and GD never did.
    assert int(bad.events.sel({"method": "gd"}).sum()) == 0
    assert int(bad.events.sel({"method": "bd_prior"}).sum()) > 100


def _run_cli(args, capsys):
    with pytest.raises(SystemExit) as exc:
        main(args)
    return exc.value.code, capsys.readouterr()


def test_reproduce_quick_writes_the_documented_result_folder(tmp_path, capsys):
    out = tmp_path / "gm"
    main(["reproduce", "--quick", "--seeds", "1", "--out", str(out), "--no-progress"])
    printed = capsys.readouterr().out
    assert "done in" in printed and "report.html" in printed
    for name in (
        "summary.json",
        "data.nc",
        "report.html",
        "energy.png",
        "particles.png",
        "fit.png",
    ):
        assert (out / name).stat().st_size > 0, name
    summary = json.loads((out / "summary.json").read_text())
    assert {k: summary[k] for k in ("experiment", "n", "seeds", "alpha", "dt")} == {
        "experiment": "gaussian_mixture",
        "n": 200,
        "seeds": 1,
        "alpha": 5.0,
        "dt": 0.01,
    }
    assert set(summary["runs"]) == {
        f"{i}/{m}" for i in ("uniform", "bad") for m in ("gd", "bd", "bd_prior")
    }
    for key, run in summary["runs"].items():
        assert set(run) == {"t", "energy_mean", "energy_q10", "energy_q90", "events"}
        assert 10.0 in run["t"] and len(run["energy_mean"]) == len(run["t"])
        assert all(lo <= hi for lo, hi in zip(run["energy_q10"], run["energy_q90"], strict=True))
        assert isinstance(run["events"], int)
        assert (run["events"] == 0) == key.endswith("/gd")
    tree = xr.open_datatree(out / "data.nc", engine="h5netcdf")
    np.testing.assert_allclose(
        tree["uniform"]["energy"].sel({"method": "bd"}).mean("seed").values,
        summary["runs"]["uniform/bd"]["energy_mean"],
        rtol=1e-6,
    )
    html = (out / "report.html").read_text()
    assert "data:image/png;base64," in html and "Settings" in html and "Outcome" in html
    # Never overwrite a non-empty folder without --force: one line, exit status 2.
    code, captured = _run_cli(["reproduce", "--quick", "--out", str(out)], capsys)
    assert code == 2
    assert captured.err.strip().count("\n") == 0 and "--force" in captured.err
    assert (out / "summary.json").exists()


@pytest.mark.parametrize(
    "args, needle",
    [
        (["reproduce", "--seeds", "0"], "--seeds"),
        (["reproduce", "--experiment", "mnist"], "mnist"),
        (["reproduce", "--bogus"], "--bogus"),
        (["frobnicate"], "frobnicate"),
    ],
)
def test_bad_cli_arguments_exit_2_with_one_line(args, needle, capsys):
    code, captured = _run_cli(args, capsys)
    assert code == 2
    assert captured.err.strip().count("\n") == 0, captured.err
    assert captured.err.startswith("bdprocess: error:") and needle in captured.err


def test_console_script_help():
    done = subprocess.run(
        [sys.executable, "-m", "analysis.cli", "reproduce", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--seeds" in done.stdout and "report.html" in done.stdout


@pytest.mark.slow
def test_default_reproduce_command(tmp_path, capsys):
    main(["reproduce", "--out", str(tmp_path / "full"), "--no-progress"])
    summary = json.loads((tmp_path / "full" / "summary.json").read_text())
    assert summary["seeds"] == 5
    assert summary["runs"]["uniform/gd"]["t"][-1] == 30.0
    assert summary["runs"]["bad/gd"]["t"][-1] == 100.0
    assert summary["outcome"]["uniform_t10"]["holds"]
    assert summary["outcome"]["bad_final"]["holds"]
