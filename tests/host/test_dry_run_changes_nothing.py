"""``flash(dry_run=True)`` sends nothing that changes the device — no erase, no data, no
DFU_DETACH to a running application, no leave — succeeds wherever the real run would, and says
what the real run would do."""

from __future__ import annotations

import pytest

from pydfuse import ops
from pydfuse.demoapp import build_demo_app
from pydfuse.errors import PlanError
from pydfuse.sim.board import VirtualBoard
from pydfuse.spec import Request, State, Status
from support.boards import Rig, make_rig
from support.rawdfu import find, getstatus

ANY = ops.DeviceSelector()


def _changes(rig: Rig) -> list[str]:
    """Requests that change a device: erase, data blocks, leave, detach."""
    out = [f"erase 0x{a:08x}" for a in rig.backend.page_erases()]
    out += ["data" for s in rig.backend.log if s.is_dnload and s.value >= 2]
    out += ["leave" for s in rig.backend.log if s.is_dnload and not s.data]
    out += ["detach"] * rig.backend.count(Request.DETACH)
    return out


def test_dry_run_on_a_running_application_does_not_detach_it() -> None:
    rig = make_rig("stm3210e-eval")
    ops.flash(rig.env, ANY, build_demo_app(), leave=True)
    assert rig.board.running == "application"
    rig.backend.log.clear()
    new = build_demo_app(version="2.0.0")
    result = ops.flash(rig.env, ANY, new, dry_run=True, leave=True)
    assert _changes(rig) == [] and rig.board.running == "application"
    assert result.dry_run and not result.left and result.bytes_written == 0
    assert result.steps[0].startswith("would send DFU_DETACH to 0483:df12")
    assert result.steps[-1].startswith("would leave DFU mode and start the application at 0x")
    # no board facts (a real board without --profile): said, not guessed
    assert any("reported only in DFU mode" in w for w in result.warnings)
    assert result.plans == ()


def test_dry_run_on_a_running_application_plans_with_the_profile() -> None:
    board = VirtualBoard("stm3210e-eval")
    rig = make_rig(board)
    ops.flash(rig.env, ANY, build_demo_app(), leave=True)
    facts = ops.facts_of_profile(board.profile)
    env = ops.Environment(rig.env.backend, rig.env.clock, facts)
    rig.backend.log.clear()
    result = ops.flash(env, ANY, build_demo_app(version="2.0.0"), dry_run=True, leave=True)
    assert _changes(rig) == [] and board.running == "application"
    assert result.plans and result.plans[0].writes[0].address == 0x08003000
    assert result.steps[-1] == (
        "would leave DFU mode and start the application at 0x08003000 — not done: this is a dry run"
    )
    # ...and it refuses what the real run would refuse
    wrong = build_demo_app(link_address=0x08000000, load_address=0x08003000)
    with pytest.raises(PlanError, match="linked for 0x08000000"):
        ops.flash(env, ANY, wrong, dry_run=True)
    assert _changes(rig) == []


def test_dry_run_of_a_full_backup_on_the_st_demos_start_up_state() -> None:
    """The faithful ST demo starts in dfuERROR/errFIRMWARE (§2.9): the dry run clears that
    (CLRSTATUS changes no memory) to compare the bootloader bytes, as the real run does."""
    board = VirtualBoard("stm3210e-eval-quirks")
    rig = make_rig(board)
    ops.flash(rig.env, ANY, build_demo_app())
    backup = ops.upload(rig.env, ANY, alt=0).image
    board.set_dfu_pin(True)  # the bootloader keeps the board at reset, as after power-up
    board.reset()
    status = getstatus(find(board))
    assert (status.state, status.status) == (State.DFU_ERROR, Status.ERR_FIRMWARE)
    rig.backend.log.clear()
    result = ops.flash(rig.env, ANY, backup, dry_run=True, leave=True)
    assert _changes(rig) == []
    assert any(w.startswith("left out 0x08000000..0x08002fff") for w in result.warnings)
    assert result.steps == (
        "would leave DFU mode and start the application at 0x08003000 — not done: this is a "
        "dry run",
    )
    real = ops.flash(rig.env, ANY, backup)
    assert real.verified is not False
