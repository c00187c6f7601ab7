"""valuenet: live value network analysis. Wiring lives here: settings, CLI, local stack, web service."""

__version__ = "0.1.0"
