"""DFU error statuses, stalls, timeouts and disconnects, injected by the simulator's faults."""

from __future__ import annotations

from array import array
from typing import Any

import pytest

from pydfuse.errors import DeviceDisconnectedError, DfuStatusError, ProtocolError, StallError
from pydfuse.host.dfu import DfuClient
from pydfuse.host.discovery import choose, scan
from pydfuse.ops import DeviceSelector, Environment, erase, flash, upload
from pydfuse.sim.backend import get_backend
from pydfuse.sim.board import VirtualBoard
from pydfuse.spec import State, Status
from support.boards import APP_ADDRESS, RecordingBackend, Rig, app_image

ANY = DeviceSelector()
ERRORS = [s for s in Status if s != Status.OK]


def device_state(rig: Rig) -> State | int:
    """GETSTATUS through a fresh host client, without any recovery."""
    found, dev = choose(scan(rig.env.backend))
    try:
        client = DfuClient(dev, found.interface, rig.env.clock, transfer_size=1024)
        return client.get_status().state
    finally:
        dev.close()


@pytest.mark.parametrize("status", ERRORS, ids=lambda s: s.name)
def test_program_error_is_reported_by_name_and_cleared(rig: Rig, status: Status) -> None:
    bad = APP_ADDRESS + 2048  # the third block
    rig.board.faults.fail_next("program", status, bad)
    with pytest.raises(DfuStatusError) as info:
        flash(rig.env, ANY, app_image(4096))
    err = info.value
    assert err.status == status and err.phase == "program" and err.address == bad
    assert err.state == State.DFU_ERROR
    assert status.name in str(err) and f"0x{bad:08x}" in str(err)
    assert device_state(rig) == State.DFU_IDLE
    # and a retry works
    assert flash(rig.env, ANY, app_image(4096)).verified is True


@pytest.mark.parametrize("status", [Status.ERR_ERASE, Status.ERR_TARGET, Status.ERR_VENDOR])
def test_erase_error_names_the_sector(rig: Rig, status: Status) -> None:
    sector = APP_ADDRESS + 0x800
    rig.board.faults.fail_next("erase", status, sector)
    with pytest.raises(DfuStatusError) as info:
        flash(rig.env, ANY, app_image(4096))
    assert (info.value.status, info.value.phase, info.value.address) == (status, "erase", sector)
    assert device_state(rig) == State.DFU_IDLE


def test_erase_verb_reports_errors_too(rig: Rig) -> None:
    rig.board.faults.fail_next("erase", Status.ERR_CHECK_ERASED)
    with pytest.raises(DfuStatusError, match="ERR_CHECK_ERASED"):
        erase(rig.env, ANY, address=APP_ADDRESS, length=10)
    assert device_state(rig) == State.DFU_IDLE


def test_upload_error_status(rig: Rig) -> None:
    rig.board.faults.fail_next("command", Status.ERR_ADDRESS)
    with pytest.raises(DfuStatusError) as info:
        upload(rig.env, ANY, address=APP_ADDRESS, length=100)
    assert info.value.phase == "set address" and info.value.address == APP_ADDRESS
    assert device_state(rig) == State.DFU_IDLE


def test_device_disappearing_mid_flash(rig: Rig) -> None:
    # Let discovery and recovery through, then pull the plug somewhere in the erase/program.
    rig.board.faults.disconnect_after(40)
    with pytest.raises(DeviceDisconnectedError) as info:
        flash(rig.env, ANY, app_image(20_000))
    message = str(info.value)
    # 40 transfers end inside the erase pass: the message says what that means for the memory.
    assert "disconnected during erase" in message and "only partly erased" in message
    assert "0x08" in message  # the address where it happened
    assert info.value.hint and "reconnect" in info.value.hint
    assert info.value.__cause__ is not None


def test_a_stalled_request_is_a_stall_error(rig: Rig) -> None:
    found, dev = choose(scan(rig.env.backend))
    try:
        client = DfuClient(dev, found.interface, rig.env.clock, transfer_size=1024)
        rig.board.faults.stall_next()
        with pytest.raises(StallError) as info:
            client.get_state()
        assert info.value.__cause__ is not None  # the pyusb USBError is kept
    finally:
        dev.close()


def test_a_timed_out_status_poll_is_retried(rig: Rig) -> None:
    # §7.3 / §2.6: a busy device may NAK a poll past the control timeout; the poll is retried.
    found, dev = choose(scan(rig.env.backend))
    try:
        dfu = DfuClient(dev, found.interface, rig.env.clock, transfer_size=1024)
        dfu.recover()
        dfu.download(0, bytes([0x21]) + APP_ADDRESS.to_bytes(4, "little"))
        first = dfu.get_status()
        assert first.state == State.DFU_DNBUSY
        rig.board.faults.timeout_next()
        final = dfu.wait_ready(first, phase="set address", address=APP_ADDRESS)
        assert final.state == State.DFU_DNLOAD_IDLE and final.status == Status.OK
    finally:
        dev.close()


def test_polls_give_up_after_the_retry_budget(rig: Rig) -> None:
    found, dev = choose(scan(rig.env.backend))
    try:
        dfu = DfuClient(dev, found.interface, rig.env.clock, transfer_size=1024)
        dfu.recover()
        dfu.download(0, bytes([0x21]) + APP_ADDRESS.to_bytes(4, "little"))
        first = dfu.get_status()
        for _ in range(dfu.policy.max_retries + 1):
            rig.board.faults.stall_next()
        with pytest.raises(StallError):
            dfu.wait_ready(first, phase="set address", address=APP_ADDRESS)
    finally:
        dev.close()


@pytest.mark.parametrize("status", [Status.ERR_TARGET, Status.ERR_VENDOR])
def test_a_stalled_upload_reports_the_devices_reason(rig: Rig, status: Status) -> None:
    # §2.6: a refused read is stalled and the reason is left in bStatus.
    bad = APP_ADDRESS + 1024
    rig.board.faults.fail_next("upload", status, bad)
    with pytest.raises(DfuStatusError) as info:
        upload(rig.env, ANY, address=APP_ADDRESS, length=4096)
    assert (info.value.status, info.value.phase, info.value.address) == (status, "upload", bad)
    assert isinstance(info.value.__cause__, StallError)
    assert device_state(rig) == State.DFU_IDLE


def test_verify_read_failure_is_reported_with_its_address(rig: Rig) -> None:
    bad = APP_ADDRESS + 2048
    rig.board.faults.fail_next("upload", Status.ERR_VENDOR, bad)
    with pytest.raises(DfuStatusError) as info:  # --full: the first read is the verify's
        flash(rig.env, ANY, app_image(4096), delta=False)
    assert (info.value.phase, info.value.address) == ("verify", bad)


def _leave_device_in(rig: Rig, state: State) -> None:
    found, dev = choose(scan(rig.env.backend))
    try:
        dfu = DfuClient(dev, found.interface, rig.env.clock, transfer_size=1024)
        dfu.recover()
        if state == State.DFU_DNLOAD_IDLE:
            dfu.download(0, bytes([0x21]) + APP_ADDRESS.to_bytes(4, "little"))
            dfu.wait_ready(dfu.get_status(), phase="set address", address=APP_ADDRESS)
        elif state == State.DFU_UPLOAD_IDLE:
            dfu.upload(2, 1024)
        elif state == State.DFU_ERROR:
            with pytest.raises(StallError):
                dfu.upload(1, 16)  # wBlockNum 1 is invalid in DfuSe (§2.4)
        elif state == State.DFU_DNLOAD_SYNC:
            dfu.download(0, bytes([0x21]) + APP_ADDRESS.to_bytes(4, "little"))
        assert dfu.get_state() in (state, State.DFU_DNBUSY)
    finally:
        dev.close()


@pytest.mark.parametrize(
    "state",
    [State.DFU_DNLOAD_IDLE, State.DFU_UPLOAD_IDLE, State.DFU_ERROR, State.DFU_DNLOAD_SYNC],
    ids=lambda s: s.name,
)
def test_flash_recovers_from_whatever_an_earlier_session_left(rig: Rig, state: State) -> None:
    _leave_device_in(rig, state)
    image = app_image(2048)
    assert flash(rig.env, ANY, image).verified is True
    assert rig.board.memory(0).read(APP_ADDRESS, 2048) == image.segments[0].data


class StuckBackend(RecordingBackend):
    """The simulator's backend, except that once ``stuck`` is set every GETSTATUS answers
    dfuDNBUSY with bwPollTimeout 0 (Black Magic Probe style, §7.3)."""

    stuck = False

    def ctrl_transfer(
        self, handle: Any, rt: int, req: int, value: int, index: int, data: Any, timeout: Any
    ) -> Any:
        n = super().ctrl_transfer(handle, rt, req, value, index, data, timeout)
        if self.stuck and rt == 0xA1 and req == 3:
            data[:6] = array("B", [0, 0, 0, 0, State.DFU_DNBUSY, 0])
        return n


def test_a_device_stuck_busy_with_zero_poll_timeouts_is_given_up_on() -> None:
    board = VirtualBoard("stm3210e-eval")
    backend = StuckBackend(get_backend(board))
    env = Environment(backend=backend, clock=board.clock)
    found, dev = choose(scan(backend))
    try:
        dfu = DfuClient(dev, found.interface, env.clock, transfer_size=1024)
        dfu.recover()
        backend.stuck = True
        dfu.download(0, bytes([0x21]) + APP_ADDRESS.to_bytes(4, "little"))
        with pytest.raises(ProtocolError, match="stuck in DFU_DNBUSY during set address"):
            dfu.wait_ready(dfu.get_status(), phase="set address", address=APP_ADDRESS)
    finally:
        dev.close()
    polls = sum(1 for s in backend.log if s.request_type == 0xA1 and s.request == 3)
    assert 100 <= polls <= 110  # dfu-util's limit of 100 zero-timeout answers (§2.11)
    assert board.clock.monotonic() < 15.0  # backed off, capped at 100 ms a wait


def test_leave_is_success_when_the_device_vanishes_at_once(rig: Rig) -> None:
    # GD32 style (§2.5): the device goes on the zero-length DNLOAD; GETSTATUS then gets ENODEV.
    from pydfuse.ops.session import open_session

    with open_session(rig.env, ANY) as session:
        rig.board.faults.disconnect_after(1)
        assert session.dfuse.leave() is True
    assert rig.board.running == "off"
