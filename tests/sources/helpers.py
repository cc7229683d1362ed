"""Test helpers shared by the sources and CLI tests: the recorded bodies and a real
HTTP server on 127.0.0.1 for replaying them over real sockets (timeouts, truncated
bodies, Retry-After)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

DATA = Path(__file__).resolve().parents[1] / "data" / "sources"


def recorded(name: str) -> bytes:
    """A recorded real Open-Meteo body (see tests/data/sources/MANIFEST.md)."""
    return (DATA / "openmeteo" / name).read_bytes()


def as_batch(body: bytes, count: int) -> bytes:
    """The API's multi-location shape: a JSON array of per-location objects. The
    recorded single-location body is repeated, values untouched."""
    return b"[" + b",".join([body] * count) + b"]"


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    truncate_to: int | None = None  # send only this many body bytes, then hang up
    delay_s: float = 0.0


Route = Callable[[str, str, dict[str, list[str]]], Reply]


class LoopbackServer:
    """Serve ``route(method, path, query) -> Reply``, or an httpx-style ``handler``
    (the same function a MockTransport takes) over a real socket."""

    def __init__(self, route: Route | None = None,
                 handler: Callable[[httpx.Request], httpx.Response] | None = None) -> None:
        self.route: Route = route or (lambda m, p, q: Reply(404))
        self.handler = handler
        self.requests: list[tuple[str, str, dict[str, list[str]]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                server.requests.append((self.command, parts.path, query))
                if server.handler is not None:
                    length = int(self.headers.get("Content-Length") or 0)
                    request = httpx.Request(self.command, server.url + self.path,
                                            headers=dict(self.headers.items()),
                                            content=self.rfile.read(length))
                    response = server.handler(request)
                    response.read()
                    reply = Reply(response.status_code, response.content,
                                  {k: v for k, v in response.headers.items()
                                   if k.lower() != "content-length"})
                else:
                    reply = server.route(self.command, parts.path, query)
                if reply.delay_s:
                    threading.Event().wait(reply.delay_s)
                self.send_response(reply.status)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                body = reply.body
                if reply.truncate_to is not None:
                    body = body[: reply.truncate_to]
                    self.close_connection = True
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)

            do_GET = do_POST = do_DELETE = _serve

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,),
                                        daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
