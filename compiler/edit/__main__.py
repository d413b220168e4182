"""`python -m compiler.edit`: one JSON request on stdin, `{"status", "body"}` on stdout.

The runtime runs this for every editor endpoint (it may not import the compiler itself).
"""

from __future__ import annotations

import json
import os
import sys

from compiler.edit.session import bad, handle


def main() -> int:
    try:
        request = json.loads(sys.stdin.buffer.read())
    except ValueError:
        request = None
    status, body = (
        handle(request, os.environ)
        if isinstance(request, dict)
        else bad("the request is not a JSON object").answer()
    )
    sys.stdout.write(json.dumps({"status": status, "body": body}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
