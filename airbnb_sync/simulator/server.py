"""The simulator's HTTP server: Airbnb's /api/v3/ plus a small control API under /_sim/.

Control API (JSON):
- GET  /_sim/health                      -> {"ok": true}
- GET  /_sim/config                      -> the knobs (API key masked)
- POST /_sim/config {knob: value, ...}   -> change knobs at run time, returns the knobs
- GET  /_sim/stats                       -> counts per account, operation, status and fault
- GET  /_sim/requests[?account_id=ID]    -> the request log (wall-clock start/finish, status)
- POST /_sim/reset                       -> forget requests, sessions, rate limits (keeps knobs)
- POST /_sim/accounts/{id}/expire        -> the account's session expires now
- POST /_sim/accounts/{id}/restore       -> the account gets a fresh session
- GET  /_sim/sign-in?user_id=ID          -> an HTML page that signs a browser in (sign_in.py)
- GET  /_sim/set-cookie?name=N&value=V   -> an HTML page that sets one cookie on its host

`serve_tls(context)` also serves everything over TLS on a second port (browser tests map
Airbnb's host names to it).

Each connection is served on its own daemon thread; state lives in SimulatorState.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from airbnb_sync.simulator import responses
from airbnb_sync.simulator.api import (
    Answer,
    Call,
    HostApi,
    account_of,
    json_answer,
    operation_of,
    parse_cookie_header,
)
from airbnb_sync.simulator.config import SimulatorConfig
from airbnb_sync.simulator.sign_in import Page, set_cookie_page, sign_in_page
from airbnb_sync.simulator.state import RequestRecord, SimulatorState

logger = logging.getLogger(__name__)

RequestHook = Callable[["Simulator", RequestRecord], None]

MAX_BODY_BYTES = 1 << 20
_ACCOUNT_ACTION = re.compile(
    r"^/_sim/accounts/(?P<account>[0-9]{1,30})/(?P<action>expire|restore)$")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], simulator: Simulator) -> None:
        self.simulator = simulator
        self.open_connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    """Moves bytes; what they say is decided by HostApi and the control functions."""

    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes; with Nagle's algorithm on, the body would wait
    # for the client's delayed ACK of the headers on every kept-alive answer (README:
    # Performance). socketserver's own switch sets TCP_NODELAY on each connection.
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):
            # The handshake runs here, on the connection's own thread, not in accept().
            self.request.settimeout(10)
            self.request.do_handshake()
        super().setup()
        with self.server.connections_lock:
            self.server.open_connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.open_connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        # Request lines only (never headers: they carry cookies and the API key).
        logger.debug("simulator: " + format, *args)

    def do_GET(self) -> None:
        self._read_body()
        url = urlsplit(self.path)
        simulator = self.server.simulator
        if url.path == "/_sim/health":
            self._send(json_answer(200, {"ok": True}))
        elif url.path == "/_sim/config":
            self._send(json_answer(200, simulator.config.public()))
        elif url.path == "/_sim/stats":
            self._send(json_answer(200, simulator.stats()))
        elif url.path == "/_sim/requests":
            account = parse_qs(url.query).get("account_id", [None])[0]
            self._send(json_answer(200, {"requests": simulator.requests(account)}))
        elif url.path == "/_sim/sign-in":
            self._send_page(sign_in_page(url.query, self.headers.get("Host"),
                                         simulator.state.sign_in))
        elif url.path == "/_sim/set-cookie":
            self._send_page(set_cookie_page(url.query))
        elif url.path.startswith("/api/v3/"):
            self._send(json_answer(405, responses.error("use POST", "METHOD_NOT_ALLOWED"),
                                   Allow="POST"))
        else:
            self._send(json_answer(404, responses.error("not found", "NOT_FOUND")))

    def do_POST(self) -> None:
        started = time.time()
        body = self._read_body()
        if body is None:
            return
        path = urlsplit(self.path).path
        if path.startswith("/_sim/"):
            self._send(self._control(path, body))
        else:
            self._api(path, body, started)

    def _read_body(self) -> bytes | None:
        length_header = self.headers.get("Content-Length") or "0"
        try:
            length = int(length_header)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY_BYTES:
            self.close_connection = True
            self._send(json_answer(413 if length > 0 else 400, responses.error(
                "bad or too large Content-Length", "BAD_REQUEST")))
            return None
        return self.rfile.read(length) if length else b""

    def _api(self, path: str, body: bytes, started: float) -> None:
        simulator = self.server.simulator
        cookies = parse_cookie_header("; ".join(self.headers.get_all("Cookie") or []))
        account_id = account_of(cookies)
        operation, path_hash = operation_of(path)
        record = simulator.state.begin(account_id, operation.value if operation else None,
                                       started)
        simulator.run_hooks(record)
        if not simulator.serving:
            return  # a hook stopped the simulator: this request goes unanswered, like the rest
        if operation is None:
            answer = json_answer(404, responses.error(f"unknown operation at {path}",
                                                      "NOT_FOUND"))
        else:
            config = simulator.config
            call = Call(operation, path_hash, self.headers.get("X-Airbnb-API-Key"), cookies,
                        body, config.today or datetime.now(UTC).date())
            try:
                answer = simulator.api.answer(call, account_id, started)
            except Exception:  # a simulator bug must not look like a hung Airbnb
                logger.exception("simulator failed on %s", path)
                answer = json_answer(500, responses.error("simulator error", "INTERNAL"))
            # Airbnb's answer time includes Airbnb's own work: so does the simulator's.
            remaining = config.latency_ms / 1000 - (time.time() - started)
            if remaining > 0:
                time.sleep(remaining)
        # Logged as finished just before the bytes leave: whoever reads the log after the
        # answer arrived finds it complete.
        self._send(answer, before_body=lambda: simulator.state.finish(
            record, answer.status, time.time(), answer.fault, **answer.facts()))

    def _control(self, path: str, body: bytes) -> Answer:
        simulator = self.server.simulator
        try:
            knobs = json.loads(body) if body.strip() else {}
        except ValueError:
            return json_answer(400, responses.error("the body is not valid JSON", "BAD_REQUEST"))
        if path == "/_sim/config":
            if not isinstance(knobs, dict):
                return json_answer(400, responses.error("send a JSON object of knobs",
                                                        "BAD_REQUEST"))
            try:
                return json_answer(200, simulator.configure(**knobs).public())
            except (TypeError, ValueError) as exc:
                return json_answer(400, responses.error(str(exc), "BAD_REQUEST"))
        if path == "/_sim/reset":
            simulator.reset()
            return json_answer(200, {"ok": True})
        match = _ACCOUNT_ACTION.match(path)
        if match is not None:
            action = simulator.expire if match["action"] == "expire" else simulator.restore
            action(match["account"])
            return json_answer(200, {"ok": True, "account_id": match["account"],
                                     "expired": match["action"] == "expire"})
        return json_answer(404, responses.error("not found", "NOT_FOUND"))

    def _send_page(self, page: Page) -> None:
        self.send_response(page.status)
        for name, value in page.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(page.body)))
        with contextlib.suppress(OSError):
            self.end_headers()
            self.wfile.write(page.body)
            self.wfile.flush()

    def _send(self, answer: Answer, before_body: Callable[[], None] | None = None) -> None:
        self.send_response(answer.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        for value in answer.set_cookies:
            self.send_header("Set-Cookie", value)
        if answer.truncate:
            self.send_header("Connection", "close")
            self.close_connection = True
        if before_body is not None:
            before_body()
        body = answer.body[: len(answer.body) // 2] if answer.truncate else answer.body
        # The client may be gone, or stop() shut the connection: nobody to tell.
        with contextlib.suppress(OSError):
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()


class Simulator:
    """A running simulator: `with Simulator(SimulatorConfig(...)) as sim: requests to sim.url`.

    `start()` binds the port (0 = any free one) and serves on a daemon thread; `stop()` closes
    the socket and every open connection.
    """

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.state = SimulatorState(config or SimulatorConfig())
        self.api = HostApi(self.state)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._tls_server: _Server | None = None
        self._hooks: list[RequestHook] = []

    def __repr__(self) -> str:
        where = self.url if self._server is not None else "stopped"
        return f"Simulator({where})"

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> Self:
        if self._server is not None:
            return self
        config = self.state.config
        self._server = _Server((config.host, config.port), self)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name=f"simulator-{self.port}", daemon=True)
        self._thread.start()
        return self

    @property
    def serving(self) -> bool:
        return self._server is not None

    def serve_tls(self, context: ssl.SSLContext) -> str:
        """Serve the same simulator over TLS on another free port of the same host too (for
        browsers, which reach Airbnb over https only); returns its base URL. `stop()` ends it."""
        if self._server is None:
            raise RuntimeError("the simulator is not running: call start() first")
        if self._tls_server is None:
            server = _Server((self.state.config.host, 0), self)
            server.socket = context.wrap_socket(server.socket, server_side=True,
                                                do_handshake_on_connect=False)
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                             name="simulator-tls", daemon=True).start()
            self._tls_server = server
        host, port = self._tls_server.server_address[:2]
        return f"https://{host}:{port}"

    def stop(self) -> None:
        """Close the socket and every open connection; callable from a request hook too."""
        tls, self._tls_server = self._tls_server, None
        if tls is not None:
            tls.shutdown()
            tls.server_close()
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        with server.connections_lock:
            connections = list(server.open_connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        server.server_close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    # --- hooks -----------------------------------------------------------------------------

    def on_request(self, hook: RequestHook) -> None:
        """Call `hook(simulator, record)` for every /api/v3/ request, after it is logged and
        before it is answered (the client waits meanwhile). For fault tests that must act at
        an exact point of a run: restart a database, or stop() the simulator itself, which
        leaves this request and every later one unanswered."""
        self._hooks.append(hook)

    def run_hooks(self, record: RequestRecord) -> None:
        for hook in list(self._hooks):
            hook(self, record)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the simulator is not running: call start() first")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The base URL to use as AIRBNB_BASE_URL (no trailing slash)."""
        if self._server is None:
            raise RuntimeError("the simulator is not running: call start() first")
        host = str(self._server.server_address[0])
        return f"http://{host}:{self.port}"

    # --- knobs and statistics --------------------------------------------------------------

    @property
    def config(self) -> SimulatorConfig:
        return self.state.config

    def configure(self, **knobs: Any) -> SimulatorConfig:
        """Change knobs while running, e.g. configure(latency_ms=20, drift_rate=1.0)."""
        return self.state.configure(**knobs)

    def expire(self, account_id: str) -> None:
        self.state.expire(str(account_id))

    def restore(self, account_id: str) -> None:
        self.state.restore(str(account_id))

    def reset(self) -> None:
        self.state.reset()

    def stats(self) -> dict[str, Any]:
        return self.state.stats()

    def requests(self, account_id: str | None = None) -> list[dict[str, Any]]:
        """The request log, oldest first: account_id, operation, started, finished (wall-clock
        seconds), status and fault of every /api/v3/ request."""
        return self.state.requests(account_id)

    def request_intervals(self, account_id: str) -> list[tuple[float, float]]:
        """(started, finished) of the account's requests, to check they never overlap."""
        return [(r["started"], r["finished"]) for r in self.requests(account_id)
                if r["finished"] is not None]
