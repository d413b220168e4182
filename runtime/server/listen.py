"""Where `relay run` listens, checked before Granian binds, so each problem is one line.

Granian's workers bind with SO_REUSEPORT, so a second relay on the same address would
start silently and the kernel would split connections between two processes with
separate cooldowns and windows. `claim` refuses that: it holds an abstract Unix socket
named after the address for the life of the process (the kernel releases it when the
process dies, so a crash leaves nothing stale), and test-binds the port without
SO_REUSEPORT, which fails while anything else listens there. The lock is per port: two
relays on one port but different addresses (0.0.0.0 and 127.0.0.1) would collide too.
"""

from __future__ import annotations

import errno
import ipaddress
import socket


class ListenError(Exception):
    pass


def parse_listen(value: str) -> tuple[str, int]:
    """`HOST:PORT` with HOST an IP address; `localhost` means 127.0.0.1 (as in `relay check`)."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ListenError(f"--listen {value!r}: expected HOST:PORT, for example 127.0.0.1:8787")
    host = host.strip("[]") or "127.0.0.1"
    if host.lower() == "localhost":
        host = "127.0.0.1"
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ListenError(
            f"listen {value!r}: {host!r} is not an IP address; listen on an address such as "
            "127.0.0.1, 0.0.0.0 or [::1]"
        ) from None
    return host, int(port)


def is_loopback(host: str) -> bool:
    return ipaddress.ip_address(host).is_loopback


def _where(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def claim(host: str, port: int) -> socket.socket:
    """Hold `host:port` for this process, or raise ListenError saying who has it."""
    where = _where(host, port)
    lock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        lock.bind(f"\0relay-listen-port-{port}")
    except OSError as exc:
        lock.close()
        if exc.errno != errno.EADDRINUSE:
            raise ListenError(f"cannot lock {where}: {exc.strerror}") from None
        raise ListenError(f"another relay is already serving on port {port}; stop it first") from None
    try:
        _probe(host, port, where)
    except ListenError:
        lock.close()
        raise
    return lock


def _probe(host: str, port: int, where: str) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            reason = {
                errno.EADDRINUSE: "the port is in use by another program",
                errno.EACCES: "permission denied (ports below 1024 need privileges)",
                errno.EADDRNOTAVAIL: "that address is not one of this machine's",
            }.get(exc.errno or 0, exc.strerror)
            raise ListenError(f"cannot listen on {where}: {reason}") from None
