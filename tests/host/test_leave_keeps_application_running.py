"""``ops.leave`` / ``ops.leave_device`` leave a board already running its application alone:
nothing is sent, and the result says so (the CLI side: tests/cli/
test_leave_leaves_a_running_application_alone.py)."""

from __future__ import annotations

from pathlib import Path

from pydfuse import ops
from pydfuse.demoapp import build_demo_app

PROFILE = "stm3210e-eval"


def test_ops_leave_keeps_a_running_application_running(tmp_path: Path) -> None:
    state = tmp_path / "board.json"
    with ops.sim_environment(PROFILE, state) as env:
        ops.flash(env, ops.DeviceSelector(), build_demo_app(), leave=True)
    with ops.sim_environment(PROFILE, state) as env:
        result = ops.leave_device(env, ops.DeviceSelector())
        assert result.already_running and result.left and not result.detached
        assert ops.leave(env, ops.DeviceSelector()) is True
        assert [d.mode for d in ops.list_devices(env)] == ["runtime"]
