"""upload / erase / leave / unprotect / plain DFU / detach / environments on the simulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from pydfuse.errors import DfuseError, PlanError, ProtocolError
from pydfuse.formats import DfuSuffix, Image, PlainDfuFile
from pydfuse.ops import (
    DeviceSelector,
    ImageSource,
    ProgressEvent,
    erase,
    flash,
    leave,
    list_devices,
    sim_environment,
    unprotect,
    upload,
    upload_all,
)
from pydfuse.ops.detach import detach
from pydfuse.sim.board import VirtualBoard
from pydfuse.sim.profiles import get_profile
from support.boards import APP_ADDRESS, Rig, app_image, blob, make_rig

ANY = DeviceSelector()
SPI = 0x00000000


def test_upload_a_range(rig: Rig) -> None:
    data = bytes(range(256)) * 12
    rig.board.memory(0).load(APP_ADDRESS + 100, data)
    result = upload(rig.env, ANY, address=APP_ADDRESS + 100, length=len(data))
    assert result.image.segments[0].address == APP_ADDRESS + 100
    assert result.image.segments[0].data == data
    # Full-size UPLOAD blocks with wBlockNum 2, 3, 4 after one Set Address (§2.4).
    ups = [s for s in rig.backend.log if s.request_type == 0xA1 and s.request == 2]
    assert [s.value for s in ups] == [2, 3, 4] and rig.backend.set_addresses() == [
        APP_ADDRESS + 100
    ]


def test_upload_to_the_end_of_the_readable_run(rig: Rig) -> None:
    result = upload(rig.env, ANY, alt="spi", address=0x7F0000)
    assert (result.alt, result.image.start, result.image.end) == (1, 0x7F0000, 0x800000)


def test_upload_whole_alternate_includes_read_only_bootloader(rig: Rig) -> None:
    rig.board.memory(0).load(0x08000000, b"BOOT")
    result = upload(rig.env, ANY)
    assert result.image.start == 0x08000000 and result.image.size == 512 * 1024
    assert result.image.read(0x08000000, 4) == b"BOOT"
    assert result.to_dict()["bytes"] == 512 * 1024


def test_upload_outside_the_memory_is_refused(rig: Rig) -> None:
    with pytest.raises(PlanError, match="not all readable"):
        upload(rig.env, ANY, address=0x0807FF00, length=0x200)


def test_upload_all_alternates() -> None:
    rig = make_rig("stm3210b-eval")
    rig.board.memory(1).load(SPI, b"spi!")
    images = upload_all(rig.env, ANY)
    assert [(alt, name) for alt, name, _ in images] == [
        (0, "Internal Flash"),
        (1, "SPI Flash : M25P64"),
    ]
    assert images[1][2].read(SPI, 4) == b"spi!" and images[1][2].size == 8 * 1024 * 1024


def test_upload_all_reports_one_phase_over_every_alternate() -> None:
    # The CLI's bars and lines, and the GUI's, take these events: a total per alternate
    # made each memory's end look like the end of the read.
    rig = make_rig("stm3210b-eval")
    events: list[ProgressEvent] = []
    upload_all(rig.env, ANY, progress=events.append)
    whole = 128 * 1024 + 8 * 1024 * 1024
    assert {e.total_bytes for e in events} == {whole}
    assert [e.done_bytes for e in events] == sorted(e.done_bytes for e in events)
    assert events[0].done_bytes == 0 and events[-1].done_bytes == whole


def test_upload_all_of_a_plain_dfu_device_says_its_size_at_the_end() -> None:
    rig = make_rig("plain-dfu")
    events: list[ProgressEvent] = []
    images = upload_all(rig.env, ANY, progress=events.append)
    size = sum(image.size for _, _, image in images)
    assert size > 0 and all(e.total_bytes == 0 for e in events[:-1])
    assert (events[-1].done_bytes, events[-1].total_bytes) == (size, size)


def test_erase_a_range_erases_each_touched_sector_once(rig: Rig) -> None:
    flash(rig.env, ANY, app_image(8192))
    result = erase(rig.env, ANY, address=APP_ADDRESS + 0x700, length=0x200)
    assert result.erased_sectors == (APP_ADDRESS, APP_ADDRESS + 0x800)
    assert rig.backend.page_erases()[-2:] == [APP_ADDRESS, APP_ADDRESS + 0x800]
    assert rig.board.memory(0).read(APP_ADDRESS, 0x1000) == b"\xff" * 0x1000
    assert rig.board.memory(0).read(APP_ADDRESS + 0x1000, 16) != b"\xff" * 16


def test_erase_refuses_the_read_only_bootloader(rig: Rig) -> None:
    with pytest.raises(PlanError, match="not erasable"):
        erase(rig.env, ANY, address=0x08000000, length=4)


def test_mass_erase_on_a_rom_bootloader() -> None:
    rig = make_rig("stm32f4-rom")
    rig.board.memory(0).load(0x08020000, b"\x00" * 16)
    result = erase(rig.env, ANY, mass=True)
    assert result.mass and rig.board.memory(0).read(0x08020000, 16) == b"\xff" * 16


def test_leave_after_flash_even_though_the_device_vanishes(rig: Rig) -> None:
    flash(rig.env, ANY, app_image(4096))
    assert leave(rig.env, ANY, address=APP_ADDRESS) is True
    assert rig.board.running == "application"
    assert [i.mode for i in list_devices(rig.env)] == ["runtime"]


def test_rom_leave_jumps_to_the_given_vector_table() -> None:
    rig = make_rig("stm32f4-rom")
    image = app_image(4096, address=0x08000000)
    result = flash(rig.env, ANY, image, leave=True)
    assert result.left and rig.board.running == "application"
    assert rig.board.vector_table == 0x08000000


def test_unprotect_expects_the_device_to_reset() -> None:
    rig = make_rig("stm32f4-rom")
    rig.board.memory(0).load(0x08000000, b"\x00" * 8)
    rig.board.memory(1).load(0x1FFFC000, bytes.fromhex("ffbb0044ffbb0044ffff0000ffff0000"))
    rig.board.reset()  # RDP level 1
    unprotect(rig.env, ANY, force=True)
    assert rig.board.memory(0).read(0x08000000, 8) == b"\xff" * 8
    assert rig.board.rdp_level == 0


def test_plain_dfu_round_trip(tmp_path: Path) -> None:
    rig = make_rig("plain-dfu")
    (info,) = list_devices(rig.env)
    assert not info.dfuse and info.dfu_version == "1.1"
    payload = bytes((i * 13) & 0xFF for i in range(5000))
    path = tmp_path / "fw.dfu"
    PlainDfuFile(payload, DfuSuffix(vid=0x1209, pid=0x0001, bcd_dfu=0x0100)).write(path)
    result = flash(rig.env, ANY, path)
    assert result.verified is True and result.targets[0].bytes_written == 5000
    assert rig.board.memory(0).read(0x08000000, 5000) == payload
    blocks = [s.value for s in rig.backend.log if s.is_dnload]
    assert blocks == [0, 1, 2, 3, 4, 5]  # five data blocks, then the zero-length one
    back = upload(rig.env, ANY, length=5000)
    assert back.image.segments[0].data == payload


def test_plain_dfu_refuses_a_file_for_another_device(tmp_path: Path) -> None:
    rig = make_rig("plain-dfu")
    path = tmp_path / "other.dfu"
    PlainDfuFile(b"\x01" * 64, DfuSuffix(vid=0x0483, pid=0xDF11, bcd_dfu=0x0100)).write(path)
    with pytest.raises(PlanError, match="the file is for 0483:df11"):
        flash(rig.env, ANY, path)
    flash(rig.env, ANY, path, force=True)


def test_dfuse_verbs_refuse_a_plain_device() -> None:
    rig = make_rig("plain-dfu")
    # Not a protocol failure (exit 5) but an operation the device does not have (exit 1).
    with pytest.raises(DfuseError, match="not ST DfuSe") as info:
        erase(rig.env, ANY, address=0x08000000)
    assert not isinstance(info.value, ProtocolError)


def running_app_board() -> VirtualBoard:
    board = VirtualBoard("stm3210e-eval")
    for segment in app_image(2048):
        board.memory(0).load(segment.address, segment.data)
    board.power_cycle()
    assert board.running == "application"
    return board


def test_detach_from_the_application_into_dfu_mode() -> None:
    rig = make_rig(running_app_board())
    (before,) = list_devices(rig.env)
    assert before.mode == "runtime" and before.pid == 0xDF12
    info = detach(rig.env, ANY)
    assert info.mode == "dfu" and info.pid == 0xDF11 and info.serial == rig.board.serial
    assert rig.board.running == "bootloader"


def test_flash_detaches_a_running_application_first() -> None:
    rig = make_rig(running_app_board())
    result = flash(rig.env, ANY, app_image(1024))
    assert result.verified is True
    assert any("sent DFU_DETACH" in w for w in result.warnings)
    assert rig.board.running == "bootloader"
    assert rig.board.memory(0).read(0x08003000, 1024) == app_image(1024).read(0x08003000, 1024)


def test_without_auto_detach_a_runtime_device_is_refused_with_a_hint() -> None:
    rig = make_rig(running_app_board())
    from pydfuse.errors import DeviceNotFoundError
    from pydfuse.ops.session import open_session

    with (
        pytest.raises(DeviceNotFoundError, match="running its application") as info,
        open_session(rig.env, ANY, auto_detach=False),
    ):
        pass
    assert info.value.hint is not None and "dfuse detach" in info.value.hint


def test_sim_environment_saves_the_board_even_after_a_failure(tmp_path: Path) -> None:
    state = tmp_path / "board.json"
    data = blob(SPI + 0x20000, 3000)
    with sim_environment("stm3210e-eval", state) as env:
        flash(env, ANY, ImageSource(data, alt=1))
    with pytest.raises(PlanError), sim_environment("stm3210e-eval", state) as env:
        assert env.board.memory(1).read(SPI + 0x20000, 3000) == data.segments[0].data
        erase(env, ANY, alt=1, address=SPI + 0x20000)  # done, then the next call fails
        flash(env, ANY, blob(0x08000000, 16))  # refused: read-only bootloader area
    with sim_environment("stm3210e-eval", state) as env:
        assert env.board.memory(1).read(SPI + 0x20000, 3000) == b"\xff" * 3000
        back = upload(env, ANY, alt=1, address=SPI + 0x20000, length=16)
        assert back.image == Image.from_segments([(SPI + 0x20000, b"\xff" * 16)])


def test_option_bytes_are_written_last_and_the_reset_is_expected() -> None:
    # §2.6 / §7.14: the ROM writes option bytes and resets without a second GETSTATUS.
    rig = make_rig("stm32f4-rom")
    app = app_image(2048, address=0x08000000)
    # BOR level 2 (bits 3:2 = 01) in the user byte; RDP stays 0xAA (RM0090 Table 16)
    block = bytes.fromhex("f7aa0855f7aa0855ffff0000ffff0000")
    options = Image.from_segments([(0x1FFFC000, block)])
    path_targets = (ImageSource(options, alt="option"), ImageSource(app, alt=0))
    result = flash(rig.env, ANY, path_targets[0])
    assert result.verified is None and not result.left
    assert any("option bytes" in w for w in result.warnings)
    assert rig.board.memory(1).read(0x1FFFC000, 16) == block
    result = flash(rig.env, ANY, path_targets[1])
    assert result.verified is True


def test_detach_without_will_detach_resets_the_bus() -> None:
    from dataclasses import replace

    from pydfuse.spec import Attributes

    base = get_profile("stm3210e-eval")
    runtime = replace(base.runtime, attributes=Attributes.CAN_DNLOAD | Attributes.CAN_UPLOAD)
    board = VirtualBoard(replace(base, runtime=runtime))
    for segment in app_image(2048):
        board.memory(0).load(segment.address, segment.data)
    board.power_cycle()
    rig = make_rig(board)
    info = detach(rig.env, ANY)
    assert info.mode == "dfu" and rig.board.running == "bootloader"


def test_flash_hex_and_bin_paths(rig: Rig, tmp_path: Path) -> None:
    from pydfuse.formats import save_image

    image = app_image(3000)
    hex_path = tmp_path / "app.hex"
    save_image(image, hex_path)
    flash(rig.env, ANY, hex_path)
    assert rig.board.memory(0).read(APP_ADDRESS, 3000) == image.segments[0].data
    data = blob(0, 700).segments[0].data
    bin_path = tmp_path / "data.bin"
    bin_path.write_bytes(data)
    flash(rig.env, DeviceSelector(alt="nor"), bin_path, address=0x64010000)
    assert rig.board.memory(2).read(0x64010000, 700) == data


def test_plain_upload_until_the_short_block() -> None:
    rig = make_rig("plain-dfu")
    rig.board.memory(0).load(0x08000000, b"fw!")
    result = upload(rig.env, ANY)
    assert result.image.size == 64 * 1024 and result.image.read(0x0, 3) == b"fw!"


def test_get_commands_lists_the_rom_opcodes() -> None:
    from pydfuse.host.dfuse import DfuseClient
    from pydfuse.ops.session import open_session

    rig = make_rig("stm32f4-rom")
    with open_session(rig.env, ANY) as session:
        assert DfuseClient(session.dfu).get_commands() == bytes([0x00, 0x21, 0x41, 0x92])
        assert session.dfu.get_status().state == 2  # back in dfuIDLE


def test_upload_a_length_from_the_start_of_the_memory(rig: Rig) -> None:
    rig.board.memory(2).load(0x64000000, b"NOR!")
    result = upload(rig.env, ANY, alt=2, length=4)
    assert result.image == Image.from_segments([(0x64000000, b"NOR!")])


def test_detach_of_a_device_already_in_dfu_mode_changes_nothing(rig: Rig) -> None:
    info = detach(rig.env, ANY)
    assert info.mode == "dfu" and rig.board.stats.enumerations == 1
