"""An application linked for a higher address than the one it is loaded at, and larger than the
distance between the two: every handler of its vector table then still points inside the image,
so "handlers inside the image" cannot see the mistake. The code the handlers name can: the
stub handlers every startup file has (``b .``, ``bx lr``) sit one fixed distance lower than
the vectors say. Real application sizes (tens of KiB) make this the common case of the issue's
own pair, linked for 0x0800C000 and placed at 0x08008000.
"""

from __future__ import annotations

import random
import struct

import pytest

from pydfuse.checks import TargetImage, preflight
from pydfuse.demoapp import build_demo_app
from pydfuse.formats import Image
from pydfuse.layout import parse_layout
from support.firmware import elf_image
from support.images import E_EVAL_MEMORIES

F4_ROM = {0: parse_layout("@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg")}
F072_ROM = {0: parse_layout("@Internal Flash  /0x08000000/064*0002Kg")}

SELF_LOOP = struct.pack("<H", 0xE7FE)  # b .
RETURN = struct.pack("<H", 0x4770)  # bx lr
# gcc -O0 (Cube's debug default): a frame-pointer prologue before the loop or the return
O0_LOOP_M3 = struct.pack("<3H", 0xB480, 0xAF00, 0xE7FE)
O0_RETURN_M3 = struct.pack("<6H", 0xB480, 0xAF00, 0xBF00, 0x46BD, 0xBC80, 0x4770)
O0_LOOP_M0 = struct.pack("<3H", 0xB580, 0xAF00, 0xE7FE)
O0_RETURN_M0 = struct.pack("<5H", 0xB580, 0xAF00, 0x46C0, 0x46BD, 0xBD80)


def _check(image: Image, memories=E_EVAL_MEMORIES):  # type: ignore[no-untyped-def]
    return preflight([TargetImage(0, "app", image)], memories)


def _linked_elsewhere(report) -> str:  # type: ignore[no-untyped-def]
    (finding,) = [f for f in report.findings if f.severity == "error"]
    assert finding.code == "vector.linked-elsewhere"
    return finding.message


@pytest.mark.parametrize(
    ("link", "load", "memories"),
    [
        (0x0800C000, 0x08008000, E_EVAL_MEMORIES),  # the pair, with a 64 KiB app
        (0x08004000, 0x08003000, E_EVAL_MEMORIES),  # a 16 KiB loader's script, 12 KiB loader
        (0x08005000, 0x08003000, E_EVAL_MEMORIES),
        (0x08003000, 0x08000000, F4_ROM),  # the demo board's app flashed by the F4 ROM
        (0x08004000, 0x08000000, F4_ROM),
        (0x08008000, 0x08004000, F4_ROM),
        (0x0800C000, 0x08000000, F4_ROM),
        (0x08002000, 0x08000000, F072_ROM),
        (0x08000800, 0x08000000, F072_ROM),  # a 2 KiB HID bootloader's script
    ],
)
def test_linked_higher_is_refused_even_when_its_handlers_land_inside(
    link: int, load: int, memories
) -> None:  # type: ignore[no-untyped-def]
    image = build_demo_app(link_address=link, load_address=load, size=64 * 1024)
    assert all(image.start <= w < image.end for w in _handlers(image))  # the hard case
    message = _linked_elsewhere(_check(image, memories))
    assert f"it was linked for 0x{link:08x} but is being loaded at 0x{load:08x}" in message
    assert f"move FLASH ORIGIN in your linker script to 0x{load:08x}" in message


def _handlers(image: Image) -> list[int]:
    table = image.read(image.start, 0x40)
    words = struct.unpack("<16I", table)
    return [w & ~1 for w in words[1:] if w]


def test_a_real_gcc_application_linked_for_the_demo_loader_is_refused_at_0x08000000() -> None:
    # tests/firmware app-64k: linked for 0x08003000 (ST demo loader), 63 KiB; a ROM board
    # (F4) flashed with it at 0x08000000 used to take it and start it
    linked = elf_image("app-64k")
    data = linked.read(linked.start, linked.end - linked.start)
    placed = Image.from_segments([(0x08000000, data)])
    message = _linked_elsewhere(_check(placed, F4_ROM))
    assert "it was linked for 0x08003000 but is being loaded at 0x08000000" in message
    assert _check(linked).ok  # where it belongs, it passes


def _app(
    load: int, link: int, stubs: dict[int, bytes], *, size: int = 0x10000, seed: int = 1
) -> Image:
    """An image of random 'code' with a vector table for ``link``: handler ``offset`` (from
    the link address) -> the bytes at that offset (its stub, or more random code)."""
    rng = random.Random(seed)
    body = bytearray(rng.getrandbits(8) for _ in range(size))
    words = [0] * 16
    words[0] = 0x20005000
    words[1] = link + 0x201  # reset handler: not a stub
    offsets = sorted(stubs)
    for index, slot in enumerate((2, 3, 4, 5, 6, 11, 12, 14, 15)):
        words[slot] = link + offsets[index % len(offsets)] + 1
    body[:0x40] = struct.pack("<16I", *words)
    for offset, code in stubs.items():
        body[offset : offset + len(code)] = code
    return Image.from_segments([(load, bytes(body))])


CUBE_O0 = {0x300: O0_LOOP_M3, 0x320: O0_LOOP_M3, 0x340: O0_RETURN_M3, 0x360: b"\x80\xb5"}
CUBE_OS = {0x300: SELF_LOOP, 0x310: SELF_LOOP, 0x320: RETURN, 0x330: b"\xff\xf7\xfe\xbf"}
M0_O0 = {0x300: O0_LOOP_M0, 0x320: O0_RETURN_M0}
ONE_DEFAULT = {0x300: SELF_LOOP}


@pytest.mark.parametrize(
    "stubs", [CUBE_O0, CUBE_OS, M0_O0, ONE_DEFAULT], ids=["O0", "Os", "M0-O0", "one-default"]
)
@pytest.mark.parametrize("seed", range(4))
def test_stub_handlers_found_shifted_show_the_link_address(stubs, seed: int) -> None:  # type: ignore[no-untyped-def]
    load, link = 0x08008000, 0x0800C000
    assert _check(_app(link, link, stubs, seed=seed)).ok
    wrong = _app(load, link, stubs, seed=seed)
    assert "linked for 0x0800c000" in _linked_elsewhere(_check(wrong))


@pytest.mark.parametrize("seed", range(40))
def test_applications_linked_where_they_are_loaded_pass(seed: int) -> None:
    # random code around the stubs, the stubs anywhere: no false alarm where the handlers'
    # own code is a stub (every startup file's default handler is one)
    rng = random.Random(seed)
    kinds = [SELF_LOOP, RETURN, O0_LOOP_M3, O0_RETURN_M3, O0_LOOP_M0, O0_RETURN_M0]
    stubs = {0x200 + 0x20 * i: rng.choice(kinds) for i in range(rng.randint(1, 6))}
    for load, memories in ((0x08003000, E_EVAL_MEMORIES), (0x08000000, F4_ROM)):
        assert _check(_app(load, load, stubs, seed=seed), memories).ok


def test_the_demo_application_passes_at_every_size_where_it_is_linked() -> None:
    for size in (0x400, 0x2000, 0x10000, 0x40000):
        assert _check(build_demo_app(size=size)).ok
        assert _check(build_demo_app(link_address=0x08000000, size=size), F4_ROM).ok


def _stubless_app(load: int, link: int, *, size: int = 0x20000, seed: int = 3) -> Image:
    """Random 'code' without stub handlers (every handler a real function, as in a
    MicroPython port), whose constants hold many addresses of its own second half (strings,
    tables), as linked for ``link``."""
    rng = random.Random(seed)
    body = bytearray(rng.getrandbits(8) for _ in range(size))
    for index in range(0x40, size, 4):
        if body[index : index + 2] in (b"\xfe\xe7", b"\x70\x47"):
            body[index] ^= 0x10
    words = [0x20005000, link + 0x401] + [link + 0x411 + 0x10 * i for i in range(14)]
    words[7:11] = [0, 0, 0, 0]
    body[:0x40] = struct.pack("<16I", *words)
    for index in range(0x1000, 0x3000, 16):  # a pointer table into the strings at the end
        struct.pack_into("<I", body, index, link + size - 0x6000 + (index - 0x1000) * 2)
    return Image.from_segments([(load, bytes(body))])


def test_addresses_past_its_end_show_the_link_address_when_no_handler_is_a_stub() -> None:
    assert _check(_stubless_app(0x08008000, 0x08008000)).ok
    message = _linked_elsewhere(_check(_stubless_app(0x08008000, 0x0800C000)))
    assert "addresses it holds lie past its end" in message
    assert "it was linked for about 0x0800" in message
    assert "but is being loaded at 0x08008000" in message


def test_linked_lower_names_the_link_address_its_stubs_confirm() -> None:
    # handlers outside the image; several sector starts move them all inside it, and only
    # the true link address puts the stubs where the vectors say (ST's Cube L4 DFU samples,
    # linked for 0x0800C000, were reported as linked for 0x0800C800 on a 2 KiB-page layout)
    image = _app(0x0800C000, 0x0800C000, CUBE_OS, size=0x1000)
    data = image.read(image.start, image.end - image.start)
    for load in (0x08008000, 0x08004000, 0x0800B000):
        placed = Image.from_segments([(load, data)])
        message = _linked_elsewhere(_check(placed))
        assert f"it was linked for 0x0800c000 but is being loaded at 0x{load:08x}" in message
