"""Every HTTP read has an overall deadline and a size cap, both enforced while the body
streams (over a real loopback socket): a trickling server, a huge body, a gzip bomb, a
redirect loop are each one :class:`DataSourceError`, never a hang or a memory spike."""

from __future__ import annotations

import contextlib
import gzip
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from desktop_app.errors import DataSourceError
from desktop_app.sources.http import HttpClient, RetryPolicy

Serve = Callable[[socket.socket], None]


@contextlib.contextmanager
def raw_server(serve: Serve) -> Iterator[str]:
    """A one-connection-at-a-time HTTP server written on the socket itself, so a test can
    send bytes at any pace."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def loop() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn, contextlib.suppress(OSError):
                conn.recv(65536)
                serve(conn)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def _trickle(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 100000\r\n\r\n")
    for _ in range(200):  # one byte every 50 ms: each read is quick, the whole is not
        conn.sendall(b" ")
        time.sleep(0.05)


def test_a_trickling_server_meets_the_overall_deadline() -> None:
    with raw_server(_trickle) as url:
        client = HttpClient(retry=RetryPolicy(attempts=1), deadline_s=0.5)
        with pytest.raises(DataSourceError, match=r"took longer than 0.5 s in all"):
            client.request("GET", url + "/v1/forecast")
        chunks: list[bytes] = []
        client = HttpClient(retry=RetryPolicy(attempts=1), download_deadline_s=0.5)
        with pytest.raises(DataSourceError, match="took longer than"):
            client.stream_to(url + "/file.grib", chunks.append)


def _big(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    block = b"x" * 65536
    for _ in range(64):  # 4 MiB, no Content-Length to refuse it up front
        conn.sendall(b"%x\r\n%s\r\n" % (len(block), block))
    conn.sendall(b"0\r\n\r\n")


def test_a_body_over_the_cap_is_refused_while_streaming() -> None:
    with raw_server(_big) as url:
        client = HttpClient(retry=RetryPolicy(attempts=1), max_body_bytes=1024 * 1024)
        with pytest.raises(DataSourceError, match="over the limit of 1048576 bytes"):
            client.request("GET", url + "/v1/forecast")
        client = HttpClient(retry=RetryPolicy(attempts=1), max_download_bytes=1024 * 1024)
        with pytest.raises(DataSourceError, match="over the limit"):
            client.stream_to(url + "/file.grib", lambda chunk: None)


def test_a_declared_length_over_the_cap_is_refused_before_reading() -> None:
    def serve(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 209715200\r\n\r\n" + b"x" * 10)

    with raw_server(serve) as url:
        client = HttpClient(retry=RetryPolicy(attempts=1))  # the default cap
        with pytest.raises(DataSourceError, match="209715200 bytes, over the limit"):
            client.request("GET", url + "/v1/forecast")


BOMB = gzip.compress(b"0" * (64 * 1024 * 1024), compresslevel=9)  # 64 MiB from ~64 KiB


def test_a_gzip_bomb_is_refused_by_its_inflated_size() -> None:
    def serve(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: "
                     + str(len(BOMB)).encode() + b"\r\n\r\n" + BOMB)

    assert len(BOMB) < 1024 * 1024
    with raw_server(serve) as url:
        client = HttpClient(retry=RetryPolicy(attempts=1), max_body_bytes=8 * 1024 * 1024)
        with pytest.raises(DataSourceError, match="after decompression"):
            client.request("GET", url + "/v1/forecast")


def test_a_redirect_loop_is_one_line() -> None:
    def serve(conn: socket.socket) -> None:
        # Connection: close: each hop on a new connection, never a reset of a reused one
        conn.sendall(b"HTTP/1.1 302 Found\r\nLocation: /again\r\nContent-Length: 0\r\n"
                     b"Connection: close\r\n\r\n")

    with raw_server(serve) as url:
        client = HttpClient(retry=RetryPolicy(attempts=1))
        with pytest.raises(DataSourceError, match="bad response from .*redirect"):
            client.request("GET", url + "/v1/forecast")
        with pytest.raises(DataSourceError, match="redirect"):
            client.stream_to(url + "/file", lambda chunk: None)
