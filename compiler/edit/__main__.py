"""`python -m compiler.edit`: JSON requests on stdin, one a line; for each, one line
`{"status", "body"}` on stdout; it exits at the end of its input.

The runtime keeps one such process per worker while the editor is in use (it may not
import the compiler itself), so the compiler's imports are paid once, not per keystroke.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from compiler.edit.session import Answer, bad, handle


def answer(line: bytes) -> Answer:
    try:
        request: Any = json.loads(line)
    except ValueError:
        request = None
    if not isinstance(request, dict):
        return bad("the request is not a JSON object").answer()
    return handle(request, os.environ)


def main() -> int:
    for line in sys.stdin.buffer:
        if line.strip():
            status, body = answer(line)
            sys.stdout.write(json.dumps({"status": status, "body": body}, ensure_ascii=False) + "\n")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
