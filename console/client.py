"""The management API seen from a terminal: one small async client for `relay status` and
`relay top` (docs/admin-api.md is the contract; nothing else of the relay is read).

Every failure a person can meet becomes `AdminError` with one line that says what to do,
so the commands print it instead of a traceback.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from typing import Any

import httpx

from console.sse import SseParser

DEFAULT_URL = "http://127.0.0.1:8787"
KEY_ENV = "RELAY_ADMIN_KEY"
URL_ENV = "RELAY_URL"


class AdminError(Exception):
    """One line for a person; `status` is the HTTP status, or 0 when nothing answered."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


def _problem(url: str, resp: httpx.Response) -> AdminError:
    if resp.status_code == 401:
        return AdminError(
            f"{url} refused the admin key (401): pass --admin-key or set {KEY_ENV} "
            "to one of server.admin.keys",
            401,
        )
    try:
        message = str(resp.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        message = resp.text[:200].strip() or resp.reason_phrase
    if resp.status_code == 404:
        return AdminError(f"{url}{resp.request.url.path}: not served by this relay (404): {message}", 404)
    return AdminError(f"{url} answered {resp.status_code}: {message}", resp.status_code)


class AdminClient:
    """A running relay's `/admin/*` endpoints; `transport` lets tests pass httpx.MockTransport."""

    def __init__(
        self,
        url: str | None = None,
        admin_key: str | None = None,
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = (url or os.environ.get(URL_ENV) or DEFAULT_URL).rstrip("/")
        key = admin_key if admin_key is not None else os.environ.get(KEY_ENV, "")
        headers = {"authorization": f"Bearer {key}"} if key else {}
        self._http = httpx.AsyncClient(
            base_url=self.url, headers=headers, timeout=timeout, transport=transport
        )

    async def __aenter__(self) -> AdminClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(self, method: str, path: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        try:
            resp = await self._http.request(method, path, params=params)
        except httpx.ConnectError:
            raise AdminError(f"relay is not reachable at {self.url}: is `relay run` started?") from None
        except httpx.TimeoutException:
            raise AdminError(f"relay at {self.url} did not answer in time") from None
        except httpx.HTTPError as exc:
            raise AdminError(f"relay at {self.url}: {type(exc).__name__}: {exc}") from None
        if resp.status_code >= 400:
            raise _problem(self.url, resp)
        try:
            data = resp.json()
        except ValueError:
            raise AdminError(f"{self.url}{path} did not answer JSON: is this a relay?") from None
        if not isinstance(data, dict):
            raise AdminError(f"{self.url}{path} answered {type(data).__name__}, not an object")
        return data

    async def state(self) -> dict[str, Any]:
        return await self._call("GET", "/admin/state")

    async def usage(self, since: str = "24h", by: str = "provider") -> dict[str, Any]:
        return await self._call("GET", "/admin/usage", {"since": since, "by": by})

    async def reload(self) -> dict[str, Any]:
        return await self._call("POST", "/admin/reload")

    async def events(self) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """The `/admin/events` stream as (event, data) pairs until the relay ends it."""
        parser = SseParser()
        try:
            async with self._http.stream(
                "GET", "/admin/events", timeout=httpx.Timeout(5.0, read=None)
            ) as resp:
                if resp.status_code >= 400:
                    await resp.aread()
                    raise _problem(self.url, resp)
                async for text in resp.aiter_text():
                    for name, data in parser.feed(text):
                        try:
                            payload = json.loads(data)
                        except ValueError:
                            continue
                        if isinstance(payload, dict):
                            yield name, payload
        except httpx.ConnectError:
            raise AdminError(f"relay is not reachable at {self.url}: is `relay run` started?") from None
        except httpx.HTTPError as exc:
            raise AdminError(f"the event stream from {self.url} broke: {type(exc).__name__}") from None
