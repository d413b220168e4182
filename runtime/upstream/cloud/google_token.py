"""Google OAuth2 access tokens from google-auth, fetched off the request path.

Credentials are a service-account JSON file (`credentials_file:`) or Application Default
Credentials (`GOOGLE_APPLICATION_CREDENTIALS`, gcloud's user credentials, the metadata server
on Google Cloud). google-auth's transports block, so loading and refreshing run in a thread
from the provider's `Refresher`; a token is refreshed before it expires (`refresh.MARGIN`).
"""

from __future__ import annotations

import asyncio
import datetime
from typing import Any

from runtime.upstream.cloud.refresh import Fetched, Refresher

SCOPE = "https://www.googleapis.com/auth/cloud-platform"


class _Source:
    def __init__(self, credentials_file: str | None) -> None:
        self._file = credentials_file
        self._creds: Any = None
        self._request: Any = None

    def _load(self) -> None:
        # imported here: only workers serving Vertex load google-auth
        import google.auth
        import google.auth.transport.urllib3
        import urllib3
        from google.oauth2 import service_account

        if self._file is not None:
            self._creds = service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
                self._file, scopes=[SCOPE]
            )
        else:
            self._creds, _ = google.auth.default(scopes=[SCOPE])
        pool = urllib3.PoolManager(num_pools=2)
        self._request = google.auth.transport.urllib3.Request(pool)  # type: ignore[no-untyped-call]

    def fetch(self) -> Fetched[str]:
        if self._creds is None:
            self._load()
        self._creds.refresh(self._request)
        expiry = self._creds.expiry  # naive UTC, as google-auth keeps it
        expires_at = None if expiry is None else _utc_seconds(expiry)
        return Fetched(str(self._creds.token), expires_at)


def _utc_seconds(naive_utc: datetime.datetime) -> float:
    return naive_utc.replace(tzinfo=datetime.UTC).timestamp()


def google_refresher(provider: str, credentials_file: str | None) -> Refresher[str]:
    source = _Source(credentials_file)

    async def fetch() -> Fetched[str]:
        return await asyncio.to_thread(source.fetch)

    return Refresher(fetch, f"{provider}: Google access token")
