"""Signals go to relay's own main process only while it is this process's parent."""

from __future__ import annotations

import os
import signal
import subprocess

import pytest

from runtime.server import lineage


def test_signal_main_never_signals_a_process_that_is_not_the_parent(monkeypatch: pytest.MonkeyPatch) -> None:
    """Was `os.kill(os.getppid(), SIGHUP)`: an orphaned worker signalled whoever adopted it."""
    bystander = subprocess.Popen(["sleep", "30"])
    try:
        monkeypatch.setenv(lineage.MAIN_PID_ENV, str(bystander.pid))
        assert lineage.signal_main(signal.SIGTERM) is False
        assert bystander.poll() is None
        monkeypatch.delenv(lineage.MAIN_PID_ENV)
        assert lineage.signal_main(signal.SIGTERM) is False
    finally:
        bystander.kill()
        bystander.wait()


def test_mark_main_names_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(lineage.MAIN_PID_ENV, raising=False)
    lineage.mark_main()
    assert lineage.main_pid() == os.getpid()
