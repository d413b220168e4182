"""Container HEALTHCHECK: exit 0 when relay's /ready answers 200 (it needs no key)."""

import os
import sys
import urllib.request

port = os.environ.get("RELAY_PORT", "8787")
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=2) as resp:
        sys.exit(0 if resp.status == 200 else 1)
except OSError as exc:
    print(f"relay not ready: {exc}", file=sys.stderr)
    sys.exit(1)
