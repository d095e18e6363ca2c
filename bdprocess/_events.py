"""Jumps produced by one solver step, and the fixed-capacity event log that records them.

Every jump of a population process overwrites one slot with a new occupant:

* ``slot``: the slot overwritten (its occupant leaves the population);
* ``partner``: the slot whose occupant was copied into it, or -1 for a draw from the prior;
* ``kind``: why it happened: :data:`DEATH` (the occupant's own death clock rang) or
  :data:`BIRTH` (the partner's birth clock rang and the occupant was removed to keep n fixed);
* ``new_id`` / ``parent_id``: the lineage id of the new occupant and of the individual it
  copies (-1 for a prior draw).

Reaction networks (which have no slots) use ``kind`` for the reaction index and -1 elsewhere.
"""

from typing import Self

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from ._types import Array, Bool, Float, Int

DEATH = 0
"""Event kind: the overwritten slot's occupant died."""
BIRTH = 1
"""Event kind: the partner gave birth and the overwritten slot's occupant was removed."""


class Jumps(eqx.Module):
    """A batch of ``m`` jumps from one solver step (``valid`` marks the ones that happened)."""

    kind: Int[Array, " m"]
    slot: Int[Array, " m"]
    partner: Int[Array, " m"]
    new_id: Int[Array, " m"]
    parent_id: Int[Array, " m"]
    valid: Bool[Array, " m"]

    @classmethod
    def none(cls, m: int = 1) -> Self:
        """m empty jump records (nothing happened)."""
        minus = jnp.full((m,), -1, jnp.int32)
        return cls(minus, minus, minus, minus, minus, jnp.zeros((m,), bool))


class EventLog(eqx.Module):
    """Fixed-capacity record of every jump: arrays padded with inf / -1 past ``count``.

    ``count`` keeps counting past the capacity, so ``overflowed`` tells that the log is
    incomplete; :func:`bdprocess.simulate` then reports ``Status.event_log_full``.
    Changing the capacity recompiles.
    """

    time: Float[Array, " capacity"]
    kind: Int[Array, " capacity"]
    slot: Int[Array, " capacity"]
    partner: Int[Array, " capacity"]
    new_id: Int[Array, " capacity"]
    parent_id: Int[Array, " capacity"]
    count: Int[Array, ""]

    @classmethod
    def empty(cls, capacity: int, dtype=None) -> Self:
        """An empty log with room for ``capacity`` events."""
        if capacity < 0:
            raise ValueError(f"max_events must be >= 0, got {capacity}")
        minus = jnp.full((capacity,), -1, jnp.int32)
        return cls(
            time=jnp.full((capacity,), jnp.inf, dtype or jnp.result_type(float)),
            kind=minus,
            slot=minus,
            partner=minus,
            new_id=minus,
            parent_id=minus,
            count=jnp.zeros((), jnp.int32),
        )

    @property
    def capacity(self) -> int:
        return self.time.shape[-1]

    @property
    def overflowed(self) -> Bool[Array, "..."]:
        return self.count > self.capacity

    def record(self, t: Float[Array, ""], jumps: Jumps) -> Self:
        """Append the valid entries of ``jumps`` at time ``t`` (entries past capacity dropped)."""
        rank = jnp.cumsum(jumps.valid) - 1
        pos = jnp.where(jumps.valid, self.count + rank, self.capacity)

        def put(buffer, values):
            return buffer.at[pos].set(values.astype(buffer.dtype), mode="drop")

        return EventLog(
            time=put(self.time, jnp.broadcast_to(t, pos.shape)),
            kind=put(self.kind, jumps.kind),
            slot=put(self.slot, jumps.slot),
            partner=put(self.partner, jumps.partner),
            new_id=put(self.new_id, jumps.new_id),
            parent_id=put(self.parent_id, jumps.parent_id),
            count=self.count + jnp.sum(jumps.valid, dtype=jnp.int32),
        )

    def to_numpy(self) -> dict[str, np.ndarray]:
        """The recorded events (of one trajectory) as NumPy arrays, padding removed."""
        if self.count.ndim:
            raise ValueError("to_numpy() takes one trajectory; index the ensemble first")
        k = min(int(self.count), self.capacity)
        fields = ("time", "kind", "slot", "partner", "new_id", "parent_id")
        return {f: np.asarray(getattr(self, f))[:k] for f in fields}
