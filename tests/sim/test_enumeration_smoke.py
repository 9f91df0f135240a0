"""Core DfuSe flow on stm3210e-eval through real pyusb: erase, write, read back, leave."""

from __future__ import annotations

import errno

import pytest
import usb.core
import usb.util

from pydfuse.sim.backend import get_backend
from pydfuse.sim.board import VirtualBoard
from pydfuse.spec import State, Status
from support.rawdfu import abort, dnload, erase, find, getstatus, read, to_idle, vectors, write


def test_erase_write_read_leave_boots_application() -> None:
    board = VirtualBoard("stm3210e-eval")
    dev = find(board)
    to_idle(dev)
    assert erase(dev, board, 0x08003000).state == State.DFU_DNLOAD_IDLE
    app = vectors(0x20010000, 0x08003131) + b"demo"
    st = write(dev, board, 0x08003000, app)
    assert (st.status, st.state) == (Status.OK, State.DFU_DNLOAD_IDLE)
    assert read(dev, board, 0x08003000, len(app)) == app
    # leave (§2.5): zero-length DNLOAD, GETSTATUS answers dfuMANIFEST, then the device is gone
    abort(dev)  # the short upload left dfuUPLOAD-IDLE (§1.6: first UPLOAD always enters it)
    dnload(dev, 0, b"")
    assert getstatus(dev).state == State.DFU_MANIFEST
    with pytest.raises(usb.core.USBError) as info:
        getstatus(dev)
    assert info.value.errno == errno.ENODEV
    assert board.running == "application"
    assert board.vector_table == 0x08003000
    app_dev = usb.core.find(backend=get_backend(board))
    assert usb.util.get_string(app_dev, app_dev.iProduct) == "pydfuse demo application"
