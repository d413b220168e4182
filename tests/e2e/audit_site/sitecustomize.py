"""Loaded by every Python process of a test relay (via PYTHONPATH) when RELAY_IMPORT_AUDIT
names a file. In each fork of `runtime.server.serve` (the Granian workers, and the
short-lived fork that runs the checks before binding) it records which compiler-side
modules (and the cloud libraries, which only a worker serving a cloud provider may load)
are present at the fork and any imported later, and which of the modules only those checks
need (`runtime.server.start_checks`) the main process already held when it forked."""

import os
import sys

_FORBIDDEN = ("compiler", "jsonschema", "ruamel", "jinja2", "typer", "botocore", "google")
_CHECKS_ONLY = (
    "msgspec",
    "sqlite3",
    "runtime.artifact",
    "runtime.server.loader",
    "runtime.server.start_checks",
    "runtime.translate",
    "runtime.routing",
    "runtime.ops.usage",
    "aiohttp",
)
_LOG = os.environ.get("RELAY_IMPORT_AUDIT")
_IN_WORKER = []


def _write(line):
    with open(_LOG, "a") as out:
        out.write(line + "\n")


def _after_fork():
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec is None or spec.name != "runtime.server.serve":
        return  # only forks of `python -m runtime.server.serve` are Granian workers
    _IN_WORKER.append(True)
    present = sorted(m for m in sys.modules if m.split(".")[0] in _FORBIDDEN)
    _write(f"worker {os.getpid()} forked")
    for name in present:
        _write(f"forbidden {name} present in worker {os.getpid()}")
    for name in sorted(m for m in sys.modules if m.startswith(_CHECKS_ONLY)):
        _write(f"inherited {name} from the main process in {os.getpid()}")


class _Audit:
    def find_spec(self, name, path=None, target=None):
        if _IN_WORKER and name.split(".")[0] in _FORBIDDEN:
            _write(f"forbidden {name} imported in worker {os.getpid()}")
        return None


if _LOG:
    sys.meta_path.insert(0, _Audit())
    os.register_at_fork(after_in_child=_after_fork)
