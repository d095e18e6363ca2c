"""Every tutorial script in docs/tutorials runs end to end at test size."""

import os
import runpy
from pathlib import Path

import matplotlib
import pytest

TUTORIALS = sorted((Path(__file__).parents[1] / "docs" / "tutorials").glob("*.py"))


@pytest.mark.parametrize("path", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_tutorial_runs(path, monkeypatch, tmp_path):
    matplotlib.use("Agg")
    monkeypatch.setenv("BDPROCESS_TUTORIAL_SIZE", "test")
    monkeypatch.chdir(tmp_path)
    runpy.run_path(str(path), run_name="__main__")
    assert os.environ["BDPROCESS_TUTORIAL_SIZE"] == "test"
