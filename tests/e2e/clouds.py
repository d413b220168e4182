"""The cloud fakes for end-to-end tests: test credentials, the fake process, relay definitions.

Credentials are made up for the tests (an RSA key generated per session for the Google
service account); the relay gets them the way it would in production: AWS keys in its
environment for botocore's chain, a service-account file for google-auth, an Azure key
through `keys:` or Entra ID variables.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.e2e.procs import REPO, _answers, clean_env, free_port, stop, wait_until

AWS_ACCESS_KEY = "AKIDRELAYTEST0000001"
AWS_SECRET_KEY = "relay/test/secret/key/not/a/real/one00000"
BEDROCK_API_KEY = "bedrock-api-key-for-tests"
AZURE_KEY = "azure-key-for-tests"
TENANT, CLIENT_ID, CLIENT_SECRET = "tenant-1", "client-1", "client-secret-for-tests"
PROJECT, GCP_REGION, AWS_REGION = "relay-test-1", "us-east5", "us-east-1"
DEPLOYMENTS = {"gpt-4o": "dep-4o"}


class FakeClouds:
    def __init__(self, url: str, folder: Path) -> None:
        self.url = url
        self.folder = folder
        self.service_account = folder / "service-account.json"

    def script(self, *steps: dict[str, Any]) -> None:
        httpx.post(self.url + "/_script", json=list(steps), timeout=5).raise_for_status()

    def requests(self, tokens: bool = False) -> list[dict[str, Any]]:
        """What the fake clouds received since the last script, token requests only if asked."""
        got = httpx.get(self.url + "/_requests", timeout=5).json()
        return [r for r in got if tokens or not r["cloud"].endswith("-token")]

    def tokens_issued(self, kind: str = "issued") -> int:
        """Access tokens issued so far: all, or `google` / `entra` ones."""
        return int(httpx.get(self.url + "/_tokens", timeout=5).json()[kind])


def _key_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


@contextmanager
def fake_clouds(folder: Path, token_lifetime: float = 3600.0) -> Iterator[FakeClouds]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    private, public = _key_pair()
    fake = FakeClouds(url, folder)
    fake.service_account.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": PROJECT,
                "private_key_id": "test-key-1",
                "private_key": private,
                "client_email": f"relay@{PROJECT}.iam.gserviceaccount.com",
                "client_id": "1",
                "token_uri": url + "/token",
            }
        )
    )
    config = {
        "aws_access_key": AWS_ACCESS_KEY,
        "aws_secret_key": AWS_SECRET_KEY,
        "bedrock_api_key": BEDROCK_API_KEY,
        "region": AWS_REGION,
        "google_public_key": public,
        "token_uri": url + "/token",
        "token_lifetime": token_lifetime,
        "project": PROJECT,
        "region_gcp": GCP_REGION,
        "azure_key": AZURE_KEY,
        "tenant": TENANT,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "deployments": sorted(DEPLOYMENTS.values()),
    }
    (folder / "fake-clouds.json").write_text(json.dumps(config))
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.e2e.fake_clouds", str(port), str(folder / "fake-clouds.json")],
        cwd=REPO,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until(lambda: _answers(url + "/_tokens"), "fake clouds", proc=proc)
        yield fake
    finally:
        stop(proc)


def relay_env(fake: FakeClouds, **extra: str) -> dict[str, str]:
    """What the relay process gets: AWS keys for botocore's chain (and nothing else it could
    find: no shared files, no instance metadata), Entra ID variables, the Azure key."""
    return {
        "AWS_ACCESS_KEY_ID": AWS_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": AWS_SECRET_KEY,
        "AWS_SHARED_CREDENTIALS_FILE": str(fake.folder / "no-aws-credentials"),
        "AWS_CONFIG_FILE": str(fake.folder / "no-aws-config"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AZURE_TENANT_ID": TENANT,
        "AZURE_CLIENT_ID": CLIENT_ID,
        "AZURE_CLIENT_SECRET": CLIENT_SECRET,
        "AZURE_AUTHORITY_HOST": fake.url,
        "AZ_KEY": AZURE_KEY,
        "BEDROCK_KEY": BEDROCK_API_KEY,
        **extra,
    }


def providers_yaml(fake: FakeClouds, timeouts: str = "{first_byte: 5s, stream_idle: 5s}") -> str:
    """One provider of each kind, all on the fake."""
    return f"""\
providers:
  aws:
    api: bedrock
    region: {AWS_REGION}
    base_url: {fake.url}
    timeouts: {timeouts}
  aws_key:
    api: bedrock
    region: {AWS_REGION}
    base_url: {fake.url}
    keys: ["${{BEDROCK_KEY}}"]
    timeouts: {timeouts}
  gcp:
    api: vertex
    project: {PROJECT}
    region: {GCP_REGION}
    base_url: {fake.url}
    credentials_file: {fake.service_account}
    timeouts: {timeouts}
  foundry:
    api: azure
    base_url: {fake.url}/anthropic
    keys: ["${{AZ_KEY}}"]
    timeouts: {timeouts}
  foundry_entra:
    api: azure
    base_url: {fake.url}/anthropic
    timeouts: {timeouts}
  aoai:
    api: azure
    base_url: {fake.url}
    api_version: 2024-10-21
    deployment: {json.dumps(DEPLOYMENTS)}
    keys: ["${{AZ_KEY}}"]
    timeouts: {timeouts}
  aoai_v1:
    api: azure
    base_url: {fake.url}/openai/v1
    deployment: {json.dumps(DEPLOYMENTS)}
    timeouts: {timeouts}
"""
