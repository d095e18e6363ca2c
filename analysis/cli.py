"""The ``bdprocess`` command line.

Every subcommand lives in its own module and is registered in :data:`COMMANDS`. Bad
arguments and bad values exit with status 2 and one readable line (no traceback).
"""

import importlib
import os
import sys
from pathlib import Path

import click

COMMANDS = {
    "reproduce": "analysis.reproduce:reproduce",
    "genealogy": "analysis.genealogy_cmd:genealogy",
    "pde": "analysis.pde_cmd:pde",
    "simulate": "analysis.simulate_cmd:simulate",
    "chaos": "analysis.chaos_cmd:chaos",
}
"""Subcommand name -> "module:attribute" of its click command (imported on demand)."""


class _LazyGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, cmd_name):
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attr = target.split(":")
        return getattr(importlib.import_module(module), attr)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="bdprocess")
def cli():
    """Neuron birth-death dynamics as an interacting particle system.

    Simulate the paper's particle process (Rotskoff, Jelassi, Bruna, Vanden-Eijnden,
    ICML 2019) exactly or approximately, solve its mean-field PDE and analyse the
    fluctuations. Run `bdprocess COMMAND --help` for each command.
    """


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: one line and exit status 2 on bad input."""
    # JAX's persistent compilation cache (read when jax is imported): a rerun, or a fit of
    # the same shapes, loads compiled programs instead of compiling them again.
    os.environ.setdefault(
        "JAX_COMPILATION_CACHE_DIR", str(Path.home() / ".cache" / "bdprocess" / "jax")
    )
    try:
        cli.main(args=argv, prog_name="bdprocess", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("bdprocess: aborted", err=True)
        sys.exit(130)
    except click.UsageError as exc:
        click.echo(f"bdprocess: error: {exc.format_message()}", err=True)
        sys.exit(2)
    except ValueError as exc:
        click.echo(f"bdprocess: error: {exc}", err=True)
        sys.exit(2)
    except FileExistsError as exc:
        click.echo(f"bdprocess: error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
