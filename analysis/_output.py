"""Result folders: created fresh, never silently overwritten; JSON and netCDF writers."""

import json
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np


def prepare_out_dir(path: str | Path, force: bool) -> Path:
    """Create ``path`` for results.

    Raises:
        FileExistsError: ``path`` exists, is not empty and ``force`` is False (the user's
            results are never overwritten silently).
    """
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"--out {out} exists and is not a folder")
    if out.exists() and any(out.iterdir()):
        if not force:
            raise FileExistsError(
                f"--out {out} exists and is not empty; choose another folder or pass --force"
            )
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    return out


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray) or hasattr(x, "__array__"):
        return _jsonable(np.asarray(x).tolist())
    if isinstance(x, np.generic):
        return _jsonable(x.item())
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def write_json(path: str | Path, data: dict) -> None:
    """Write ``data`` as indented JSON (arrays become lists, NaN/inf become null)."""
    Path(path).write_text(json.dumps(_jsonable(data), indent=2) + "\n")
