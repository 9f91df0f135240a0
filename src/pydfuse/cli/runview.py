"""How a run of the application is shown: ``check --run``, ``sim status``, after ``leave``
(layer: cli; rich only inside :func:`render_run`, so the one-line forms cost no import)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydfuse.cli.render import hex32

if TYPE_CHECKING:
    from rich.console import Console

    from pydfuse.ops.run import RunReport

__all__ = ["board_run_note", "render_run", "run_summary"]

_STYLES = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def run_summary(report: RunReport) -> str:
    """One line: how the run ended, and the worst thing it showed."""
    result = report.result
    if result.stop == "not-run":
        return "not run (the Cortex-M core needs: pip install 'pydfuse[run]')"
    errors = [f for f in report.findings if f.severity == "error"]
    if errors:
        return f"{errors[0].code}: {errors[0].message}"
    vtor = f"VTOR {hex32(result.vtor)}"
    if result.main_loop:
        return f"reached its main loop ({result.stop}), {vtor}"
    if result.stop == "budget":
        return (
            f"still running after {result.budget:,} instructions (its main loop, or a wait), {vtor}"
        )
    warnings = [f for f in report.findings if f.severity == "warning"]
    if warnings:
        return f"{warnings[0].code}: {warnings[0].message}"
    if result.stop == "exception":
        return f"stopped where the core takes the {result.exception} exception, {vtor}"
    return f"stopped: {result.stop}"


def board_run_note(board: Any) -> str:
    """What the application the virtual board runs did, in a few words ('' when not run)."""
    if board.running != "application" or board.app_run is None:
        return ""
    from pydfuse.ops.run import report_run

    report = report_run(board.app_run, board.profile)
    result = report.result
    errors = [f.code for f in report.findings if f.severity == "error"]
    if errors:
        return f"; its run found {', '.join(errors)} (dfuse sim status shows what to fix)"
    if result.stop == "not-run":
        return "; not run (pip install 'pydfuse[run]')"
    if result.main_loop:
        return "; it reached its main loop"
    if result.stop == "budget":
        return (
            f"; still running after {result.budget:,} instructions (dfuse sim status shows where)"
        )
    warnings = [f.code for f in report.findings if f.severity == "warning"]
    if warnings:
        return f"; its run warns {', '.join(dict.fromkeys(warnings))} (dfuse sim status)"
    return ""


def render_run(out: Console, report: RunReport, *, quiet: bool = False) -> None:
    """The run's start, its findings (with fixes), the peripherals it wrote and a verdict."""
    from rich.text import Text

    result = report.result
    if not quiet:
        start = f"application at {hex32(result.table)}"
        if result.initial_sp is not None and result.reset_handler is not None:
            reset = report.functions.get(result.reset_handler & ~1)
            named = f" ({reset})" if reset else ""
            start += f", SP {hex32(result.initial_sp)}, reset {hex32(result.reset_handler)}{named}"
        out.print(f"run on {report.board}: {start}")
    for finding in report.findings:
        if quiet and finding.severity == "info":
            continue
        line = Text(f"  {finding.severity:<7} ", style=_STYLES[finding.severity])
        line.append(f"{finding.code}: ", style="dim")
        line.append(finding.message)
        out.print(line)
        for fix in finding.fix:
            out.print(Text(f"          fix: {fix}"))
    if not quiet and result.peripheral_writes:
        writes = ", ".join(f"{name} {count}" for name, count in result.peripheral_writes.items())
        out.print(Text(f"  registers written: {writes}", style="dim"))
    if report.ok:
        out.print(Text(f"RUN OK: {run_summary(report)}", style="bold green"))
    else:
        errors = sum(1 for f in report.findings if f.severity == "error")
        out.print(Text(f"RUN FAILED: {errors} error{'s' if errors != 1 else ''}", style="bold red"))
