"""Microsoft Entra ID access tokens for Azure, by the OAuth2 client-credentials grant.

Read from the worker's environment under the names azure-identity's `EnvironmentCredential`
uses: `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`, and optionally
`AZURE_AUTHORITY_HOST` (sovereign clouds; default login.microsoftonline.com). Fetched by the
provider's `Refresher` in the background and refreshed before expiry; a request only reads it.
Managed identity and other azure-identity sources are not supported: use `keys:` (api-key)
or these variables.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping

import aiohttp
import msgspec

from runtime.upstream.cloud.refresh import Fetched, Refresher

ENV_NAMES = ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET")
DEFAULT_AUTHORITY = "https://login.microsoftonline.com"
FOUNDRY_SCOPE = "https://ai.azure.com/.default"
OPENAI_SCOPE = "https://cognitiveservices.azure.com/.default"


class _TokenReply(msgspec.Struct):
    access_token: str
    expires_in: float


_decode = msgspec.json.Decoder(_TokenReply).decode


def token_request(env: Mapping[str, str], scope: str) -> tuple[str, dict[str, str]]:
    """The token endpoint and form for the client-credentials grant; raises LookupError naming
    the variables that are missing (never their values)."""
    missing = [name for name in ENV_NAMES if not env.get(name)]
    if missing:
        raise LookupError(f"Entra ID needs {', '.join(missing)} in relay's environment (or use keys:)")
    authority = (env.get("AZURE_AUTHORITY_HOST") or DEFAULT_AUTHORITY).rstrip("/")
    if "://" not in authority:
        authority = "https://" + authority
    form = {
        "grant_type": "client_credentials",
        "client_id": env["AZURE_CLIENT_ID"],
        "client_secret": env["AZURE_CLIENT_SECRET"],
        "scope": scope,
    }
    return f"{authority}/{env['AZURE_TENANT_ID']}/oauth2/v2.0/token", form


def entra_refresher(provider: str, scope: str) -> Refresher[str]:
    async def fetch() -> Fetched[str]:
        url, form = token_request(os.environ, scope)
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session,
            session.post(url, data=form) as resp,
        ):
            body = await resp.read()
        if resp.status != 200:
            raise PermissionError(f"token endpoint answered {resp.status}")
        reply = _decode(body)
        return Fetched(reply.access_token, time.time() + reply.expires_in)

    return Refresher(fetch, f"{provider}: Entra ID token")
