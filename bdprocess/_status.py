"""Result status of a simulation: what went wrong and what to change."""

import equinox as eqx


class Status(eqx.Enumeration):
    """How a simulation ended. Each message says what to change.

    ``simulate(..., throw=True)`` raises with the message when the status is not
    ``successful``; under ``jax.vmap`` pass ``throw=False`` and inspect
    ``Solution.status`` per trajectory.
    """

    successful = "success"
    event_log_full = (
        "more events happened than the event log holds; raise max_events "
        "(or pass max_events=None to keep no log)"
    )
    nonfinite_state = (
        "the state became NaN or infinite; lower the time step (dt or tau) or check the model"
    )
    max_steps_reached = (
        "the solver took max_steps steps before reaching t1; raise max_steps "
        "(or use a leaping solver when the rates are large)"
    )
    bad_rate = (
        "a jump rate was negative or NaN; Solution.stats['bad_channel'] is the first such "
        "channel: fix the model's rates (every rate must be finite and >= 0)"
    )
    rate_bound_violated = (
        "a total jump rate exceeded the Extrande rate bound, so the run is not exact; raise "
        "Extrande's safety factor or shorten its horizon (Solution.stats['bound_violations'] "
        "counts the violations)"
    )
