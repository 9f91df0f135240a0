"""An armed fault fires or stays armed: it never disappears unfired (issue #9). ``dfuse sim
fault unplug 0`` is refused: it would have to fire before any transfer, and the next command
plugs the board back in."""

from __future__ import annotations

import json

import pytest

from pydfuse.cli.main import ExitCode, main
from pydfuse.sim.faults import Faults

PROFILE = "stm3210e-eval"


def _faults(sim: list[str], capsys: pytest.CaptureFixture[str]) -> list[str]:
    capsys.readouterr()
    assert main([*sim, "sim", "status", "--json"]) == 0
    return list(json.loads(capsys.readouterr().out)["faults"])


def test_unplug_zero_is_refused_and_nothing_is_armed(
    sim: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*sim, "sim", "fault", "unplug", "0"]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "0 would never fire" in err and "Traceback" not in err
    assert _faults(sim, capsys) == []
    with pytest.raises(ValueError, match="must be >= 1"):
        Faults().disconnect_after(0)


def test_unplug_one_fires_on_the_next_transfer(
    sim: list[str], app: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*sim, "sim", "fault", "unplug", "1"]) == 0
    # The cable goes after the first transfer, while the device is being looked at.
    assert main([*sim, "flash", app]) != 0
    assert "Traceback" not in capsys.readouterr().err
    assert _faults(sim, capsys) == []


@pytest.mark.parametrize(
    "arm",
    [
        ["erase", "errERASE"],
        ["program", "errPROG"],
        ["upload", "errVERIFY"],  # a read: the verify step, or delta flash's compare
        ["command", "errTARGET"],
        ["stall"],  # retried by the host
        ["timeout"],
        ["unplug", "25"],
    ],
)
def test_each_fault_fires_in_a_flash(
    sim: list[str], app: str, arm: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*sim, "sim", "fault", *arm]) == 0
    assert len(_faults(sim, capsys)) == 1
    main([*sim, "flash", app])  # fails, warns or recovers: the fault has met its request
    assert "Traceback" not in capsys.readouterr().err
    assert _faults(sim, capsys) == []


def test_a_fault_the_command_cannot_meet_stays_armed(
    sim: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*sim, "sim", "fault", "program", "errPROG"]) == 0
    assert main([*sim, "erase", "--address", "0x08003000"]) == 0  # no program in an erase
    assert _faults(sim, capsys) == ["next program fails with ERR_PROG"]
