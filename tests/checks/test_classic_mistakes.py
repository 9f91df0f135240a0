"""Pre-flight checks of the classic mistakes (§5, §7 items 18/20), on the library functions."""

from __future__ import annotations

from pydfuse.checks import (
    BoardFacts,
    Finding,
    TargetImage,
    check_placement,
    check_vector_table,
    preflight,
)
from pydfuse.formats.image import Image
from support.images import (
    E_EVAL_FLASH,
    E_EVAL_MEMORIES,
    E_EVAL_SRAM,
    app_image,
    vector_table,
)

F4_FLASH_START = 0x08000000


def _vectors(image: Image, load: int, **kw: object) -> list[Finding]:
    return check_vector_table(
        image,
        load_address=load,
        board=BoardFacts((E_EVAL_SRAM,)),
        memories=(E_EVAL_FLASH,),
        **kw,  # type: ignore[arg-type]
    )


def test_good_application_has_no_findings() -> None:
    assert _vectors(app_image(0x08003000), 0x08003000) == []
    report = preflight(
        [TargetImage(0, "ST...", app_image(0x08003000))],
        E_EVAL_MEMORIES,
        sram=E_EVAL_SRAM,
        app_address=0x08003000,
    )
    assert report.ok and report.findings == () and report.targets[0].application


def test_linked_for_0x08000000_loaded_at_0x08003000() -> None:
    image = app_image(0x08003000, link=0x08000000)
    assert _vectors(image, 0x08003000) == [
        Finding(
            "error",
            "vector.linked-elsewhere",
            "this image's vectors point at 0x080001c4: it was linked for 0x08000000 but is being "
            "loaded at 0x08003000; move FLASH ORIGIN in your linker script to 0x08003000 and set "
            "VTOR to 0x3000 (SCB->VTOR = 0x08003000, or VECT_TAB_OFFSET 0x3000 in "
            "system_stm32f10x.c)",
            0x08003000,
        )
    ]


def test_overlapping_the_bootloader() -> None:
    findings = check_placement(app_image(0x08000000, size=0x4000), E_EVAL_FLASH)
    assert findings == [
        Finding(
            "error",
            "placement.read-only",
            "0x08000000..0x08002fff lies in read-only sectors (the bootloader); this image "
            "starts at 0x08000000 — link it for 0x08003000",
            0x08000000,
        )
    ]


def test_too_large() -> None:
    findings = check_placement(app_image(0x08003000, size=600 * 1024), E_EVAL_FLASH)
    assert [f.code for f in findings] == ["placement.too-large", "placement.unmapped"]
    assert findings[0].message == (
        "this image holds 600 KiB: 100 KiB too large for the 500 KiB writable behind the "
        "bootloader (from 0x08003000)"
    )
    assert findings[1].message == "0x08080000 is outside Internal Flash (0x08000000..0x0807ffff)"


def test_nor_image_at_the_spi_address_names_both_memories() -> None:
    image = Image.from_segments([(0x00000000, b"\x55" * 300)])
    report = preflight(
        [TargetImage(2, "NOR", image)], E_EVAL_MEMORIES, sram=E_EVAL_SRAM, app_address=0x08003000
    )
    assert not report.ok
    assert report.findings == (
        Finding(
            "error",
            "target.wrong-memory",
            "this image at 0x00000000 is for SPI Flash (alt 1) but target 2 is NOR Flash at "
            "0x64000000..0x64ffffff; put it in a target for alt 1, or link it for 0x64000000",
            0,
        ),
    )


def test_gaps() -> None:
    image = Image.from_segments(
        [
            (0x08003000, vector_table(0x08003000) + b"\0" * 0x3C0),
            (0x08003800, b"\1" * 16),
            (0x08006000, b"\2" * 16),
        ]
    )
    findings = check_placement(image, E_EVAL_FLASH)
    assert [(f.severity, f.message) for f in findings] == [
        (
            "info",
            "the image has a gap at 0x08003400..0x080037ff (1 KiB); those bytes are "
            "erased (0xff) but not written",
        ),
        (
            "info",
            "the image has a gap at 0x08003810..0x08005fff (10.0 KiB) covering 4 whole "
            "sectors that will be neither erased nor written: they keep their old "
            "contents (a filesystem or settings there survive)",
        ),
    ]


def test_stack_pointer_checks() -> None:
    bad = _vectors(app_image(0x08003000, sp=0x20020000), 0x08003000)
    assert [f.code for f in bad] == ["vector.stack"]
    assert bad[0].message.startswith(
        "initial stack pointer 0x20020000 (word 0 at 0x08003000) is outside SRAM "
        "0x20000000..0x2000ffff"
    )
    # the exclusive SRAM end is a valid stack top (§5.2)
    assert _vectors(app_image(0x08003000, sp=0x20010000), 0x08003000) == []
    # 128 KB parts: valid stack, but ST's demo mask rejects it (§5.2 pitfall) -> info
    big = check_vector_table(
        app_image(0x08000000, sp=0x20020000),
        load_address=0x08000000,
        board=BoardFacts(((0x20000000, 0x20020000),)),
    )
    assert [(f.severity, f.code) for f in big] == [("info", "vector.stack-mask")]
    assert "0x2FFE0000" in big[0].message and "0x2FFC0000" in big[0].message
    erased = Image.from_segments([(0x08003000, b"\xff" * 64)])
    assert [f.code for f in _vectors(erased, 0x08003000)] == ["vector.erased"]


def test_reset_vector_checks() -> None:
    table = bytearray(vector_table(0x08003000))
    table[4] &= 0xFE  # clear the Thumb bit
    image = Image.from_segments([(0x08003000, bytes(table) + b"\0" * 0x400)])
    findings = _vectors(image, 0x08003000)
    assert [(f.severity, f.code) for f in findings] == [("error", "vector.thumb")]
    # handlers that no single link address explains: one error per entry
    table = bytearray(vector_table(0x08003000))
    table[8:12] = (0x08060001).to_bytes(4, "little")  # NMI far away, Reset inside
    stray = Image.from_segments([(0x08003000, bytes(table) + b"\0" * 0x400)])
    assert [(f.severity, f.code, f.address) for f in _vectors(stray, 0x08003000)] == [
        ("error", "vector.outside", 0x08060000)
    ]
    # a handler in RAM is legitimate only if the program puts it there: a warning
    table[8:12] = (0x20000101).to_bytes(4, "little")
    ram = Image.from_segments([(0x08003000, bytes(table) + b"\0" * 0x400)])
    assert [(f.severity, f.code) for f in _vectors(ram, 0x08003000)] == [
        ("warning", "vector.outside")
    ]
    missing = Image.from_segments([(0x08004000, b"\0" * 16)])
    assert [f.code for f in _vectors(missing, 0x08003000)] == ["vector.missing"]


def test_a_vector_into_a_gap_is_not_called_outside_the_range_printed() -> None:
    # 8 bytes of table at 0x08003000 (Reset 0x08003135) and 16 bytes far away: the reset
    # handler lies between the two pieces; the message once said "outside this image
    # (0x08003000..0xffffff0f)", a range that holds it.
    table = (0x20001000).to_bytes(4, "little") + (0x08003135).to_bytes(4, "little")
    image = Image.from_segments([(0x08003000, table), (0xFFFFFF00, b"\x01" * 16)])
    (finding,) = [f for f in _vectors(image, 0x08003000) if f.code == "vector.outside"]
    assert finding.message == (
        "Reset vector points at 0x08003134, where this image has no data (a gap; its data: "
        "0x08003000..0x08003007, 0xffffff00..0xffffff0f)"
    )
    # past the end of a one-piece image: its one range, which does not hold the address
    table = bytearray(vector_table(0x08003000))
    table[8:12] = (0x08060001).to_bytes(4, "little")
    one = Image.from_segments([(0x08003000, bytes(table) + b"\0" * 0x400)])
    (far,) = _vectors(one, 0x08003000)
    assert far.message.endswith(f"outside this image (0x08003000..0x{one.end - 1:08x})")
    # many pieces: the first few and how many more
    pieces = [(0x08003000, bytes(table) + b"\0" * 0x400)]
    pieces += [(0x08010000 + n * 0x100, b"\0" * 4) for n in range(6)]
    (many,) = [
        f for f in _vectors(Image.from_segments(pieces), 0x08003000) if f.address == 0x08060000
    ]
    assert "outside this image (its data: 0x08003000..0x0800343f, 0x08010000..0x08010003," in (
        many.message
    )
    assert many.message.endswith("and 4 more)")


def test_preflight_rules_for_applications_and_alternates() -> None:
    data = Image.from_segments([(0x00000000, b"\xaa" * 64)])
    report = preflight(
        [
            TargetImage(0, "app", app_image(0x08003000, link=0x08000000)),
            TargetImage(1, "spi", data),
            TargetImage(5, "x", data),
        ],
        E_EVAL_MEMORIES,
        sram=E_EVAL_SRAM,
        app_address=0x08003000,
    )
    app, spi, extra = report.targets
    assert app.application and [f.code for f in app.findings] == ["vector.linked-elsewhere"]
    assert not spi.application and spi.findings == () and spi.memory == "SPI Flash : M25P64"
    assert [f.message for f in extra.findings] == [
        "target 5 (x) is for alternate setting 5, which this device does not have "
        "(alternates: 0, 1, 2)"
    ]
    as_dict = report.to_dict()
    assert as_dict["ok"] is False and as_dict["errors"] == 2
    assert as_dict["targets"][0]["findings"][0]["address"] == 0x08003000
    # no profile: the application address comes from the layout (behind the 'a' run) and the
    # stack is checked against the architectural SRAM region
    rom = preflight(
        [TargetImage(0, "a", app_image(0x08003000))], E_EVAL_MEMORIES, sram=None, app_address=None
    )
    assert rom.targets[0].application and rom.findings == ()
