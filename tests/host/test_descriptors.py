"""Pure parts of the host: functional descriptors, DfuSe/mode detection, status decoding."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pydfuse.errors import ProtocolError
from pydfuse.host.descriptors import (
    detect_mode,
    find_functional_descriptor,
    iter_descriptors,
    layout_name,
    parse_functional_descriptor,
)
from pydfuse.host.dfu import StatusRecord
from pydfuse.spec import Attributes, State, Status

# §3.4: the STM3210E-EVAL functional descriptor, byte-exact.
ST_FUNCTIONAL = bytes.fromhex("09210BFF0000041A01")


def test_st_functional_descriptor_decodes_every_field() -> None:
    fd = parse_functional_descriptor(ST_FUNCTIONAL)
    assert fd is not None
    assert fd.attributes == Attributes.CAN_DNLOAD | Attributes.CAN_UPLOAD | Attributes.WILL_DETACH
    assert (fd.detach_timeout_ms, fd.transfer_size, fd.dfu_version) == (255, 1024, 0x011A)
    assert fd.is_dfuse and fd.will_detach and not fd.manifestation_tolerant
    assert fd.version_text == "1.1a"


def test_found_after_other_descriptors_in_the_last_alternate_extra() -> None:
    # ST puts it once after the last alternate (§1.1); other descriptors may come first.
    other = bytes([5, 0x24, 1, 2, 3])
    found = find_functional_descriptor(b"", b"", other + ST_FUNCTIONAL)
    assert found is not None and found.transfer_size == 1024


def test_no_functional_descriptor_anywhere() -> None:
    assert find_functional_descriptor(b"", bytes([5, 0x24, 1, 2, 3])) is None


def test_malformed_extra_bytes_stop_the_walk() -> None:
    assert iter_descriptors(bytes([0, 1, 2])) == []
    assert iter_descriptors(bytes([9, 0x21, 1])) == []  # claims 9 bytes, has 3


def test_dfu_1_0_seven_byte_descriptor() -> None:
    fd = parse_functional_descriptor(bytes.fromhex("0721030A000002"))
    assert fd is not None and fd.dfu_version == 0x0100 and fd.transfer_size == 512
    assert not fd.is_dfuse and fd.version_text == "1.0"


def test_swapped_dfuse_version_bytes_still_dfuse() -> None:
    # §7.4: ST USB-FS lib 3.1.0 sent bcdDFUVersion byte-swapped ("1a.01").
    fd = parse_functional_descriptor(bytes.fromhex("09210BFF000004011A"))
    assert fd is not None and fd.is_dfuse and fd.raw_version == 0x1A01


def test_maple_version_forced_to_1_1() -> None:
    fd = parse_functional_descriptor(bytes.fromhex("09210BFF0000041A01"), vid=0x1EAF, pid=0x0003)
    assert fd is not None and fd.dfu_version == 0x0110 and not fd.is_dfuse


def test_mode_detection_quirks() -> None:
    dfuse = parse_functional_descriptor(ST_FUNCTIONAL)
    plain = parse_functional_descriptor(bytes.fromhex("0921070000000410 01".replace(" ", "")))
    assert detect_mode(2, plain) == "dfu"
    assert detect_mode(1, plain) == "runtime"
    assert detect_mode(1, plain, vid=0x1FC9, pid=0x000C) == "dfu"  # LPC bootloader (§7.4)
    assert detect_mode(0, dfuse) == "dfu"  # DSO Nano (§7.4)
    assert detect_mode(0, plain) == "runtime"
    assert detect_mode(0, plain, device_class=0xFE) == "dfu"  # DFU 1.0 in DFU mode (§1.1)


def test_layout_name() -> None:
    assert layout_name("@Internal Flash  /0x08000000/06*002Ka,250*002Kg") == "Internal Flash"
    assert layout_name("@SPI Flash : M25P64/0x00000000/128*64Kg") == "SPI Flash : M25P64"
    assert layout_name("plain name ") == "plain name"


def test_status_record_decodes_24_bit_poll_timeout() -> None:
    rec = StatusRecord.from_bytes(bytes([0x00, 0x32, 0x01, 0x02, 0x04, 0x00]))
    assert rec == StatusRecord(Status.OK, 0x020132, State.DFU_DNBUSY, 0)
    assert rec.ok


def test_status_record_error_and_unknown_state_byte() -> None:
    # §7.7: ST writes the status 0x0F into the state byte after a bad UPLOAD block number.
    rec = StatusRecord.from_bytes(bytes([0x0F, 0, 0, 0, 0x0F, 0x00]))
    assert rec.status == Status.ERR_STALLEDPKT and rec.state == 0x0F
    assert not isinstance(rec.state, State) and rec.state_name() == "0x0f"
    assert not rec.ok
    assert not StatusRecord.from_bytes(bytes([0x0A, 0, 0, 0, 10, 0])).ok


def test_short_status_reply_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="5 bytes"):
        StatusRecord.from_bytes(bytes(5))


@given(st.binary(min_size=6, max_size=6))
def test_status_decoding_total(data: bytes) -> None:
    rec = StatusRecord.from_bytes(data)
    assert int(rec.status) == data[0] and int(rec.state) == data[4]
    assert rec.poll_timeout_ms == data[1] | data[2] << 8 | data[3] << 16
    assert rec.istring == data[5]
