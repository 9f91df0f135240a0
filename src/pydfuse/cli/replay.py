"""Command: replay — a ``--trace`` file's host requests against a virtual board (layer: cli).

The board is ``--sim PROFILE`` (given to ``replay`` or before it), else the board the trace
was recorded on. Exit 0 when every answer matches the trace, 1 at the first difference (like
``cmp``), which is printed with the traced and the replayed answer.
"""

from __future__ import annotations

from pathlib import Path

import click

from pydfuse import ops
from pydfuse.cli.context import json_option, settings
from pydfuse.cli.render import echo, emit_json
from pydfuse.cli.session import environment, lookup_profile

DIFFERENT = 1


@click.command("replay")
@click.argument("trace_file", metavar="TRACE", type=click.Path(path_type=Path))
@click.option(
    "--sim",
    "profile_name",
    metavar="PROFILE",
    help="Virtual board to replay on (default: the board the trace was recorded on).",
)
@json_option
def replay_command(trace_file: Path, profile_name: str | None, as_json: bool) -> int:
    """Send the host requests of a --trace file to a virtual board at their traced times and
    report the first request the board answers differently (exit 1), or that none does.

    Record the trace where it goes wrong (dfuse --trace t.jsonl flash fw.dfu), then replay it
    on the simulator: a difference shows where the real bootloader and the model part.
    """
    header, records = ops.read_trace(trace_file)
    chosen = profile_name or settings().sim_profile or header.get("sim")
    if not chosen:
        raise click.UsageError(
            "this trace was recorded on hardware: give the virtual board, e.g. "
            "dfuse replay TRACE --sim stm3210e-eval"
        )
    lookup_profile(str(chosen), option="--sim")
    tracing = settings().trace
    if tracing is not None and tracing.resolve() == trace_file.resolve():
        raise click.UsageError("--trace would overwrite the trace being replayed")
    settings().sim_profile = str(chosen)
    with environment() as env:
        result = ops.replay_trace(env, (header, records))
    code = 0 if result.difference is None else DIFFERENT
    if as_json:
        emit_json({"trace": str(trace_file), "sim": chosen, **result.to_dict()})
        return code
    quiet = settings().quiet
    for note in result.notes:
        if not quiet:
            echo(f"note: {note}", err=True)
    if result.difference is None:
        if not quiet:
            echo(
                f"replayed {result.events} events on a virtual {chosen}: every answer is the "
                "same as in the trace"
            )
        return code
    diff = result.difference
    echo(f"first difference at event {diff.n} (t = {diff.t:.6f} s): {diff.request}")
    echo(f"  traced:   {diff.traced}")
    echo(f"  replayed: {diff.replayed}")
    if diff.request.startswith("open") and not quiet and settings().sim_state is None:
        echo(
            "note: the replay starts from a fresh board; if the traced device was in another "
            "state, give that board with --sim-state FILE",
            err=True,
        )
    return code
