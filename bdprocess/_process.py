"""The jump-process protocol every solver drives (ARCHITECTURE.md, "Process").

A process is data plus pure functions of ``(t, state, args)``:

* :meth:`rates` gives the intensity of every jump channel;
* :meth:`apply` performs one jump of a given channel;
* :meth:`drift` is the flow between jumps (None for a pure-jump process) and :meth:`move`
  advances the state along a velocity;
* :meth:`leap` performs all jumps of a time step at once (tau-leaping, splitting);
* :meth:`observe` gives the default observables saved by :func:`bdprocess.simulate`.

``event_kinds`` names the counters a step reports (one count per kind and step).
"""

import abc
from typing import Any, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp

from ._events import Jumps
from ._types import Array, Float, Int, Key


class AbstractProcess(eqx.Module):
    """A (piecewise-deterministic) Markov jump process."""

    event_kinds: ClassVar[tuple[str, ...]] = ()

    @abc.abstractmethod
    def rates(self, t, state, args) -> Float[Array, " channels"]:
        """The intensity of every jump channel at (t, state)."""

    @abc.abstractmethod
    def apply(self, t, state, channel: Int[Array, ""], key: Key, args) -> tuple[Any, Jumps, Array]:
        """Perform one jump of ``channel``: (new state, its Jumps record, counts per kind)."""

    @abc.abstractmethod
    def leap(self, t, state, rates, dt, key: Key, args) -> tuple[Any, Jumps, Array]:
        """Fire every channel over a step dt with the given (frozen) rates at once."""

    def drift(self, t, state, args) -> Any | None:
        """Velocity of the continuous part of the state between jumps; None if there is none."""
        return None

    def move(self, state, velocity, dt):
        """The state advanced by ``dt * velocity`` (explicit Euler step of the drift)."""
        raise NotImplementedError(f"{type(self).__name__} has no continuous state to move")

    def rates_and_drift(
        self, t, state, args, *, key: Key | None = None
    ) -> tuple[Float[Array, " channels"], Any | None]:
        """Rates and drift together; processes override this to share one evaluation.

        ``key`` (optional, fresh every step) feeds processes whose rates and drift are
        estimated from random data, e.g. a mini-batch; deterministic processes ignore it.
        """
        return self.rates(t, state, args), self.drift(t, state, args)

    def rate_bound(self, t, state, horizon, safety, args) -> Float[Array, ""]:
        """An upper bound on the total rate over ``[t, t + horizon]`` if no jump happens.

        :class:`bdprocess.Extrande` thins proposals drawn at this rate. The default, the
        current total rate, holds for pure-jump processes whose rates do not grow between
        jumps; processes with a drift must override it (``safety`` >= 1 scales the part of
        a bound that is estimated rather than proved).
        """
        if jax.eval_shape(lambda: self.drift(t, state, args)) is not None:
            raise NotImplementedError(
                f"{type(self).__name__} has a drift but no rate_bound; Extrande needs one"
            )
        return jnp.sum(self.rates(t, state, args))

    def leap_size(self, t, state, rates, eps, args) -> Float[Array, ""]:
        """The leap over which every rate changes by a relative amount of about ``eps``.

        Used by :class:`bdprocess.AdaptiveTauLeap` (Cao, Gillespie, Petzold 2006).
        """
        raise NotImplementedError(f"{type(self).__name__} does not choose its own leap size")

    def observe(self, t, state, args) -> dict[str, Array]:
        """Default observables at a save time (name -> array)."""
        return {}

    def zero_counts(self) -> Int[Array, " kinds"]:
        return jnp.zeros((len(self.event_kinds),), jnp.int32)
