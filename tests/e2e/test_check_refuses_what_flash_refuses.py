"""``dfuse check`` refuses every option-byte and OTP file ``dfuse flash`` refuses, with the
same finding code as flash's error and the same exit status, whichever board it checks
against: a profile (``--profile``), the ``--sim`` profile, or the device itself
(``--no-profile``). One rule set (ops.hazards) serves all four."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pydfuse.cli.main import main

Capsys = pytest.CaptureFixture[str]
F4 = "stm32f4-rom"
FILES = {
    # RDP level 2 in the F4 row (RM0090 §3.7.3): never written
    "level-2": ("1", 0x1FFFC000, "ffcc0033ffcc0033ffff0000ffff0000", "protection.option-bytes"),
    # RDP 0xFF: level 1, read protection turned on (needs --force)
    "level-1": ("1", 0x1FFFC000, "ffff0000ffff0000ffff0000ffff0000", "protection.option-bytes"),
    # SPRMOD 1 -> 0 on the F405's factory block (RM0090 §3.7.5; needs --force)
    "sprmod": ("1", 0x1FFFC000, "ffaa0055ffaa0055ff7f0080ff7f0080", "protection.option-bytes"),
    # LOCKB0 = 0x00: OTP block 0 locked for good (RM0090 §3.8; needs --force)
    "otp-lock": ("2", 0x1FFF7A00, "00", "protection.otp"),
}
CHECKS = {
    "profile": ["check", "--profile", F4],
    "sim": ["--sim", F4, "check"],
    "device": ["--sim", F4, "check", "--no-profile"],
}


@pytest.mark.parametrize("name", sorted(FILES))
def test_check_reports_flash_s_refusal_with_its_code_and_exit_status(
    capsys: Capsys, tmp_path: Path, name: str
) -> None:
    alt, address, hexed, code = FILES[name]
    path = tmp_path / f"{name}.bin"
    path.write_bytes(bytes.fromhex(hexed))
    state = tmp_path / "board.json"
    sim = ["--sim", F4, "--sim-state", str(state)]
    refused = main([*sim, "flash", "-a", alt, f"{path}@{address:#x}", "--json"])
    error = json.loads(capsys.readouterr().out)
    assert refused == 3 and error["code"] == code
    for how, words in CHECKS.items():
        status = main([*words, "--alt", alt, f"{path}@{address:#x}", "--json"])
        doc = json.loads(capsys.readouterr().out)
        found = [f for t in doc["targets"] for f in t["findings"] if f["severity"] == "error"]
        assert (how, status, doc["ok"]) == (how, refused, False)
        assert (how, [f["code"] for f in found]) == (how, [code])
        assert error["error"] in found[0]["message"]
