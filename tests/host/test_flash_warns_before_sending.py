"""``ops.flash(warn=...)``: every warning known before the first byte — what ``force`` overrode
among them — is given to ``warn`` before anything is sent, and an error that stops the flash
later carries them in its ``warnings``."""

from __future__ import annotations

from pathlib import Path

import pytest

from pydfuse import ops
from pydfuse.errors import DfuStatusError

PROFILE = "stm3210e-eval"


@pytest.fixture
def app_bin(tmp_path: Path) -> Path:
    path = tmp_path / "app.bin"
    path.write_bytes(bytes((i * 7 + 3) & 0xFF for i in range(20000)))
    return path


def test_ops_flash_warns_before_sending_and_the_error_keeps_the_warnings(
    app_bin: Path,
) -> None:
    events: list[str] = []
    with (
        ops.sim_environment(PROFILE) as env,
        pytest.raises(DfuStatusError) as failed,
    ):
        ops.flash(
            env,
            ops.DeviceSelector(alt=0),
            app_bin,
            address=0x08000000,
            mass_erase=True,
            force=True,
            progress=lambda event: events.append(f"progress {event.phase}"),
            warn=lambda text: events.append(f"warn {text}"),
        )
    first_progress = next(i for i, e in enumerate(events) if e.startswith("progress"))
    early = [e for e in events[:first_progress] if e.startswith("warn FORCED:")]
    assert any("mass erase" in e for e in early)
    assert not [e for e in events[first_progress:] if e.startswith("warn")]
    assert [f"warn {w}" for w in failed.value.warnings if w.startswith("FORCED:")] == early
