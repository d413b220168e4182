"""Where `relay run` listens: addresses, one relay per port, a busy port, the file limit."""

from __future__ import annotations

import resource
import socket

import pytest

from runtime.server.listen import ListenError, claim, parse_listen
from runtime.server.serve import FD_RESERVE, connection_budget


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("127.0.0.1:8787", ("127.0.0.1", 8787)),
        ("localhost:8787", ("127.0.0.1", 8787)),
        ("LocalHost:1", ("127.0.0.1", 1)),
        (":8787", ("127.0.0.1", 8787)),
        ("[::1]:9000", ("::1", 9000)),
        ("0.0.0.0:80", ("0.0.0.0", 80)),
    ],
)
def test_parse_listen(value: str, expected: tuple[str, int]) -> None:
    assert parse_listen(value) == expected


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("relay.example:8787", "not an IP address"),
        ("127.0.0.1", "expected HOST:PORT"),
        ("x:70000", "HOST:PORT"),
    ],
)
def test_parse_listen_refuses(value: str, fragment: str) -> None:
    with pytest.raises(ListenError) as err:
        parse_listen(value)
    assert fragment in str(err.value)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_claim_holds_the_port_until_released() -> None:
    port = _free_port()
    held = claim("127.0.0.1", port)
    try:
        with pytest.raises(ListenError, match=f"another relay is already serving on port {port}"):
            claim("0.0.0.0", port)
    finally:
        held.close()
    claim("127.0.0.1", port).close()  # free again


def test_claim_names_a_port_another_program_listens_on() -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        with pytest.raises(ListenError, match="in use by another program"):
            claim("127.0.0.1", port)


def test_connection_budget_follows_the_open_file_limit(capsys: pytest.CaptureFixture[str]) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert connection_budget(100) == 100 and capsys.readouterr().err == ""
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == hard  # soft raised to hard
    assert connection_budget(10**9) == max(hard - FD_RESERVE, 64)
    assert "open-file limit" in capsys.readouterr().err
