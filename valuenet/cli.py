"""The ``valuenet`` command: one typer app, each command group in ``valuenet/commands/``."""

from __future__ import annotations

import importlib
import sys

import typer

app = typer.Typer(help="valuenet — live value network analysis.", no_args_is_help=True, add_completion=False)

# (module in valuenet.commands, how it plugs in). A module exposes either
# ``app`` (a sub-command group, registered under ``name``) or ``register(app)``.
_GROUPS: list[tuple[str, str | None]] = [
    ("stack", "kafka"),  # valuenet kafka start|stop|status
    ("ingest", "ingest"),  # valuenet ingest replay|webhook|stream|synth
    ("pipeline", None),  # valuenet worker, valuenet up
    ("query", None),  # valuenet top|tunnels|reach|alerts
    ("classify", None),  # valuenet eval classify, valuenet label
    ("eval_network", None),  # valuenet eval network (after classify: it adds to the eval group)
    ("web", None),  # valuenet serve
    ("export", None),  # valuenet export
    ("report", None),  # valuenet report
    ("whatif", None),  # valuenet whatif, recommend, keyperson
    ("dlq", "dlq"),  # valuenet dlq list|show|replay
    ("storage", "storage"),  # valuenet storage ddl|setup
]

for _module, _name in _GROUPS:
    _mod = importlib.import_module(f"valuenet.commands.{_module}")
    if _name is not None:
        app.add_typer(_mod.app, name=_name)
    else:
        _mod.register(app)


def main() -> None:
    """Entry point of the ``valuenet`` console script; unusable settings are one clear error, exit code 2."""
    from pydantic import ValidationError

    try:
        app()
    except ValidationError as e:  # the environment or the TOML file (VALUENET_CONFIG) holds a value that cannot be used
        print(f"error: configuration: {e}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
