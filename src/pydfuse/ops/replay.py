"""Replay a USB trace on a virtual board: :func:`replay_trace` (layer: ops).

Imports ``pydfuse.host`` and the sibling ``env``. The trace is a ``dfuse --trace`` file; the
board is the environment's. See :mod:`pydfuse.host.replay` for what is compared.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydfuse.host.replay import Difference, ReplayResult, read_trace, replay
from pydfuse.ops.env import Environment

__all__ = ["Difference", "ReplayResult", "read_trace", "replay_trace"]


def replay_trace(
    env: Environment, trace: Path | tuple[dict[str, Any], list[dict[str, Any]]]
) -> ReplayResult:
    """Send the host requests of ``trace`` (a path, or what :func:`read_trace` returned) to
    the device of ``env`` at their traced times; the first answer that differs, if any."""
    _, records = read_trace(trace) if isinstance(trace, Path) else trace
    return replay(env.resolved_backend(), env.clock, records)
