"""Many boards at once (issue #11): every matching board gets its own worker and outcome, a
failing board never stops the others, and each board keeps its own clock and state."""

from __future__ import annotations

from pathlib import Path

import pytest

from pydfuse import ops
from pydfuse.errors import DeviceNotFoundError, VerifyError
from pydfuse.ops import DeviceSelector
from pydfuse.spec import Status
from support.boards import APP_ADDRESS, app_image

IMAGE = app_image(6 * 2048)


def test_a_fault_on_one_of_four_boards_fails_that_board_only() -> None:
    with ops.sim_environment("stm3210e-eval", boards=4) as env:
        env.boards[2].faults.fail_next("program", Status.ERR_PROG)
        outcomes = ops.flash_many(env, [DeviceSelector()], IMAGE, leave=True)
        assert [o.ok for o in outcomes] == [True, True, False, True]
        bad = outcomes[2]
        assert bad.device.serial == env.boards[2].serial and "ERR_PROG" in str(bad.error)
        for outcome, board in zip(outcomes, env.boards, strict=True):
            if outcome.ok:
                assert outcome.result is not None and outcome.result.verified is True
                assert board.running == "application"
                assert board.memory(0).read(APP_ADDRESS, IMAGE.size) == IMAGE.segments[0].data
            else:
                assert board.running == "bootloader"  # the vector table was never written


def test_boards_have_distinct_serials_and_paths_and_their_own_clocks() -> None:
    with ops.sim_environment("stm3210e-eval", boards=3) as env:
        outcomes = ops.flash_many(env, [DeviceSelector()], IMAGE)
        assert len({o.device.serial for o in outcomes}) == 3
        assert [o.device.path for o in outcomes] == ["1-1", "1-2", "1-3"]
        # Each board's modeled time is that board's own work, not the sum of all of them.
        one = outcomes[0].elapsed_s
        assert all(o.elapsed_s == pytest.approx(one, rel=0.05) for o in outcomes)
        assert all(b.clock.monotonic() < 2 * one + 1 for b in env.boards)


def test_serial_and_path_selectors_pick_exactly_those_boards() -> None:
    with ops.sim_environment("stm3210e-eval", boards=4) as env:
        serial = env.boards[0].serial
        chosen = [DeviceSelector(serial=serial), DeviceSelector(path="1-3")]
        outcomes = ops.flash_many(env, chosen, IMAGE)
        assert [o.device.path for o in outcomes] == ["1-1", "1-3"]
        assert env.boards[1].stats.erases == 0 and env.boards[3].stats.erases == 0


def test_no_matching_device_is_a_clean_error() -> None:
    with (
        ops.sim_environment("stm3210e-eval", boards=2) as env,
        pytest.raises(DeviceNotFoundError, match="no DFU device matches 1234:5678"),
    ):
        ops.flash_many(env, [DeviceSelector(vid=0x1234, pid=0x5678)], IMAGE)


def test_a_verify_error_on_one_board_is_its_own_outcome() -> None:
    with ops.sim_environment("stm3210e-eval", boards=2) as env:
        env.boards[1].faults.garble_next_read(APP_ADDRESS + 0x900)  # its read-back lies once
        outcomes = ops.flash_many(env, [DeviceSelector()], IMAGE, delta=False)
        assert outcomes[0].ok and outcomes[0].result is not None
        assert isinstance(outcomes[1].error, VerifyError)
        assert outcomes[1].error.address == APP_ADDRESS + 0x900
        assert outcomes[1].to_dict()["ok"] is False and "0x08003900" in str(outcomes[1].error)


def test_each_board_keeps_its_own_state_file(tmp_path: Path) -> None:
    state = tmp_path / "boards"
    with ops.sim_environment("stm3210e-eval", state, boards=3) as env:
        ops.flash_many(env, [DeviceSelector(path="1-2")], IMAGE, leave=True)
        serials = [b.serial for b in env.boards]
    assert sorted(p.name for p in state.iterdir() if not p.name.startswith(".")) == [
        "board-01.json",
        "board-02.json",
        "board-03.json",
    ]
    with ops.sim_environment("stm3210e-eval", state, boards=3) as env:
        assert [b.serial for b in env.boards] == serials
        assert [b.running for b in env.boards] == ["bootloader", "application", "bootloader"]


def test_upload_and_leave_on_every_board() -> None:
    with ops.sim_environment("stm3210e-eval", boards=3) as env:
        ops.flash_many(env, [DeviceSelector()], IMAGE)
        reads = ops.upload_many(
            env, [DeviceSelector(alt=0)], address=APP_ADDRESS, length=IMAGE.size
        )
        assert all(o.ok and o.result is not None for o in reads)
        assert {o.result.segments[0].data for o in reads if o.result} == {IMAGE.segments[0].data}
        left = ops.leave_many(env, [DeviceSelector()])
        assert [(o.result.left, o.result.already_running) for o in left if o.result] == [
            (True, False)
        ] * 3
        assert [b.running for b in env.boards] == ["application"] * 3
        generations = [b.generation for b in env.boards]
        again = ops.leave_many(env, [DeviceSelector()])  # every board runs its application
        assert all(o.ok and o.result and o.result.already_running for o in again)
        assert [b.generation for b in env.boards] == generations  # none restarted


def test_leave_on_every_board_leaves_running_boards_alone_and_names_them() -> None:
    with ops.sim_environment("stm3210e-eval", boards=3) as env:
        ops.flash_many(env, [DeviceSelector(path="1-2")], IMAGE, leave=True)
        generation = env.boards[1].generation
        left = ops.leave_many(env, [DeviceSelector()])
        assert [o.device.path for o in left] == ["1-1", "1-2", "1-3"]  # none left out
        running = [bool(o.result and o.result.already_running) for o in left]
        assert running == [False, True, False]
        assert env.boards[1].generation == generation  # not detached and restarted
