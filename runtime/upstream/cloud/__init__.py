"""Claude on Amazon Bedrock, Google Vertex AI and Microsoft Azure, behind the upstream seam.

The request loop sends every step the request it would send to Anthropic (or, for Azure
OpenAI, to an OpenAI server) through `Upstream.open`; a cloud transport reshapes it for its
cloud, authenticates it, and hands back a response that reads exactly like Anthropic's
(Bedrock's event stream re-framed as SSE, cloud errors as Anthropic errors with the status the
waterfall should see). So the loop never knows which cloud it talks to.

| module | job |
|---|---|
| `shape.py`, `bedrock_wire.py`, `vertex_wire.py`, `azure_wire.py` | pure: URLs, bodies, headers per cloud |
| `eventstream.py` | pure: the AWS event-stream binary codec |
| `sigv4.py` | pure: AWS Signature Version 4 |
| `betas.py`, `errors.py` | pure tables: which betas each cloud takes, cloud errors as Anthropic errors |
| `refresh.py` | credentials fetched and refreshed in the background, never on a request |
| `aws_credentials.py`, `google_token.py`, `entra.py` | the three credential sources (botocore, google-auth, Entra ID) |
| `bedrock.py`, `vertex.py`, `azure.py`, `response.py` | thin I/O shells: the `Upstream` of each cloud |

botocore and google-auth are imported only inside the fetches of a provider that uses them, so
a worker with no cloud provider never loads either.
"""

from __future__ import annotations

from runtime.artifact import Provider
from runtime.upstream.client import Upstream

CLOUD_APIS = frozenset({"bedrock", "vertex", "azure"})


def cloud_upstream(provider: Provider) -> Upstream:
    if provider.api == "bedrock":
        from runtime.upstream.cloud.bedrock import BedrockUpstream

        return BedrockUpstream(provider)
    if provider.api == "vertex":
        from runtime.upstream.cloud.vertex import VertexUpstream

        return VertexUpstream(provider)
    from runtime.upstream.cloud.azure import AzureUpstream

    return AzureUpstream(provider)
