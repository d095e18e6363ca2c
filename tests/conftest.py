"""Strict test harness: rank promotion raises, warnings are errors (pyproject), the
persistent compilation cache lives outside the repository, and keys are fixed."""

import os
from pathlib import Path

import jax
import jax.random as jr
import pytest

jax.config.update("jax_numpy_rank_promotion", "raise")
jax.config.update(
    "jax_compilation_cache_dir",
    os.environ.get("JAX_COMPILATION_CACHE_DIR", str(Path.home() / ".cache/bdprocess/jax")),
)
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)


@pytest.fixture
def getkey():
    """A fresh, deterministic key on every call (for tests that are not statistical)."""
    counter = iter(range(10**9))

    def next_key():
        return jr.key(next(counter))

    return next_key


@pytest.fixture
def x64():
    """Run the test body with float64 enabled."""
    with jax.enable_x64(True):
        yield
