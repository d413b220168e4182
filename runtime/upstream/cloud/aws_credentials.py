"""AWS credentials from botocore's standard chain, fetched off the request path.

The chain is botocore's, unchanged: environment variables, the shared credentials and config
files (`AWS_PROFILE`, SSO, `credential_process`, assume-role), container credentials and the
EC2 instance role. Resolving it can touch the network (the instance metadata service) and
botocore refreshes expiring credentials inside `get_frozen_credentials()`, so both run in a
thread from the provider's `Refresher`, never in a request.
"""

from __future__ import annotations

import asyncio
from typing import Any

from runtime.upstream.cloud.refresh import Fetched, Refresher
from runtime.upstream.cloud.sigv4 import AwsCredentials


class _Chain:
    """The resolved chain, kept between fetches so botocore can refresh what it returned."""

    def __init__(self) -> None:
        self._creds: Any = None

    def fetch(self) -> Fetched[AwsCredentials]:
        if self._creds is None:
            import botocore.session  # imported here: only workers serving Bedrock load botocore

            self._creds = botocore.session.Session().get_credentials()
            if self._creds is None:
                raise LookupError(
                    "botocore's credential chain found no AWS credentials "
                    "(environment, shared profile, container or instance role)"
                )
        frozen = self._creds.get_frozen_credentials()
        return Fetched(AwsCredentials(frozen.access_key, frozen.secret_key, frozen.token), None)


def aws_refresher(provider: str) -> Refresher[AwsCredentials]:
    chain = _Chain()

    async def fetch() -> Fetched[AwsCredentials]:
        return await asyncio.to_thread(chain.fetch)

    return Refresher(fetch, f"{provider}: AWS credentials")
