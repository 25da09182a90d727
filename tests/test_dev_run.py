"""`make run` stops both servers on Ctrl-C or SIGTERM, promptly, and says so."""

from __future__ import annotations

import importlib.util
import os
import select
import signal
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.support.idp import REPO_ROOT, _provider_env, free_loopback_port


def _dev_run() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dev_run", REPO_ROOT / "scripts" / "dev_run.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _ignore_sigint() -> None:
    # What a background job of a non-interactive shell inherits (`make run &`).
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_local_provider_stops_promptly_on_ctrl_c_or_sigterm_even_started_in_the_background(
    tmp_path: Path, signum: int
) -> None:
    port = free_loopback_port()
    provider = subprocess.Popen(
        [sys.executable, "-m", "local_idp", "serve", "--port", str(port)],
        cwd=REPO_ROOT,
        env=_provider_env(tmp_path, f"http://127.0.0.1:{port}", "http://testserver/"),
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_ignore_sigint,  # noqa: PLW1509 - only sets a signal disposition
    )
    try:
        assert provider.stderr is not None
        for line in provider.stderr:
            if "local_idp ready" in line:
                break
        provider.send_signal(signum)
        assert provider.wait(timeout=5) == 0
    finally:
        provider.kill()
        provider.wait()


def test_stop_ends_every_server_at_once_and_kills_one_that_does_not_stop() -> None:
    stubborn = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
            "print('ready', flush=True)\ntime.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,  # as dev_run starts each server
    )
    willing = subprocess.Popen(
        [sys.executable, "-c", "import time\nprint('ready', flush=True)\ntime.sleep(60)"],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,  # as dev_run starts each server
    )
    for process in (stubborn, willing):
        assert process.stdout is not None
        assert process.stdout.readline() == "ready\n"

    message = _dev_run().stop([stubborn, willing], timeout=1)

    assert stubborn.returncode == -signal.SIGKILL
    assert willing.returncode == -signal.SIGINT
    assert "Stopped the portal and the local identity provider" in message
    assert "killed" in message


def test_stop_says_both_stopped_when_they_do() -> None:
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", "import time\ntime.sleep(60)"], start_new_session=True
        )
        for _ in range(2)
    ]

    message = _dev_run().stop(processes)

    assert all(process.returncode is not None for process in processes)
    assert message == "Stopped the portal and the local identity provider."


def _ends_within(pidfd: int, seconds: float) -> bool:
    """Whether the process behind `pidfd` (not our child: no waitpid) terminates in time."""
    return bool(select.select([pidfd], [], [], seconds)[0])


def test_stop_leaves_no_worker_behind_when_the_master_exits_without_it() -> None:
    # A gunicorn master that exits while a deadlocked worker, deaf to SIGINT, lives on.
    master = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import signal, subprocess, sys, time\n"
            "worker = subprocess.Popen([sys.executable, '-c', 'import signal, time\\n"
            "signal.signal(signal.SIGINT, signal.SIG_IGN)\\nprint(1, flush=True)\\n"
            "time.sleep(60)'], stdout=subprocess.PIPE)\n"
            "worker.stdout.readline()\n"
            "print(worker.pid, flush=True)\n"
            "time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert master.stdout is not None
    worker = os.pidfd_open(int(master.stdout.readline()))

    message = _dev_run().stop([master], timeout=5)

    assert _ends_within(worker, 5)
    assert "had to be killed" in message
