"""The USB/IP server speaks for the board: device list, import, control transfers (stalls as
-EPIPE), unlink, and re-enumeration as a closed connection plus a new device on offer."""

from __future__ import annotations

import struct
import time

import pytest

from pydfuse.sim.board import VirtualBoard
from pydfuse.spec import State, Status
from support.rawdfu import (
    abort,
    dnload,
    erase,
    getstatus,
    read,
    set_address,
    to_idle,
    vectors,
    write,
)
from support.usbip import (
    ECONNRESET,
    EPIPE,
    Stalled,
    attach,
    closed_by_peer,
    devlist,
    import_device,
    serving,
)

APP = 0x08003000
GET_DESCRIPTOR = 0x06


def descriptor(kind: int, index: int = 0) -> tuple[int, int, int, int]:
    return 0x80, GET_DESCRIPTOR, kind << 8 | index, 0x0409 if kind == 3 else 0


def test_devlist_names_the_board_in_dfu_mode_and_closes() -> None:
    board = VirtualBoard("stm3210e-eval")
    with serving(board) as served:
        (device,) = devlist(served.port)
    assert device["busid"] == "1-1" and device["busnum"] == 1
    assert (device["vid"], device["pid"], device["bcd_device"]) == (0x0483, 0xDF11, 0x0200)
    assert device["speed"] == 2  # full speed
    assert (device["configuration"], device["num_configurations"]) == (1, 1)
    # One interface (its alternates are not interfaces): DFU class, DFU mode protocol.
    assert device["interfaces"] == [(0xFE, 0x01, 0x02)]
    assert "devlist" in served.kinds()


def test_import_answers_descriptors_exactly_as_the_board_holds_them() -> None:
    board = VirtualBoard("stm3210e-eval")
    assert board.usb is not None
    with serving(board) as served:
        dev = attach(served.port)
        assert dev.info["pid"] == 0xDF11
        assert dev.ctrl_transfer(*descriptor(1), 18) == board.usb.device.to_bytes()
        config = board.usb.config.to_bytes()
        assert dev.ctrl_transfer(*descriptor(2), 9) == config[:9]  # the kernel asks twice
        assert dev.ctrl_transfer(*descriptor(2), 255) == config  # short: 45 < 255
        alt0 = dev.ctrl_transfer(*descriptor(3, 4), 255)
        assert alt0[2:].decode("utf-16-le").startswith("@Internal Flash")
        dev.close()
    assert served.kinds()[:3] == ["listening", "offered", "imported"]


def test_stall_is_epipe_and_the_device_answers_the_next_request() -> None:
    board = VirtualBoard("stm3210e-eval")
    with serving(board) as served:
        dev = attach(served.port)
        reply = dev.control(*descriptor(6), 10)  # device qualifier: full-speed only
        assert (reply.status, reply.actual, reply.data) == (EPIPE, 0, b"")
        with pytest.raises(Stalled):
            dev.ctrl_transfer(0xC0, 0x01, 0, 0, 4)  # vendor request
        assert getstatus(dev).status == Status.ERR_FIRMWARE  # the demo starts in dfuERROR
        dev.close()


def test_a_transfer_on_another_endpoint_or_with_crossed_directions_stalls() -> None:
    board = VirtualBoard("stm3210e-eval")
    with serving(board) as served:
        dev = attach(served.port)
        seq = dev.submit(b"\x80\x06\x00\x01\x00\x00\x12\x00", direction=1, length=18, ep=1)
        assert dev.reply_to(seq).status == EPIPE
        # An IN request (GET_DESCRIPTOR) submitted as an OUT URB.
        seq = dev.submit(b"\x80\x06\x00\x01\x00\x00\x00\x00", direction=0, length=0)
        assert dev.reply_to(seq).status == EPIPE
        dev.close()


def test_dfuse_write_and_read_back_over_usbip_on_every_alternate() -> None:
    board = VirtualBoard("stm3210e-eval")
    targets = {0: 0x08004000, 1: 0x00010000, 2: 0x64020000}
    with serving(board) as served:
        dev = attach(served.port)
        for alt, address in targets.items():
            dev.ctrl_transfer(0x01, 0x0B, alt, 0, None)  # SET_INTERFACE
            to_idle(dev)
            assert erase(dev, board, address).state == State.DFU_DNLOAD_IDLE
            data = bytes((alt * 17 + i) & 0xFF for i in range(1024))
            assert write(dev, board, address, data).status == Status.OK
            assert read(dev, board, address, 1024) == data
            assert board.memory(alt).read(address, 1024) == data
            abort(dev)
        dev.close()


def test_unlink_cancels_a_request_the_device_never_answers() -> None:
    board = VirtualBoard("stm3210e-eval")
    with serving(board) as served:
        dev = attach(served.port)
        board.faults.timeout_next()
        hung = dev.submit(b"\xa1\x03\x00\x00\x00\x00\x06\x00", direction=1, length=6)
        dev.in_seqnums.discard(hung)
        while board.faults.armed():  # until the board has taken (and not answered) it
            time.sleep(0.001)
        unlink = dev.unlink(hung)
        reply = dev.reply_to(unlink)
        assert (reply.command, reply.status) == (4, ECONNRESET)
        # The same connection goes on; the hung URB never gets a RET_SUBMIT.
        assert getstatus(dev).state == State.DFU_ERROR
        done = dev.submit(b"\xa1\x05\x00\x00\x00\x00\x01\x00", direction=1, length=1)
        assert dev.reply_to(done).status == 0
        late = dev.reply_to(dev.unlink(done))  # already answered: nothing to cancel
        assert (late.command, late.status) == (4, 0)
        assert hung not in dev.early
        dev.close()


def test_leave_closes_the_connection_and_offers_the_application() -> None:
    board = VirtualBoard("stm3210e-eval")
    board.memory(0).load(APP, vectors(0x20010000, APP + 0x131))
    with serving(board) as served:
        dev = attach(served.port)
        to_idle(dev)
        assert set_address(dev, board, APP).state == State.DFU_DNLOAD_IDLE
        dnload(dev, 0, b"")
        assert getstatus(dev).state == State.DFU_MANIFEST  # answered, then the board left
        assert closed_by_peer(dev.sock)
        (device,) = devlist(served.port)
        assert (device["pid"], device["interfaces"]) == (0xDF12, [(0xFE, 0x01, 0x01)])
        assert device["devnum"] != dev.info["devnum"]  # a new address
        assert served.kinds().count("offered") == 2
        offers = [(e.message, e.running) for e in served.events if e.kind == "offered"]
        assert offers == [
            ("offering bus id 1-1, 0483:df11 in DFU mode", "bootloader"),
            ("re-enumerated: offering bus id 1-1, 0483:df12 in run-time mode", "application"),
        ]

        # Run-time mode: DFU_DETACH with bitWillDetach brings it back in DFU mode.
        app = attach(served.port)
        assert getstatus(app).state == State.APP_IDLE
        app.ctrl_transfer(0x21, 0x00, 1000, 0, None)
        assert closed_by_peer(app.sock)
        (device,) = devlist(served.port)
        assert device["pid"] == 0xDF11
    assert board.running == "bootloader"


def test_a_pulled_cable_closes_the_connection_and_offers_nothing() -> None:
    board = VirtualBoard("stm3210e-eval")
    with serving(board) as served:
        dev = attach(served.port)
        board.faults.disconnect_after(1)
        assert getstatus(dev).status == Status.ERR_FIRMWARE  # this one still went through
        assert closed_by_peer(dev.sock)
        assert devlist(served.port) == []
        status, none = import_device(served.port)
        assert (status, none) == (4, None)  # ST_NODEV
    assert "gone" in served.kinds() and board.running == "off"


def test_one_client_at_a_time_imports_and_a_detach_frees_the_board() -> None:
    board = VirtualBoard("stm3210e-eval")
    with serving(board) as served:
        first = attach(served.port)
        assert import_device(served.port) == (2, None)  # ST_DEV_BUSY
        assert import_device(served.port, "2-1")[0] == 4  # no such bus id
        first.close()  # usbip detach
        for _ in range(50):
            status, again = import_device(served.port)
            if status == 0:
                break
        assert status == 0 and again is not None
        assert struct.unpack("<H", again.ctrl_transfer(*descriptor(1), 18)[10:12]) == (0xDF11,)
        again.close()


def test_power_cycle_after_a_pulled_cable_offers_the_board_again() -> None:
    board = VirtualBoard("stm3210e-eval")
    with serving(board) as served:
        dev = attach(served.port)
        board.faults.disconnect_after(1)
        getstatus(dev)
        assert closed_by_peer(dev.sock) and devlist(served.port) == []
        served.call(served.server.power_cycle())
        (device,) = devlist(served.port)
        assert device["pid"] == 0xDF11
        again = attach(served.port)
        assert getstatus(again).status == Status.ERR_FIRMWARE  # a fresh boot of the demo
        again.close()
    assert served.kinds()[-1] != "gone" and board.running == "bootloader"


def test_power_cycle_closes_the_import_of_the_old_device() -> None:
    board = VirtualBoard("stm3210e-eval")
    with serving(board) as served:
        dev = attach(served.port)
        served.call(served.server.power_cycle())
        assert closed_by_peer(dev.sock)
        assert import_device(served.port)[0] == 0
