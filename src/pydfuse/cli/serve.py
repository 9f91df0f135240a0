"""Command: ``dfuse sim serve`` — the virtual board on the real USB bus over USB/IP (layer: cli).

A thin wrapper over :class:`pydfuse.sim.usbip.UsbipServer`: open the ``--sim`` board (loaded
from and saved back to ``--sim-state``), serve it until Ctrl-C or SIGTERM, print what to run next
and one line per event (``--json``: one JSON object per line). ``--attach`` runs Linux's
``usbip attach`` against the server, at start and after every re-enumeration, so to the
operating system the board looks like one being replugged.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from pydfuse.cli.context import json_option, settings
from pydfuse.cli.session import board_summary, environment, sim_profile, single_board
from pydfuse.errors import DfuseError
from pydfuse.ops.listen import is_loopback

USBIP_PORT = 3240
_VHCI = Path("/sys/devices/platform/vhci_hcd.0")


def attach_host(host: str) -> str:
    """Where a client on this machine reaches the server (a wildcard listens on loopback too)."""
    return "127.0.0.1" if host in ("0.0.0.0", "", "::") else host


def usbip_command(host: str, port: int, busid: str = "1-1") -> list[str]:
    """Linux's ``usbip attach`` for the server (``--tcp-port`` only for another port)."""
    port_args = [] if port == USBIP_PORT else ["--tcp-port", str(port)]
    return ["usbip", *port_args, "attach", "-r", attach_host(host), "-b", busid]


def windows_command(host: str, port: int, busid: str = "1-1") -> list[str]:
    """usbip-win2's attach command (untested here: no Windows machine)."""
    port_args = [] if port == USBIP_PORT else ["--tcp-port", str(port)]
    return ["usbip.exe", *port_args, "attach", "-r", attach_host(host), "-b", busid]


def _check_attach() -> None:
    """Refuse ``--attach`` where it cannot work, before anything is served."""
    if not sys.platform.startswith("linux"):
        raise DfuseError(
            "--attach runs Linux's usbip: it works on Linux only",
            hint="attach with your system's USB/IP client instead (see the lines printed)",
        )
    if shutil.which("usbip") is None:
        raise DfuseError(
            "--attach needs the usbip tool", hint="install it (Debian/Ubuntu: apt install usbip)"
        )
    if os.geteuid() != 0:
        raise DfuseError("--attach needs root (usbip attach does)", hint="run it with sudo")


class _Printer:
    """Text or JSON lines on stdout; warnings on stderr; quiet keeps warnings only."""

    def __init__(self, *, as_json: bool, quiet: bool) -> None:
        self.as_json = as_json
        self.quiet = quiet

    def event(self, kind: str, text: str, **fields: Any) -> None:
        if self.as_json:
            record = {"event": kind, "message": text, **fields}
            click.echo(json.dumps(record, sort_keys=False))
        elif not self.quiet:
            click.echo(text)

    def warn(self, text: str) -> None:
        if self.as_json:
            self.event("warning", text)
        click.echo(f"warning: {text}", err=True)


def _next_steps(printer: _Printer, board: Any, host: str, port: int, state: Path | None) -> None:
    linux = " ".join(usbip_command(host, port))
    windows = " ".join(windows_command(host, port))
    summary = board_summary(board)
    printer.event(
        "serving",
        f"serving the virtual {summary['profile']} (serial {summary['serial']}, running "
        f"{summary['running']}) over USB/IP on {host}:{port}, bus id 1-1",
        host=host,
        port=port,
        busid="1-1",
        attach=usbip_command(host, port),
        sim=summary,
    )
    if printer.as_json or printer.quiet:
        return
    click.echo("next, on Linux (as root):")
    click.echo(f"  modprobe vhci-hcd && {linux}")
    click.echo("  dfu-util -l          (or: dfuse list)")
    click.echo(f"on Windows with usbip-win2 (untested): {windows}")
    saved = f" and saves the board to {state}" if state is not None else ""
    click.echo(f"Ctrl-C stops the server{saved}; SIGHUP power-cycles the board.")


async def _attach(printer: _Printer, host: str, port: int) -> None:
    """Run ``usbip attach`` (a few tries: the kernel may still be tearing the old port down)."""
    command = usbip_command(host, port)
    if not _VHCI.exists():
        printer.event("attach", "loading vhci-hcd (modprobe vhci-hcd)")
        await _run(["modprobe", "vhci-hcd"])
    for attempt in range(3):
        code, output = await _run(command)
        if code == 0:
            printer.event("attach", f"attached: {' '.join(command)}", command=command)
            return
        if attempt < 2:
            await asyncio.sleep(0.5)
    printer.warn(f"{' '.join(command)} failed ({code}): {output.strip()}")


async def _run(command: list[str]) -> tuple[int, str]:
    try:
        process = await asyncio.create_subprocess_exec(
            *command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
    except OSError as error:
        return 127, str(error)
    out, _ = await process.communicate()
    return int(process.returncode or 0), out.decode(errors="replace")


def _bind_error(error: OSError, host: str, port: int) -> DfuseError:
    """A failed bind as one line with what to do about it."""
    where = f"cannot listen on {host}:{port}"
    if error.errno == errno.EADDRINUSE:
        return DfuseError(
            f"{where}: the port is in use",
            hint="another USB/IP server (usbipd, dfuse sim serve) may run there: try --port",
        )
    if error.errno == errno.EADDRNOTAVAIL:
        return DfuseError(
            f"{where}: not an address of this machine", hint="leave out --host for 127.0.0.1"
        )
    if error.errno == errno.EACCES:
        return DfuseError(f"{where}: permission denied", hint="use a port above 1023")
    return DfuseError(f"{where}: {error.strerror or error}")


async def _serve(
    board: Any, printer: _Printer, *, host: str, port: int, max_clients: int, attach: bool
) -> Any:
    from pydfuse.sim.usbip import ServeEvent, UsbipServer

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows: KeyboardInterrupt
            loop.add_signal_handler(signum, stop.set)
    tasks: set[asyncio.Task[None]] = set()

    def power_cycle() -> None:
        printer.event("power-cycle", "SIGHUP: power-cycling the board (cable plugged back in)")
        task = loop.create_task(server.power_cycle())
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    if hasattr(signal, "SIGHUP"):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGHUP, power_cycle)

    announced = False  # the first offer is part of the "serving" line and the next steps

    def on_event(event: ServeEvent) -> None:
        if event.kind == "listening" or (event.kind == "offered" and not announced):
            if attach and event.kind == "offered":
                loop.call_soon(schedule_attach)
            return
        fields = {k: v for k, v in asdict(event).items() if v is not None and k != "kind"}
        where = f"{event.peer}: " if event.peer else ""
        hint = " (attach it again)" if event.kind == "offered" and not attach else ""
        printer.event(event.kind, where + event.message + hint, **fields)
        if attach and event.kind == "offered":
            schedule_attach()

    def schedule_attach() -> None:
        task = loop.create_task(_attach(printer, host, server.port))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    server = UsbipServer(board, host=host, port=port, max_clients=max_clients, on_event=on_event)
    try:
        await server.start()
    except OSError as error:
        raise _bind_error(error, host, port) from error
    _next_steps(printer, board, host, server.port, settings().sim_state)
    announced = True
    try:
        await server.serve_until(stop)
    finally:
        for task in tasks:
            task.cancel()
    return server


@click.command("serve")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. Anything but loopback lets other machines import the board "
    "(USB/IP has no authentication) and is printed with a warning.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=USBIP_PORT,
    show_default=True,
    help="TCP port (0: any free port, printed).",
)
@click.option(
    "--max-clients",
    type=click.IntRange(1, 64),
    default=4,
    show_default=True,
    help="Open connections at most; more are closed at once.",
)
@click.option(
    "--attach",
    is_flag=True,
    help="Linux, root: run `usbip attach` now and after every re-enumeration (needs the "
    "vhci-hcd module), so the board looks like one being replugged.",
)
@json_option
def serve_command(host: str, port: int, max_clients: int, attach: bool, as_json: bool) -> None:
    """Export the --sim board over USB/IP: dfu-util, STM32CubeProgrammer, a browser or any
    other tool then sees it as a USB device (after `usbip attach`). Serves until Ctrl-C or
    SIGTERM and saves the board to --sim-state on exit. --json prints one JSON object per
    line for each event (serving, imported, closed, offered, ..., stopped).

    After a DfuSe leave the board re-enumerates in run-time mode, after a detach in DFU mode:
    the server then closes the connection (the client sees an unplug) and offers the new
    device under the same bus id; attach again, or give --attach. A pulled-cable fault takes
    the board off the bus; SIGHUP (kill -HUP PID) power-cycles it, as plugging it back in.
    """
    if sim_profile() is None:
        raise click.UsageError("sim serve exports the virtual board: give --sim PROFILE")
    if settings().sim_boards != 1:
        raise click.UsageError("sim serve exports one board: leave out --sim-boards")
    if settings().trace is not None:
        raise click.UsageError(
            "--trace records what this program sends to a device; with sim serve the USB/IP "
            "client is another program (use usbmon or Wireshark on its side)"
        )
    if attach:
        _check_attach()
    printer = _Printer(as_json=as_json, quiet=settings().quiet)
    if not is_loopback(host):
        printer.warn(
            f"listening on {host}: every machine that reaches this address can import the "
            "virtual board (USB/IP has no authentication)"
        )
    with environment() as env:
        board = single_board(env, "sim serve")
        # Where signal handlers are unavailable (Windows), Ctrl-C arrives as KeyboardInterrupt.
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(
                _serve(board, printer, host=host, port=port, max_clients=max_clients, attach=attach)
            )
        summary = board_summary(board)
    state = settings().sim_state
    saved = f"; board saved to {state}" if state is not None else ""
    printer.event("stopped", f"stopped (board running {summary['running']}){saved}", sim=summary)
