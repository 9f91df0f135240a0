"""Layout strings (§3 of dfuse-spec.md): every real string parses to the right sector table,
round-trips through the canonical form, and malformed input fails with a position."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pydfuse.errors import FormatError
from pydfuse.layout import MemoryMap, MemoryRegion, Sector, parse_layout
from pydfuse.spec import MemoryRights

K = 1024
R = MemoryRights.READABLE
RO = R
RWE = MemoryRights.READABLE | MemoryRights.ERASABLE | MemoryRights.WRITABLE
RW = MemoryRights.READABLE | MemoryRights.WRITABLE

# (string as reported, name, [(region address, [(count, size, rights), ...]), ...],
#  canonical form or None when the original already is canonical)
REAL = [
    (
        "@Internal Flash  /0x08000000/128*002Kg",
        "Internal Flash  ",
        [(0x08000000, [(128, 2 * K, RWE)])],
        None,
    ),
    ("@Option Bytes  /0x1FFFF800/01*016 g", "Option Bytes  ", [(0x1FFFF800, [(1, 16, RWE)])], None),
    (
        "@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg",
        "Internal Flash  ",
        [(0x08000000, [(4, 16 * K, RWE), (1, 64 * K, RWE), (7, 128 * K, RWE)])],
        None,
    ),
    ("@Option Bytes  /0x1FFFC000/01*016 e", "Option Bytes  ", [(0x1FFFC000, [(1, 16, RW)])], None),
    (
        "@OTP Memory /0x1FFF7800/01*512 e,01*016 e",
        "OTP Memory ",
        [(0x1FFF7800, [(1, 512, RW), (1, 16, RW)])],
        None,
    ),
    ("@Device Feature/0xFFFF0000/01*004 e", "Device Feature", [(0xFFFF0000, [(1, 4, RW)])], None),
    (
        "@Internal Flash  /0x08000000/064*0002Kg",
        "Internal Flash  ",
        [(0x08000000, [(64, 2 * K, RWE)])],
        "@Internal Flash  /0x08000000/64*002Kg",
    ),
    ("@Option Bytes  /0x1FFFF800/01*016 e", "Option Bytes  ", [(0x1FFFF800, [(1, 16, RW)])], None),
    (
        "@Internal Flash  /0x08000000/12*001Ka,116*001Kg",
        "Internal Flash  ",
        [(0x08000000, [(12, K, RO), (116, K, RWE)])],
        None,
    ),
    (
        "@SPI Flash : M25P64/0x00000000/128*64Kg",
        "SPI Flash : M25P64",
        [(0, [(128, 64 * K, RWE)])],
        "@SPI Flash : M25P64/0x00000000/128*064Kg",
    ),
    (
        "@Internal Flash  /0x08000000/48*256 a,464*256 g",
        "Internal Flash  ",
        [(0x08000000, [(48, 256, RO), (464, 256, RWE)])],
        None,
    ),
    (
        "@Internal Flash  /0x08000000/48*256 a,1488*256 g",
        "Internal Flash  ",
        [(0x08000000, [(48, 256, RO), (1488, 256, RWE)])],
        None,
    ),
    (
        "@SPI Flash : M25P64/0x00000000/64*064Kg,64*064Kg",
        "SPI Flash : M25P64",
        [(0, [(64, 64 * K, RWE), (64, 64 * K, RWE)])],
        None,
    ),
    (
        "@Internal Flash  /0x08000000/20*001Ka,108*001Kg",
        "Internal Flash  ",
        [(0x08000000, [(20, K, RO), (108, K, RWE)])],
        None,
    ),
    (
        "@SPI Flash : SST25x/0x00000000/512*04Kg",
        "SPI Flash : SST25x",
        [(0, [(512, 4 * K, RWE)])],
        "@SPI Flash : SST25x/0x00000000/512*004Kg",
    ),
    (
        "@Internal Flash   /0x08000000/10*02Ka,502*02Kg",
        "Internal Flash   ",
        [(0x08000000, [(10, 2 * K, RO), (502, 2 * K, RWE)])],
        "@Internal Flash   /0x08000000/10*002Ka,502*002Kg",
    ),
    (
        "@Internal Flash   /0x08000000/03*016Ka,01*016Kg,01*064Kg,07*128Kg,04*016Kg,01*064Kg,"
        "07*128Kg",
        "Internal Flash   ",
        [
            (
                0x08000000,
                [
                    (3, 16 * K, RO),
                    (1, 16 * K, RWE),
                    (1, 64 * K, RWE),
                    (7, 128 * K, RWE),
                    (4, 16 * K, RWE),
                    (1, 64 * K, RWE),
                    (7, 128 * K, RWE),
                ],
            )
        ],
        None,
    ),
    (
        "@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg/0x80000000/64*32Kg/"
        "0x90000000/64*32Kg",
        "Internal Flash  ",
        [
            (0x08000000, [(4, 16 * K, RWE), (1, 64 * K, RWE), (7, 128 * K, RWE)]),
            (0x80000000, [(64, 32 * K, RWE)]),
            (0x90000000, [(64, 32 * K, RWE)]),
        ],
        "@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg/0x80000000/64*032Kg/"
        "0x90000000/64*032Kg",
    ),
    # §3.4, byte-exact with the descriptor padding
    (
        "@Internal Flash  /0x08000000/06*002Ka,250*002Kg\x00",
        "Internal Flash  ",
        [(0x08000000, [(6, 2 * K, RO), (250, 2 * K, RWE)])],
        "@Internal Flash  /0x08000000/06*002Ka,250*002Kg",
    ),
    (
        "@Internal Flash  /0x08000000/06*002Ka,506*002Kg\x00",
        "Internal Flash  ",
        [(0x08000000, [(6, 2 * K, RO), (506, 2 * K, RWE)])],
        "@Internal Flash  /0x08000000/06*002Ka,506*002Kg",
    ),
    (
        "@SPI Flash : M25P64/0x00000000/128*64Kg" + "\x00" * 9,
        "SPI Flash : M25P64",
        [(0, [(128, 64 * K, RWE)])],
        "@SPI Flash : M25P64/0x00000000/128*064Kg",
    ),
    (
        "@NOR Flash : M29W128F/0x64000000/0256*64Kg" + "\x00" * 10,
        "NOR Flash : M29W128F",
        [(0x64000000, [(256, 64 * K, RWE)])],
        "@NOR Flash : M29W128F/0x64000000/256*064Kg",
    ),
    (
        "@NOR Flash : M29W128G/0x64000000/128*128Kg" + "\x00" * 10,
        "NOR Flash : M29W128G",
        [(0x64000000, [(128, 128 * K, RWE)])],
        "@NOR Flash : M29W128G/0x64000000/128*128Kg",
    ),
    (
        "@NOR Flash : S29GL128/0x64000000/128*128Kg" + "\x00" * 10,
        "NOR Flash : S29GL128",
        [(0x64000000, [(128, 128 * K, RWE)])],
        "@NOR Flash : S29GL128/0x64000000/128*128Kg",
    ),
]


def _expected_sectors(regions: list[tuple[int, list[tuple[int, int, MemoryRights]]]]) -> list:
    out = []
    for address, groups in regions:
        for count, size, rights in groups:
            for _ in range(count):
                out.append(Sector(address, size, rights))
                address += size
    return out


@pytest.mark.parametrize(("text", "name", "regions", "canonical"), REAL)
def test_real_strings(text: str, name: str, regions: list, canonical: str | None) -> None:
    memory = parse_layout(text)
    assert memory.name == name
    assert list(memory.sectors) == _expected_sectors(regions)
    assert [r.address for r in memory.regions] == [a for a, _ in regions]
    assert [len(r.groups()) for r in memory.regions] == [len(g) for _, g in regions]
    expected_text = canonical if canonical is not None else text
    assert memory.to_string() == expected_text
    assert parse_layout(memory.to_string()) == memory


def test_stm3210e_alt0_queries() -> None:
    memory = parse_layout("@Internal Flash  /0x08000000/06*002Ka,250*002Kg\x00")
    assert (memory.start, memory.end, memory.size) == (0x08000000, 0x08080000, 512 * K)
    assert memory.label == "Internal Flash"
    boot = memory.sector_at(0x08002FFF)
    assert boot == Sector(0x08002800, 2 * K, RO)
    assert boot is not None and boot.readable and not boot.erasable and not boot.writable
    assert boot.letter == "a" and boot.last == 0x08002FFF
    app = memory.sector_at(0x08003000)
    assert app is not None and app.writable and app.erasable and app.letter == "g"
    assert memory.sector_at(0x07FFFFFF) is None and memory.sector_at(0x08080000) is None
    assert memory.contains(0x0807FFFF) and not memory.contains(0x08080000)
    between = memory.sectors_between(0x08002FFF, 0x08003801)
    assert [s.address for s in between] == [0x08002800, 0x08003000, 0x08003800]
    assert memory.sectors_between(0x08003000, 0x08003000) == ()
    assert memory.describe_spans() == "0x08000000..0x0807ffff"


def test_multi_region_gaps_are_unmapped() -> None:
    memory = parse_layout(REAL[17][0])
    assert memory.sector_at(0x08100000) is None
    assert memory.sector_at(0x80000000) == Sector(0x80000000, 32 * K, RWE)
    assert memory.size == 1024 * K + 2 * 64 * 32 * K
    assert memory.describe_spans() == (
        "0x08000000..0x080fffff, 0x80000000..0x801fffff, 0x90000000..0x901fffff"
    )
    assert len(memory.sectors_between(0x080E0000, 0x80010000)) == 3


def test_quirky_groups_without_counts_and_upper_case() -> None:
    # §7 item 5 (MATEKF722SE): groups without counts, read as one sector each (dfu-util stops
    # reading there), with a note per group; §3.1: upper-case type letters.
    memory = parse_layout("@Internal Flash  /0x08000000/016Kg,64Kg,048 e,528e,02*001KG")
    assert [(s.size, s.rights) for s in memory.sectors] == [
        (16 * K, RWE),
        (64 * K, RWE),
        (48, RW),
        (528, RW),
        (K, RWE),
        (K, RWE),
    ]
    assert memory.to_string() == (
        "@Internal Flash  /0x08000000/01*016Kg,01*064Kg,01*048 e,01*528 e,02*001Kg"
    )
    assert len(memory.notes) == 4 and "'016Kg' has no count" in memory.notes[0]
    assert parse_layout("@X/0x0/2*1Mg").to_string() == "@X/0x00000000/02*001Mg"
    assert parse_layout("@X/0x0/1*1000Kg").to_string() == "@X/0x00000000/01*1000Kg"


@pytest.mark.parametrize(
    ("text", "sectors"),
    [
        # An AT32F415 ROM: a blank after the region slash (scanf's %d skips it).
        ("@Internal Flash  /0x08000000/ 128*1Kg", [(0x08000000, 128, K, RWE)]),
        # A SP Racing H7 bootloader: a zero-count group holds nothing.
        (
            "@External Flash /0x90000000/111*8Kg,16*8Kg,1*8Kg,128*8Kg,0*8Ka",
            [(0x90000000, 256, 8 * K, RWE)],
        ),
        # GD32VF103: 'B' multiplier, then the type.
        ("@Option Bytes  /0x1FFFF800/01*016Be", [(0x1FFFF800, 1, 16, RW)]),
        # A type letter in the multiplier place with no type after it: bytes of that type.
        ("@X/0x20000000/04*256e,1*1Kg", [(0x20000000, 4, 256, RW), (0x20000400, 1, K, RWE)]),
        # The F4 'Device Feature' memory is type e whatever its letter says (dfu-util quirk).
        ("@Device Feature/0xFFFF0000/01*004 g", [(0xFFFF0000, 1, 4, RW)]),
        # Blanks before SIZE, and a second region right after a group.
        ("@X/0x0/2* 1Kg/0x100000/1*2Ka", [(0, 2, K, RWE), (0x100000, 1, 2 * K, RO)]),
    ],
)
def test_strings_dfu_util_accepts(text: str, sectors: list[tuple[int, int, int, int]]) -> None:
    memory = parse_layout(text)
    expected = [
        Sector(address + i * size, size, rights)
        for address, count, size, rights in sectors
        for i in range(count)
    ]
    assert list(memory.sectors) == expected
    assert memory.notes == ()


@pytest.mark.parametrize(
    ("text", "kept", "note"),
    [
        # dfu-util skips a group whose type is not one character; what follows a ',' is lost.
        ("@X/0x0/1*1Kg,2*1Kgg,1*1Kg", 1, "'2*1Kgg' skipped: its type 'gg' is not one letter"),
        ("@X/0x0/2*1Kg ", 0 + 1, None),
        ("@X/0x0/1*1Kg,1*1kg", 2, "'k' is not a size multiplier (B, K or M), read as bytes"),
        ("@X/0x0/1*1Kg,,1*1Kg", 1, "text from position 13 (',1*1Kg') is not a sector group"),
        ("@X/0x0/1*1Kg/0x1", 1, "text from position 12 ('/0x1')"),
        ("@X/0x0/1*1Kg,1*16B", 1, "'1*16B' skipped: it has no type letter"),
    ],
)
def test_what_dfu_util_skips_is_noted(text: str, kept: int, note: str | None) -> None:
    if note is None:  # 'g ' is two characters: the only group is skipped, nothing is left
        with pytest.raises(FormatError, match="skipped: its type 'g ' is not one letter"):
            parse_layout(text)
        return
    memory = parse_layout(text)
    assert len(memory.sectors) == kept
    assert any(note in line for line in memory.notes), memory.notes


@pytest.mark.parametrize(
    ("text", "position", "words"),
    [
        ("Internal Flash  /0x08000000/06*002Ka", 0, "starts with '@'"),
        ("@Internal Flash", 15, "no '/0xADDRESS/'"),
        ("@/0x08000000/06*002Ka", 1, "no memory name"),
        ("@Flash/08000000/06*002Ka", 6, "expected '/0xADDRESS/'"),
        ("@Flash/0X08000000/06*002Ka", 6, "expected '/0xADDRESS/'"),
        ("@Flash/0x08000000/06*002Kz", 18, "type 'z', not a letter a..g"),
        ("@Flash/0x08000000/", 18, "no sector groups"),
        ("@Flash/0x08000000/K", 18, "bad sector group 'K'"),
        ("@Flash/0x08000000/00*002Ka", 26, "describes no sectors"),
        ("@Flash/0x108000000/1*1Kg", 6, "beyond 32 bits"),
        ("@Flash/0xFFFF0000/02*064Kg", 18, "32-bit address space"),
        ("@Flash/0x08000000/2*1Kg/0x08000400/1*1Kg", 6, "overlap at 0x08000400"),
    ],
)
def test_malformed_strings_name_the_position(text: str, position: int, words: str) -> None:
    with pytest.raises(FormatError) as info:
        parse_layout(text)
    assert f"at position {position}:" in str(info.value)
    assert words in str(info.value)


LETTERS = st.sampled_from("abcdefg")
GROUP = st.tuples(st.integers(1, 40), st.sampled_from([16, 256, 512, K, 2 * K, 64 * K]), LETTERS)


@given(
    name=st.text(
        st.characters(blacklist_characters="/\x00", codec="ascii"), min_size=1, max_size=20
    ),
    address=st.integers(0, 0x7FFFFFFF),
    groups=st.lists(GROUP, min_size=1, max_size=6),
)
def test_round_trip_of_generated_maps(
    name: str, address: int, groups: list[tuple[int, int, str]]
) -> None:
    text = f"@{name}/0x{address:x}/" + ",".join(f"{c}*{s}{t}" for c, s, t in groups)
    memory = parse_layout(text)
    assert parse_layout(memory.to_string()) == memory
    assert sum(s.size for s in memory.sectors) == sum(c * s for c, s, _ in groups)
    assert memory.regions[0].group_counts == tuple(c for c, _, _ in groups)


def test_region_built_by_hand_uses_maximal_runs() -> None:
    sectors = tuple(Sector(0x100 + i * 16, 16, RWE) for i in range(3))
    memory = MemoryMap("RAM", (MemoryRegion(0x100, sectors),))
    assert memory.to_string() == "@RAM/0x00000100/03*016 g"
    with pytest.raises(FormatError, match="not contiguous"):
        MemoryRegion(0x100, (Sector(0x100, 16, RWE), Sector(0x120, 16, RWE)))


@given(
    st.one_of(
        st.text(max_size=60),
        st.text(alphabet="@/0x123456789abcdefgKMB *,\x00", max_size=60).map(lambda t: "@" + t),
    )
)
def test_garbage_raises_only_format_error(text: str) -> None:
    try:
        memory = parse_layout(text)
    except FormatError as error:
        assert "malformed memory layout" in str(error)
    else:
        assert parse_layout(memory.to_string()) == memory
