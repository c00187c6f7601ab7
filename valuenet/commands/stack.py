"""Placeholder command group (filled by its owner)."""

import typer

app = typer.Typer(help="(not yet implemented)", no_args_is_help=True)
