"""`aidial-portal serve` in a terminal: Ctrl-C is the master's to answer, once."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx

from tests.support.servers import start_portal


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone while we looked
        # The command name may hold spaces; the parent id is the second field after it.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_worker_leaves_ctrl_c_to_the_master_which_then_stops_everything(tmp_path: Path) -> None:
    server = start_portal(tmp_path)
    assert server.process is not None
    try:
        (worker,) = _children(server.process.pid)
        os.kill(worker, signal.SIGINT)  # what a terminal's Ctrl-C sends the worker
        # The same worker still answers: it did not quit and get replaced by a new one.
        assert httpx.get(server.url("/healthz"), timeout=10).status_code == 200
        assert _children(server.process.pid) == {worker}

        server.process.send_signal(signal.SIGINT)  # ... and the master
        assert server.process.wait(timeout=30) == 0
        assert not _alive(worker)
    finally:
        server.stop()
