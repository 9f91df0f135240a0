"""Commands: ``dfuse sim status|pin|reset|fault`` — the hands on the virtual board (layer: cli).

``dfuse sim serve`` (the board over USB/IP) lives in :mod:`pydfuse.cli.serve`.

What a developer does to a board on the desk, done to the ``--sim`` board: look at what it runs,
hold the DFU-enable pin, press reset or power-cycle it, and arm a failure (a DFU error status,
an unplugged cable mid-transfer, a stalled or timed-out request) for the next command, so a
script's error handling can be rehearsed without hardware. Changes persist in ``--sim-state``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from pydfuse import ops
from pydfuse.cli.context import json_option, settings
from pydfuse.cli.params import ADDRESS
from pydfuse.cli.render import console, emit_json, hex32, human_size
from pydfuse.cli.runview import render_run
from pydfuse.cli.serve import serve_command
from pydfuse.cli.session import board_summary, environment, sim_profile, single_board
from pydfuse.formats.symbols import Symbols, read_symbols
from pydfuse.ops.run import RunReport, report_run, symbols_check
from pydfuse.sim.faults import HOST_CONDITIONS
from pydfuse.spec import Status

JSON = json_option


@contextmanager
def _board(*, changes: bool) -> Iterator[Any]:
    """The ``--sim`` board (loaded from and saved back to ``--sim-state``)."""
    if sim_profile() is None:
        raise click.UsageError("sim commands act on the virtual board: give --sim PROFILE")
    if changes and settings().sim_state is None:
        raise click.UsageError("give --sim-state FILE to keep this change for later commands")
    with environment() as env:
        assert isinstance(env, ops.SimEnvironment)
        yield single_board(env, "this sim command")


def parse_status(text: str) -> Status:
    """``ERR_PROG``, ``errPROG``, ``prog`` or ``0x06`` -> Status.ERR_PROG."""
    key = text.strip().upper().replace("-", "_")
    if key.startswith("ERR") and not key.startswith("ERR_"):
        key = "ERR_" + key[3:]
    if not key.startswith("ERR_") and not key[:1].isdigit():
        key = "ERR_" + key
    try:
        status = Status(int(key, 0)) if key[:1].isdigit() else Status[key]
    except (KeyError, ValueError):
        names = ", ".join(s.name for s in Status if s is not Status.OK)
        raise click.BadParameter(
            f"{text!r} is not a DFU error status; use one of {names}"
        ) from None
    if status is Status.OK:
        raise click.BadParameter("a fault needs an error status, not OK")
    return status


def _status_dict(board: Any, run: RunReport | None) -> dict[str, Any]:
    memories = []
    for alt, memory in enumerate(board.memories):
        used = [data for _, data in memory.used_sectors()]
        memories.append(
            {
                "alt": alt,
                "layout": board.profile.alternates[alt].layout,
                # bytes that are not 0xFF; the sectors holding them are counted apart
                "bytes_not_erased": sum(len(data) - data.count(0xFF) for data in used),
                "sectors_in_use": len(used),
                "sector_bytes_in_use": sum(len(data) for data in used),
            }
        )
    return {
        **board_summary(board),
        "dfu_pin_held": board.dfu_pin_held,
        "usb_connected": board.usb_connected,
        "memories": memories,
        # RDP level in the option bytes of a ROM profile (#12), None where none is modeled
        "rdp_level": board.rdp_level if board.profile.option_bytes is not None else None,
        "faults": board.faults.armed(),
        "application": None if run is None else run.to_dict(),
    }


def _memory_use(memory: dict[str, Any]) -> str:
    """``893 B programmed (not 0xFF) in 1 sector of 2 KiB``, or ``erased``."""
    if not memory["sectors_in_use"]:
        return "erased"
    count = memory["sectors_in_use"]
    return (
        f"{human_size(memory['bytes_not_erased'])} programmed (not 0xFF) in {count} "
        f"sector{'s' if count != 1 else ''} of {human_size(memory['sector_bytes_in_use'])}"
    )


def _run_report(board: Any, symbols: Symbols | None, elf: Path | None) -> RunReport | None:
    """What the running application did on the board's core (None in DFU mode), with a
    warning when ``elf`` (the names' source) is not what the board holds."""
    if board.running != "application" or board.app_run is None:
        return None
    report = report_run(board.app_run, board.profile, symbols=symbols)
    if elf is None:
        return report

    def read(address: int, length: int) -> bytes | None:
        for memory in board.memories:
            if memory.contains(address, length):
                data: bytes = memory.read(address, length)
                return data
        return None

    return symbols_check(report, elf, read)


@click.group("sim")
def sim_group() -> None:
    """Act on the --sim virtual board: status, DFU pin, reset, armed faults."""


@sim_group.command("status")
@click.option(
    "--symbols",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="ELF",
    help="Name the functions of the application's run from this ELF's symbols.",
)
@JSON
def status_command(symbols: Path | None, as_json: bool) -> None:
    """Show what the virtual board runs, its pins, memory use, armed faults, and what the
    running application did on the board's Cortex-M core (main loop, VTOR, faults)."""
    names = read_symbols(symbols) if symbols is not None else None
    with _board(changes=False) as board:
        run = _run_report(board, names, symbols)
        info = _status_dict(board, run)
    if as_json:
        emit_json(info)
        return
    out = console()
    where = f" from {hex32(info['vector_table'])}" if info["vector_table"] else ""
    out.print(f"{info['profile']} serial {info['serial']}: running {info['running']}{where}")
    out.print(
        f"DFU-enable pin {'held' if info['dfu_pin_held'] else 'released'}, "
        f"USB {'connected' if info['usb_connected'] else 'disconnected'}"
    )
    for m in info["memories"]:
        out.print(f"alt {m['alt']} {m['layout']}: {_memory_use(m)}", markup=False)
    if info["rdp_level"] is not None:
        out.print(f"read protection (option bytes): level {info['rdp_level']}")
    for line in info["faults"]:
        out.print(f"armed fault: {line}")
    if run is not None:
        render_run(out, run, quiet=settings().quiet)


def _change(
    action: Callable[[Any], None],
    *,
    as_json: bool,
    said: Callable[[dict[str, Any]], str] | None = None,
) -> None:
    """Apply ``action`` to the board, save it, and print the board's status (``--json``) or
    what ``said`` makes of it (by default the armed faults): a change never passes without a
    word."""
    with _board(changes=True) as board:
        action(board)
        info = _status_dict(board, _run_report(board, None, None))
    if as_json:
        emit_json(info)
    elif not settings().quiet:
        console().print((said or _armed_faults)(info), markup=False)


def _armed_faults(info: dict[str, Any]) -> str:
    return f"armed faults: {'; '.join(info['faults']) or 'none'}"


@sim_group.command("pin")
@click.argument("state", type=click.Choice(["hold", "release"]))
@JSON
def pin_command(state: str, as_json: bool) -> None:
    """Hold or release the DFU-enable pin (GPIOA_0); the bootloader reads it at the next reset."""
    said = (
        "DFU-enable pin held: the bootloader stays in DFU mode at the next reset"
        if state == "hold"
        else "DFU-enable pin released: the next reset starts a valid application"
    )
    _change(lambda board: board.set_dfu_pin(state == "hold"), as_json=as_json, said=lambda _: said)


@sim_group.command("reset")
@click.option("--power-cycle", is_flag=True, help="Power off and on (forgets armed faults too).")
@JSON
def reset_command(power_cycle: bool, as_json: bool) -> None:
    """Press the reset button: the bootloader runs its boot check again."""

    def said(info: dict[str, Any]) -> str:
        app = info["running"] == "application"
        return f"running {info['running']}" + (
            f" from {hex32(info['vector_table'])}" if app else ""
        )

    _change(
        lambda board: board.power_cycle() if power_cycle else board.reset(),
        as_json=as_json,
        said=said,
    )


@sim_group.group("fault")
def fault_group() -> None:
    """Arm a failure for the next command (one-shot; kept in --sim-state until it fires)."""


_FAULT_HELP = {
    "program": "data block (a DfuSe write or a plain-DFU block)",
    "erase": "erase (page, sector or mass erase)",
    "upload": "UPLOAD of memory",
    "command": "other DfuSe command (Set Address, Get Commands, ...)",
}


def _status_fault_command(operation: str) -> click.Command:
    @click.command(operation)
    @click.argument("status", metavar="STATUS")
    @click.option("--address", type=ADDRESS, help="Only when the operation covers this address.")
    @JSON
    def command(status: str, address: int | None, as_json: bool) -> None:
        chosen = parse_status(status)
        _change(lambda board: board.faults.fail_next(operation, chosen, address), as_json=as_json)

    command.help = (
        f"Make the next {_FAULT_HELP[operation]} fail with the DFU error STATUS "
        f"(e.g. `dfuse sim fault {operation} errPROG`)."
    )
    return command


for _operation in _FAULT_HELP:
    fault_group.add_command(_status_fault_command(_operation))


@fault_group.command("unplug")
@click.argument("transfers", type=int)
@JSON
def fault_unplug(transfers: int, as_json: bool) -> None:
    """Pull the USB cable after TRANSFERS (1 or more) control transfers of the next commands
    (a device lost mid-flash); the command after that finds it plugged back in."""
    if not 1 <= transfers <= 10_000_000:
        # 0 would have to fire before any transfer, and the next command plugs the board back
        # in: an armed fault that could never fire. Refused rather than silently dropped.
        raise click.BadParameter(
            f"{transfers} is not in 1..10000000: the cable is pulled after that many control "
            "transfers (0 would never fire: the next command plugs the board back in)",
            param_hint="TRANSFERS",
        )
    _change(lambda board: board.faults.disconnect_after(transfers), as_json=as_json)


@fault_group.command("misread")
@click.argument("address", type=ADDRESS)
@JSON
def fault_misread(address: int, as_json: bool) -> None:
    """The next read (UPLOAD) covering ADDRESS returns that byte inverted; memory unchanged."""
    _change(lambda board: board.faults.garble_next_read(address), as_json=as_json)


@fault_group.command("stall")
@JSON
def fault_stall(as_json: bool) -> None:
    """Stall the next control transfer (libusb EPIPE)."""
    _change(lambda board: board.faults.stall_next(), as_json=as_json)


@fault_group.command("timeout")
@JSON
def fault_timeout(as_json: bool) -> None:
    """Time out the next control transfer (libusb ETIMEDOUT)."""
    _change(lambda board: board.faults.timeout_next(), as_json=as_json)


@fault_group.command("host")
@click.argument("condition", type=click.Choice([*HOST_CONDITIONS, "none"]))
@JSON
def fault_host(condition: str, as_json: bool) -> None:
    """Make the computer fail the way libusb fails, until cleared: access (no permission),
    busy (another program holds the device), kernel-driver, no-backend (no libusb), no-winusb
    (Windows without a WinUSB driver); none for a healthy host. `dfuse doctor` explains each."""
    chosen = None if condition == "none" else condition
    _change(lambda board: board.faults.set_host(chosen), as_json=as_json)


@fault_group.command("clear")
@JSON
def fault_clear(as_json: bool) -> None:
    """Disarm every fault (and the host condition)."""
    _change(lambda board: board.faults.clear(), as_json=as_json)


sim_group.add_command(serve_command)  # the board over USB/IP: pydfuse.cli.serve
