"""Fake Bedrock, Vertex AI (with Google's token endpoint) and Azure, as one process on 127.0.0.1.

Each fake checks what the real service checks, with the libraries the real services'
clients use:
- Bedrock recomputes the SigV4 signature of every request with botocore from the known test
  credentials (or accepts the test Bedrock API key as a bearer token) and answers 403
  `InvalidSignatureException` otherwise; it rejects a body with `model`, `stream` or without
  `anthropic_version: bedrock-2023-05-31`; streams are real event-stream messages
  (`runtime.upstream.cloud.eventstream.encode`, itself checked against botocore's decoder).
- Google's token endpoint verifies the service-account JWT (google-auth's `jwt.decode`
  against the test key's public half) and issues access tokens with a configured lifetime;
  Vertex answers 401 UNAUTHENTICATED to a missing, unknown or expired token.
- Azure takes its `api-key` / `x-api-key` or an Entra ID token from its own token endpoint
  (client-credentials grant), Foundry at `/anthropic/v1/messages`, Azure OpenAI on
  `/openai/deployments/{d}/chat/completions?api-version=` and `/openai/v1/chat/completions`.

Scripted like `fake_upstream` (POST a list of steps to `/_script`; each request pops one):
`status` (+ `error`: Bedrock error type, Google status or plain message), `frames` (Anthropic
SSE frames, sent as event-stream chunks on Bedrock), `exception` (Bedrock: an exception
message after the frames), `text`. `/_requests` lists what arrived, `/_tokens` what was issued.

Run: python -m tests.e2e.fake_clouds PORT CONFIG.json
"""

from __future__ import annotations

import base64
import calendar
import json
import sys
import time
import uuid
from typing import Any

from aiohttp import web
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from google.auth import jwt

from runtime.upstream.cloud.eventstream import encode
from tests.e2e.fake_upstream import _anthropic_message, _openai_completion, default_stream

STATE: dict[str, Any] = {"script": [], "requests": [], "tokens": {}, "issued": 0, "google": 0, "entra": 0}
CONFIG: dict[str, Any] = {}


def _record(request: web.Request, cloud: str, body: Any) -> None:
    STATE["requests"].append(
        {
            "cloud": cloud,
            "path": request.path,
            "raw_path": request.raw_path,
            "query": request.query_string,
            "headers": dict(request.headers),
            "body": body,
        }
    )


def _step() -> dict[str, Any]:
    return STATE["script"].pop(0) if STATE["script"] else {}


def _frames(step: dict[str, Any], model: str, fmt: str = "anthropic") -> list[str]:
    if "frames" in step:
        return list(step["frames"])
    return [f.decode() for f in default_stream(fmt, model, step.get("text", "hello"))]


# --- Bedrock ---------------------------------------------------------------------------


def _bedrock_error(status: int, error_type: str, message: str) -> web.Response:
    return web.json_response(
        {"message": message},
        status=status,
        headers={"x-amzn-ErrorType": f"{error_type}:http://internal.amazon.com/coral/com.amazon.bedrock/"},
    )


def _sigv4_problem(request: web.Request, body: bytes) -> str | None:
    """None when the request is signed exactly as botocore signs it with the test credentials."""
    auth = request.headers.get("authorization", "")
    if auth.startswith("Bearer "):
        return None if auth[7:] == CONFIG["bedrock_api_key"] else "unknown Bedrock API key"
    fields = dict(part.strip().split("=", 1) for part in auth.removeprefix("AWS4-HMAC-SHA256 ").split(","))
    access, day, region, service, _ = fields.get("Credential", "////").split("/")
    if access != CONFIG["aws_access_key"]:
        return "unknown access key"
    if (region, service) != (CONFIG["region"], "bedrock"):
        return f"wrong scope {region}/{service}"
    signed = fields.get("SignedHeaders", "").split(";")
    if not {"host", "x-amz-date"} <= set(signed):
        return "host and x-amz-date must be signed"
    amz_date = request.headers.get("x-amz-date", "")
    if day != amz_date[:8]:
        return "credential scope date is not the request date"
    if abs(time.time() - calendar.timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ"))) > 300:
        return "signature expired"
    creds = Credentials(CONFIG["aws_access_key"], CONFIG["aws_secret_key"], CONFIG.get("aws_token"))
    if CONFIG.get("aws_token") and request.headers.get("x-amz-security-token") != CONFIG["aws_token"]:
        return "missing or wrong security token"
    url = f"http://{request.headers['host']}{request.raw_path}"
    req = AWSRequest("POST", url, data=body, headers={h: request.headers[h] for h in signed})
    req.context["timestamp"] = amz_date
    signer = SigV4Auth(creds, "bedrock", CONFIG["region"])
    expected = signer.signature(signer.string_to_sign(req, signer.canonical_request(req)), req)
    return None if fields.get("Signature") == expected else "signature mismatch"


def _chunk(frame: str) -> bytes:
    data = next(line[5:].strip() for line in frame.splitlines() if line.startswith("data:"))
    payload = json.dumps({"bytes": base64.b64encode(data.encode()).decode(), "p": "abcdefgh"})
    headers = {":event-type": "chunk", ":content-type": "application/json", ":message-type": "event"}
    return encode(headers, payload.encode())


async def bedrock(request: web.Request) -> web.StreamResponse:
    raw = await request.read()
    model, action = request.match_info["model"], request.match_info["action"]
    body = json.loads(raw) if raw else {}
    _record(request, "bedrock", body)
    problem = _sigv4_problem(request, raw)
    if problem is not None:
        return _bedrock_error(403, "InvalidSignatureException", f"The request signature is wrong: {problem}")
    if action == "count-tokens":
        inner = json.loads(base64.b64decode(body["input"]["invokeModel"]["body"]))
        return web.json_response({"inputTokens": 40 + len(json.dumps(inner["messages"])) // 100})
    if "model" in body or "stream" in body or body.get("anthropic_version") != "bedrock-2023-05-31":
        return _bedrock_error(400, "ValidationException", "Malformed input request: extraneous key")
    step = _step()
    status = int(step.get("status", 200))
    if status != 200:
        return _bedrock_error(
            status, step.get("error", "InternalServerException"), step.get("message", "scripted")
        )
    if action == "invoke":
        return web.json_response(_anthropic_message(model, step.get("text", "hello")))
    resp = web.StreamResponse(headers={"content-type": "application/vnd.amazon.eventstream"})
    await resp.prepare(request)
    for frame in _frames(step, model):
        await resp.write(_chunk(frame))
    if "exception" in step:
        headers = {":exception-type": step["exception"], ":content-type": "application/json"}
        await resp.write(encode({**headers, ":message-type": "exception"}, b'{"message":"scripted"}'))
    return resp


# --- Google token endpoint and Vertex --------------------------------------------------


def _google_error(status: int, state: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": status, "message": message, "status": state}}, status=status)


async def google_token(request: web.Request) -> web.Response:
    form = await request.post()
    _record(request, "google-token", dict(form))
    try:
        audiences = [
            CONFIG["token_uri"],
            "https://oauth2.googleapis.com/token",
        ]  # google-auth signs for the latter
        claims = jwt.decode(str(form["assertion"]), certs=CONFIG["google_public_key"], audience=audiences)
    except (ValueError, KeyError) as exc:
        return web.json_response({"error": "invalid_grant", "error_description": str(exc)}, status=400)
    if "cloud-platform" not in claims.get("scope", ""):
        return web.json_response({"error": "invalid_scope"}, status=400)
    return _issue("google", float(CONFIG.get("token_lifetime", 3600)))


def _issue(kind: str, lifetime: float) -> web.Response:
    STATE["issued"] += 1
    STATE[kind] += 1
    token = f"{kind}-token-{STATE['issued']}-{uuid.uuid4().hex[:8]}"
    STATE["tokens"][token] = time.time() + lifetime
    return web.json_response({"access_token": token, "expires_in": lifetime, "token_type": "Bearer"})


def _token_ok(header: str | None) -> bool:
    if not header or not header.startswith("Bearer "):
        return False
    expiry = STATE["tokens"].get(header[7:])
    return expiry is not None and expiry > time.time()


async def vertex(request: web.Request) -> web.StreamResponse:
    raw = await request.read()
    body = json.loads(raw) if raw else {}
    _record(request, "vertex", body)
    model, _, action = request.match_info["tail"].partition(":")
    if (request.match_info["project"], request.match_info["region"]) != (
        CONFIG["project"],
        CONFIG["region_gcp"],
    ):
        return _google_error(404, "NOT_FOUND", "unknown project or location")
    if not _token_ok(request.headers.get("authorization")):
        return _google_error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
    if body.get("anthropic_version") != "vertex-2023-10-16":
        return _google_error(400, "INVALID_ARGUMENT", "anthropic_version must be vertex-2023-10-16")
    if model == "count-tokens":
        return web.json_response({"input_tokens": 7 + len(json.dumps(body["messages"])) // 100})
    if "model" in body or bool(body.get("stream")) != (action == "streamRawPredict"):
        return _google_error(400, "INVALID_ARGUMENT", "model in the body or stream and method disagree")
    return await _anthropic_answer(request, model, _step(), google=True)


async def _anthropic_answer(
    request: web.Request, model: str, step: dict[str, Any], google: bool = False
) -> web.StreamResponse:
    status = int(step.get("status", 200))
    if status != 200:
        if google and "error" in step:
            return _google_error(status, step["error"], step.get("message", "scripted"))
        kind = step.get("error", "api_error")
        return web.json_response(
            {"type": "error", "error": {"type": kind, "message": step.get("message", "scripted")}},
            status=status,
        )
    body = await request.json()
    if not body.get("stream"):
        return web.json_response(_anthropic_message(model, step.get("text", "hello")))
    resp = web.StreamResponse(headers={"content-type": "text/event-stream"})
    await resp.prepare(request)
    for frame in _frames(step, model):
        await resp.write(frame.encode())
    return resp


# --- Azure and Entra ID ------------------------------------------------------------------


async def entra_token(request: web.Request) -> web.Response:
    form = await request.post()
    _record(request, "entra-token", {k: v for k, v in form.items() if k != "client_secret"})
    ok = (
        request.match_info["tenant"] == CONFIG["tenant"]
        and form.get("grant_type") == "client_credentials"
        and form.get("client_id") == CONFIG["client_id"]
        and form.get("client_secret") == CONFIG["client_secret"]
        and str(form.get("scope", "")).endswith("/.default")
    )
    if not ok:
        return web.json_response({"error": "invalid_client"}, status=401)
    return _issue("entra", float(CONFIG.get("token_lifetime", 3600)))


def _azure_auth_ok(request: web.Request) -> bool:
    key = request.headers.get("api-key") or request.headers.get("x-api-key")
    return key == CONFIG["azure_key"] or _token_ok(request.headers.get("authorization"))


def _azure_denied() -> web.Response:
    return web.json_response(
        {"error": {"code": "401", "message": "Access denied: invalid key or token"}}, status=401
    )


async def foundry(request: web.Request) -> web.StreamResponse:
    body = await request.json()
    _record(request, "foundry", body)
    if not _azure_auth_ok(request):
        return _azure_denied()
    if request.path.endswith("/count_tokens"):
        return web.json_response({"input_tokens": 9})
    return await _anthropic_answer(request, str(body.get("model")), _step())


async def azure_openai(request: web.Request) -> web.StreamResponse:
    body = await request.json()
    _record(request, "azure-openai", body)
    if not _azure_auth_ok(request):
        return _azure_denied()
    deployment = request.match_info.get("deployment") or str(body.get("model"))
    if "deployment" in request.match_info and not request.query.get("api-version"):
        return web.json_response({"error": {"code": "404", "message": "Resource not found"}}, status=404)
    if deployment not in CONFIG["deployments"]:
        return web.json_response(
            {"error": {"code": "DeploymentNotFound", "message": "no such deployment"}}, status=404
        )
    step = _step()
    status = int(step.get("status", 200))
    headers = dict(step.get("headers", {}))
    if status != 200:
        error = {"error": {"code": str(status), "message": step.get("message", "scripted")}}
        return web.json_response(error, status=status, headers=headers)
    if not body.get("stream"):
        return web.json_response(_openai_completion(deployment, step.get("text", "hello")), headers=headers)
    resp = web.StreamResponse(headers={"content-type": "text/event-stream", **headers})
    await resp.prepare(request)
    for frame in _frames(step, deployment, "openai"):
        await resp.write(frame.encode())
    return resp


# --- control -----------------------------------------------------------------------------


async def script(request: web.Request) -> web.Response:
    STATE["script"] = list(await request.json())
    STATE["requests"] = []
    return web.json_response({"ok": True})


async def requests(request: web.Request) -> web.Response:
    return web.json_response(STATE["requests"])


async def tokens(request: web.Request) -> web.Response:
    return web.json_response({k: STATE[k] for k in ("issued", "google", "entra")})


def make_app() -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/_script", script)
    app.router.add_get("/_requests", requests)
    app.router.add_get("/_tokens", tokens)
    app.router.add_post("/model/{model:.+}/{action}", bedrock)
    app.router.add_post("/token", google_token)
    app.router.add_post(
        "/v1/projects/{project}/locations/{region}/publishers/anthropic/models/{tail}", vertex
    )
    app.router.add_post("/anthropic/v1/messages", foundry)
    app.router.add_post("/anthropic/v1/messages/count_tokens", foundry)
    app.router.add_post("/openai/deployments/{deployment}/chat/completions", azure_openai)
    app.router.add_post("/openai/v1/chat/completions", azure_openai)
    app.router.add_post("/{tenant}/oauth2/v2.0/token", entra_token)
    return app


if __name__ == "__main__":
    with open(sys.argv[2], encoding="utf-8") as handle:
        CONFIG.update(json.load(handle))
    web.run_app(make_app(), host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
