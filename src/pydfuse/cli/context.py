"""Options shared by every command, set on the ``dfuse`` group (layer: cli)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click


@dataclass(frozen=True, slots=True)
class Settings:
    """Global options: ``--sim PROFILE``, ``--sim-state FILE``, ``--sim-realtime``, ``--quiet``."""

    sim_profile: str | None = None
    sim_state: Path | None = None
    sim_realtime: bool = False
    quiet: bool = False


def settings() -> Settings:
    """The current invocation's global options (defaults outside a click context)."""
    ctx = click.get_current_context(silent=True)
    obj = ctx.find_object(Settings) if ctx is not None else None
    return obj if obj is not None else Settings()
