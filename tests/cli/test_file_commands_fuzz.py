"""Property tests: no input file makes a file command crash.

Whatever bytes a file holds, under whatever extension, ``info``, ``check``, ``unpack`` and
``pack`` end with an exit code from the README table (0, 1 or 3) — never an exception escaping
``main``. Inputs are valid files with a few bytes changed, cut short, or arbitrary bytes.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pydfuse.cli.main import main
from pydfuse.demoapp import build_data_blob, build_demo_app
from pydfuse.formats import pack_images, save_image

EXTENSIONS = (".dfu", ".hex", ".s19", ".elf", ".bin")


def _valid_files() -> dict[str, bytes]:
    with tempfile.TemporaryDirectory() as tmp:
        app = build_demo_app(size=1024)
        out: dict[str, bytes] = {}
        for ext in (".hex", ".s19"):
            save_image(app, Path(tmp) / f"app{ext}")
            out[ext] = (Path(tmp) / f"app{ext}").read_bytes()
        dfu = pack_images([(0, "Internal Flash", app), (1, "SPI", build_data_blob(0, 300))])
        out[".dfu"] = dfu.to_bytes()
        return out


VALID = _valid_files()


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from([*VALID, "random"]))
    if kind == "random":
        return draw(st.binary(max_size=600))
    data = bytearray(VALID[kind])
    for _ in range(draw(st.integers(0, 4))):
        position = draw(st.integers(0, len(data) - 1))
        data[position] = draw(st.integers(0, 255))
    cut = draw(st.one_of(st.none(), st.integers(0, len(data))))
    return bytes(data[:cut] if cut is not None else data)


@settings(deadline=None)  # examples: the profile's (150 by default, many more with make fuzz)
@given(data=damaged(), ext=st.sampled_from(EXTENSIONS))
def test_file_commands_never_crash(data: bytes, ext: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"input{ext}"
        path.write_bytes(data)
        source = f"{path}@0x08003000" if ext == ".bin" else str(path)
        runs = [
            ["-q", "info", str(path), "--json"],
            ["-q", "check", str(path), "--profile", "stm3210e-eval", "--address", "0x08003000"]
            if ext == ".bin"
            else ["-q", "check", str(path), "--profile", "stm3210e-eval", "--json"],
            ["-q", "unpack", str(path), "-o", str(Path(tmp) / "out")],
            ["-q", "pack", str(Path(tmp) / "packed.dfu"), "-t", f"0={source}"],
        ]
        for args in runs:
            assert main(args) in (0, 1, 3), args


@pytest.mark.parametrize("ext", sorted(VALID))
def test_valid_inputs_still_pass(tmp_path: Path, ext: str) -> None:
    # the property above must not be vacuous: the undamaged files are accepted
    path = tmp_path / f"input{ext}"
    path.write_bytes(VALID[ext])
    assert main(["-q", "info", str(path)]) == 0
    assert main(["-q", "check", str(path), "--profile", "stm3210e-eval"]) == 0


OPTION_TEXT = st.one_of(
    st.sampled_from(["0", "-1", "0x", "4G", "16K", "1M", "0xFFFFFFFF", "0x64000000", "SPI", ":"]),
    st.text(alphabet="0123456789abcdefxXkKmM:-_ @", max_size=12),
)


@settings(deadline=None)
@given(
    command=st.sampled_from(["upload", "erase", "flash", "leave", "list"]),
    option=st.sampled_from(["--address", "--length", "-a", "-d", "-s", "-S", "-p"]),
    value=OPTION_TEXT,
)
def test_device_command_options_never_crash(command: str, option: str, value: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        blob = Path(tmp) / "data.bin"
        blob.write_bytes(b"\x5a" * 64)
        args = {
            "upload": ["upload", str(Path(tmp) / "out.bin")],
            "erase": ["erase"],
            "flash": ["flash", str(blob), "--dry-run"],
            "leave": ["leave"],
            "list": ["list"],
        }[command]
        code = main(["-q", "--sim", "stm3210e-eval", *args, option, value])
        assert code in (0, 1, 2, 3, 4, 5), (args, option, value)
