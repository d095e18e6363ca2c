"""``--param KEY=VALUE`` options: typed model parameters with defaults, one-line errors."""

import click

ParamSpec = dict[str, tuple[type, object]]
"""Parameter name -> (type, default); bool accepts true/false/1/0."""


def parse_params(spec: ParamSpec, pairs: tuple[str, ...], *, model: str) -> dict:
    """``KEY=VALUE`` strings -> the typed parameters of ``model``, defaults filled in.

    Raises:
        click.UsageError: a pair without ``=``, a name not in ``spec`` (the message lists
            the known ones) or a value that does not convert to the parameter's type.
    """
    params = {k: default for k, (_, default) in spec.items()}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise click.UsageError(f"--param takes KEY=VALUE, got {pair!r}")
        if key not in spec:
            raise click.UsageError(
                f"unknown parameter {key!r} for --model {model}; known: {', '.join(spec)}"
            )
        kind = spec[key][0]
        try:
            if kind is bool:
                if value.lower() not in ("true", "false", "1", "0"):
                    raise ValueError
                params[key] = value.lower() in ("true", "1")
            else:
                params[key] = kind(value)
        except ValueError:
            raise click.UsageError(
                f"--param {key} must be {kind.__name__}, got {value!r}"
            ) from None
    return params


def describe(spec: ParamSpec) -> str:
    """'name (default), ...' for help texts."""
    return ", ".join(f"{k} ({_show(v)})" for k, (_, v) in spec.items())


def _show(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return "derived" if value is None else f"{value:g}" if isinstance(value, float) else str(value)
