"""Starting and stopping the local web server: bind, token, uvicorn, the browser
(layer: gui; imports uvicorn, ``pydfuse.errors`` and the sibling gui modules).

The socket is bound here, before uvicorn starts, so the URL (with its random port) is known
at once and a refused address is an ordinary one-line error. :meth:`GuiServer.run` serves in
the calling thread until Ctrl-C; :meth:`GuiServer.start` serves on a background thread (for
tests and embedding) until :meth:`GuiServer.stop`.
"""

from __future__ import annotations

import errno
import socket
import threading
import webbrowser
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from pydfuse.errors import DfuseError
from pydfuse.gui.app import GuiState, gated
from pydfuse.gui.devicework import DeviceHub
from pydfuse.gui.jobs import DeviceWorker
from pydfuse.gui.security import check_bind_host, is_loopback, new_token
from pydfuse.gui.store import FileStore

DEFAULT_MAX_UPLOAD = 64 << 20  # 64 MiB: a 16 MiB image as Intel HEX is about 45 MiB


@dataclass(frozen=True, slots=True)
class GuiOptions:
    """How ``dfuse gui`` was asked to run."""

    host: str = "127.0.0.1"
    port: int = 0  # 0: a free port chosen by the system
    allow_remote: bool = False
    sim_profile: str | None = None
    sim_state: Path | None = None
    sim_realtime: bool = False
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD
    token: str | None = None  # None: a fresh random token


def _bind(host: str, port: int) -> socket.socket:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise DfuseError(f"cannot listen on {host}: {error.strerror}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(64)
    except OSError as error:
        sock.close()
        hint = "choose another --port, or leave it out for a free one"
        if error.errno != errno.EADDRINUSE:
            hint = "check --host: it must be an address of this machine"
        raise DfuseError(f"cannot listen on {host}:{port}: {error.strerror}", hint=hint) from None
    return sock


class GuiServer:
    """The page's server: bound at construction, served by :meth:`run` or :meth:`start`."""

    def __init__(self, options: GuiOptions) -> None:
        check_bind_host(options.host, allow_remote=options.allow_remote)
        self.options = options
        self.token = options.token or new_token()
        store = FileStore(
            max_file_bytes=options.max_upload_bytes,
            max_total_bytes=4 * options.max_upload_bytes,
        )
        hub = DeviceHub(
            store,
            sim_profile=options.sim_profile,
            sim_state=options.sim_state,
            sim_realtime=options.sim_realtime,
        )
        worker = DeviceWorker(after=hub.release)
        self.state = GuiState(store, hub, worker, options.max_upload_bytes)
        self._socket = _bind(options.host, options.port)
        app = gated(self.state, self.token, loopback_only=is_loopback(options.host))
        config = uvicorn.Config(
            app,
            log_level="warning",
            lifespan="off",
            access_log=False,
            timeout_graceful_shutdown=2,
            server_header=False,
        )
        self._server = uvicorn.Server(config)
        self.state.stopping = lambda: bool(self._server.should_exit)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._socket.getsockname()[1])

    @property
    def url(self) -> str:
        """The page's address, token included."""
        host = self.options.host
        shown = f"[{host}]" if ":" in host else host
        if host in ("0.0.0.0", "::"):
            shown = "127.0.0.1"
        return f"http://{shown}:{self.port}/{self.token}/"

    def open_browser(self) -> bool:
        """Open the page in the user's browser; False when there is none."""
        try:
            return webbrowser.open(self.url)
        except webbrowser.Error:
            return False

    def run(self) -> None:
        """Serve until interrupted (Ctrl-C), then wait for a running device operation."""
        try:
            self._server.run(sockets=[self._socket])
        finally:
            self._close()

    def start(self) -> None:
        """Serve on a background thread; returns once the server accepts requests."""
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise DfuseError("the GUI server stopped while starting")
            self._thread.join(0.01)

    def stop(self) -> None:
        """Stop a server started with :meth:`start`."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
        self._close()

    def _close(self) -> None:
        self.state.worker.close()
        self.state.hub.close()
        self._socket.close()
