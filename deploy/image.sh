#!/bin/sh
# Image build step (Dockerfile RUN): a virtualenv at $1 with relay installed from the
# source at $2, then the shipped chains checked, so a broken definition fails the build.
set -eu
venv="$1"
src="$2"
python3 -m venv "$venv"
pip="$venv/bin/python -m pip install --no-cache-dir --quiet --disable-pip-version-check"
# Every dependency from the hashed lock (every extra: the image serves any definition), then relay.
$pip --require-hashes -r "$src/requirements/all.txt"
$pip --no-deps --no-build-isolation "$src"
"$venv/bin/relay" check "$src/chains"
