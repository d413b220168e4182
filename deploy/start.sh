#!/bin/sh
# Container start (Dockerfile CMD): build the chains with this environment's keys, then
# serve. Listens on every interface only when client keys are set (RELAY_API_KEY with the
# shipped chains/); without them relay stays on loopback, and `relay run` itself refuses
# a public address without keys whatever RELAY_LISTEN says.
set -eu
chains="${RELAY_CHAINS:-/app/chains}"
out="${RELAY_GENERATED:-${TMPDIR:-/tmp}/relay-generated}"
port="${RELAY_PORT:-8787}"
if [ -z "${RELAY_LISTEN:-}" ]; then
  if [ -n "${RELAY_API_KEY:-}" ]; then
    RELAY_LISTEN="0.0.0.0:$port"
  else
    RELAY_LISTEN="127.0.0.1:$port"
    echo "relay: RELAY_API_KEY is not set: serving on loopback only (set it to listen on 0.0.0.0)" >&2
  fi
fi
relay build "$chains" -o "$out"
exec relay run "$out" --listen "$RELAY_LISTEN" --workers "${RELAY_WORKERS:-1}"
