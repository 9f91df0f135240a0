"""Command: gui — the local web page (layer: cli; imports click, the other cli modules and,
only when the command runs, ``pydfuse.gui``, which needs the ``gui`` extra).

Parses the options, starts :class:`pydfuse.gui.server.GuiServer` with the global ``--sim``,
``--sim-state`` and ``--sim-realtime`` settings, prints the page's address (with its access
token), opens the browser and serves until Ctrl-C.
"""

from __future__ import annotations

import contextlib
import json
import sys

import click

from pydfuse.cli.context import json_option, settings
from pydfuse.cli.params import SizeType
from pydfuse.cli.render import console
from pydfuse.cli.session import sim_profile
from pydfuse.errors import DfuseError
from pydfuse.formats import check_writable


@click.command("gui")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default="a free port",
    help="TCP port to listen on.",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. Anything but a loopback address needs --allow-remote.",
)
@click.option(
    "--allow-remote",
    is_flag=True,
    help="Allow listening on a non-loopback address (other machines can then reach the page; "
    "they still need the URL's token).",
)
@click.option("--no-browser", is_flag=True, help="Only print the address; open no browser.")
@click.option(
    "--max-upload",
    type=SizeType(minimum=1),
    default="64M",
    show_default=True,
    metavar="BYTES",
    help="Largest file the page may upload, e.g. 128M.",
)
@json_option
def gui_command(
    port: int, host: str, allow_remote: bool, no_browser: bool, max_upload: int, as_json: bool
) -> None:
    """Open the local web page: build .dfu files (like DFU File Manager) and upgrade devices
    (like DfuSe Demo), with the pre-flight checks drawn on each memory.

    The server listens on 127.0.0.1 on a free port; the printed address carries a random
    access token, without which it refuses every request. Add --sim PROFILE to work on a
    virtual board. With --json the address is printed as one JSON line ({url, host, port})
    once the server listens. Stop it with Ctrl-C.
    """
    try:
        from pydfuse.gui.server import GuiOptions, GuiServer
    except ImportError as error:  # starlette/uvicorn missing
        raise DfuseError(
            f"the GUI needs packages that are not installed ({error.name})",
            hint="pip install 'pydfuse[gui]'",
        ) from None
    profile = sim_profile()
    state = settings().sim_state
    if state is not None:
        check_writable(state, what="keep the virtual board in")
    server = GuiServer(
        GuiOptions(
            host=host,
            port=port,
            allow_remote=allow_remote,
            sim_profile=profile.name if profile is not None else None,
            sim_state=state,
            sim_realtime=settings().sim_realtime,
            max_upload_bytes=max_upload,
        )
    )
    if as_json:
        sys.stdout.write(json.dumps({"url": server.url, "host": host, "port": server.port}) + "\n")
        sys.stdout.flush()
    else:
        where = f" on the virtual {profile.name}" if profile is not None else ""
        console().print(f"pydfuse GUI{where}: {server.url}")
        console().print("keep this address to yourself (it carries the access token); Ctrl-C stops")
    if not no_browser and not server.open_browser() and not as_json:
        console().print("no browser could be opened: open the address above yourself")
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how a server stops: no failure
        server.run()
    if not as_json and not settings().quiet:
        console().print("pydfuse GUI stopped")


def register(group: click.Group) -> None:
    """Add this module's command to ``group``."""
    group.add_command(gui_command)
