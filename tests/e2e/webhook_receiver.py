"""A webhook receiver the tests own: an HTTP server on 127.0.0.1 in a thread that records
every POST (headers and raw body) and answers 204; or a socket that accepts connections at
the TCP level and never answers (a hung receiver)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import NamedTuple


class Received(NamedTuple):
    headers: dict[str, str]
    body: bytes


class Receiver:
    def __init__(self, url: str) -> None:
        self.url = url
        self.received: list[Received] = []


@contextmanager
def receiver() -> Iterator[Receiver]:
    got: list[Received] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            got.append(Received({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    hook = Receiver(f"http://127.0.0.1:{server.server_address[1]}/hook")
    hook.received = got
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextmanager
def hung_receiver() -> Iterator[str]:
    """A URL whose server takes the connection and never says a word."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
