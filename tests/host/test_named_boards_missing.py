"""Boards named by serial or bus path that are not on the bus (issue #11 ``--all``): each is an
outcome that failed, next to the boards that were there, never silently left out."""

from __future__ import annotations

import pytest

from pydfuse import ops
from pydfuse.errors import DeviceNotFoundError
from pydfuse.ops import DeviceSelector
from support.boards import app_image

IMAGE = app_image(2 * 2048)


def test_a_named_board_that_is_not_connected_fails_and_the_others_are_flashed() -> None:
    with ops.sim_environment("stm3210e-eval", boards=3) as env:
        chosen = [
            DeviceSelector(serial=env.boards[0].serial),
            DeviceSelector(serial="0000DEADBEEF"),
            DeviceSelector(path="1-3"),
            DeviceSelector(path="1-9"),
        ]
        outcomes = ops.flash_many(env, chosen, IMAGE)
        assert [(o.device.serial or o.device.path, o.ok) for o in outcomes] == [
            (env.boards[0].serial, True),
            (env.boards[2].serial, True),
            ("0000DEADBEEF", False),
            ("1-9", False),
        ]
        missing = outcomes[2]
        assert isinstance(missing.error, DeviceNotFoundError)
        assert "serial 0000DEADBEEF" in str(missing.error) and "not connected" in str(missing.error)
        assert outcomes[3].name == "path 1-9"


def test_upload_and_leave_name_a_missing_board_too() -> None:
    with ops.sim_environment("stm3210e-eval", boards=2) as env:
        chosen = [DeviceSelector(path="1-2"), DeviceSelector(path="1-5")]
        uploads = ops.upload_many(env, chosen, address=0x08003000, length=256)
        assert [o.ok for o in uploads] == [True, False]
        left = ops.leave_many(env, chosen, 0x08003000, force=True)
        assert [o.ok for o in left] == [True, False]


def test_a_kind_of_device_names_no_particular_board() -> None:
    with ops.sim_environment("stm3210e-eval", boards=2) as env:
        outcomes = ops.flash_many(env, [DeviceSelector(vid=0x0483, pid=0xDF11)], IMAGE)
        assert [o.ok for o in outcomes] == [True, True]


def test_only_missing_boards_is_a_clean_error() -> None:
    with (
        ops.sim_environment("stm3210e-eval", boards=2) as env,
        pytest.raises(DeviceNotFoundError, match="serial NOPE"),
    ):
        ops.flash_many(env, [DeviceSelector(serial="NOPE")], IMAGE)
