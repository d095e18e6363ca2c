"""Strict test harness: rank promotion raises, warnings are errors (pyproject), keys are
fixed, and JAX's persistent compilation cache is off.

The cache is off because XLA:CPU (jax 0.12) aborted the process ("Fatal Python error:
Aborted" in compilation_cache.get_executable_and_time) when a long-lived test worker
loaded many cached executables: seen three times in full runs, in different tests, never
in a single command's run. A crashed worker fails the suite, so tests compile afresh.
"""

import jax
import jax.random as jr
import pytest

jax.config.update("jax_numpy_rank_promotion", "raise")
jax.config.update("jax_enable_compilation_cache", False)


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
