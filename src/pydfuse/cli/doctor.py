"""Commands: doctor, udev-rules — what stands between you and the board (layer: cli).

``doctor`` prints every DFU-looking device with a verdict and the fix; exit 0 when a device is
ready in DFU mode and nothing is in the way, 1 otherwise (so a setup script can test it).
``udev-rules`` prints the Linux rules for every known DFU bootloader; ``--install`` writes them
and makes udev apply them.
"""

from __future__ import annotations

from pathlib import Path

import click

from pydfuse import ops
from pydfuse.cli.context import json_option, settings
from pydfuse.cli.render import echo, emit_json
from pydfuse.cli.session import environment, sim_profile

_MARKS = {"ok": "ok", "note": "note", "problem": "PROBLEM"}


@click.command("doctor")
@json_option
def doctor_command(as_json: bool) -> int:
    """Look at the USB bus and say what stands in the way: no libusb, no permission (with the
    udev rule), another program or a kernel driver holding the device, Windows without WinUSB,
    a board running its application (how to enter DFU mode). Changes nothing."""
    if sim_profile() is not None:
        with environment() as env:
            report = ops.doctor(env)
    else:
        report = ops.doctor(ops.Environment())  # libusb loaded inside, so its absence is told
    if as_json:
        emit_json(report.to_dict())
        return 0 if report.ok else 1
    echo(f"platform {report.platform}, libusb {'found' if report.backend else 'NOT FOUND'}")
    for finding in report.findings:
        where = f"{finding.device}: " if finding.device else ""
        echo(f"{_MARKS[finding.level]}: {where}{finding.what}")
        for fix in finding.fix:
            echo(f"    - {fix}")
    if not settings().quiet:
        echo("all good: a DFU device is ready" if report.ok else "see above for what to change")
    return 0 if report.ok else 1


@click.command("udev-rules")
@click.option(
    "--install", is_flag=True, help="Write the rules and make udev apply them (needs root)."
)
@click.option(
    "--path",
    "rules_path",
    type=click.Path(path_type=Path),
    default=str(ops.UDEV_RULES_PATH),
    show_default=True,
    help="Where --install writes the rules.",
)
@click.option(
    "--reload/--no-reload",
    default=True,
    show_default=True,
    help="With --install: udevadm reload + trigger, so no replug is needed.",
)
@json_option
def udev_rules_command(install: bool, rules_path: Path, reload: bool, as_json: bool) -> None:
    """Print (or --install) the Linux udev rules that let you use DFU bootloaders without
    root: ST, GD32, AT32, Black Magic Probe, dapboot, Maple, Particle, Atmel."""
    if not install:
        text = ops.udev_rules()
        if as_json:
            emit_json({"rules": text.splitlines(), "path": str(rules_path), "installed": False})
        else:
            click.echo(text, nl=False)
        return
    done = ops.install_udev_rules(rules_path, reload=reload)
    if as_json:
        emit_json({"path": str(rules_path), "installed": True, "done": done})
        return
    for line in done:
        echo(line)
