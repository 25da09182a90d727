"""deploy/systemd: every periodic command the README lists has a unit and a timer, and
`systemd-analyze verify` accepts them (where the tool exists)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.idp import REPO_ROOT

UNITS = REPO_ROOT / "deploy" / "systemd"
INSTALLED = "/opt/aidial-portal/venv/bin/aidial-portal"
PERIODIC = {
    "directory-sync": "directory sync",
    "sessions-revalidate": "sessions revalidate",
    "support-resend": "support resend",
    "audit-purge": "audit purge",
    "clearsessions": "clearsessions",
}


def test_every_periodic_command_has_a_service_and_a_timer_and_the_readme_lists_it() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    operations = readme.split("## Operations", 1)[1].split("\n## ", 1)[0]
    for name, command in PERIODIC.items():
        service = (UNITS / f"aidial-portal-{name}.service").read_text(encoding="utf-8")
        assert f"aidial-portal {command}" in service
        assert "OnCalendar=" in (UNITS / f"aidial-portal-{name}.timer").read_text()
        assert f"aidial-portal {command}" in operations
        assert f"aidial-portal-{name}.timer" in operations


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed here"
)
def test_systemd_analyze_verify_accepts_the_units(tmp_path: Path) -> None:
    # The units name the installed paths; verify checks that the programs exist, so the copy
    # points at this checkout's instead.
    environment = tmp_path / "environment"
    environment.write_text("AIDIAL_DEBUG=1\n")
    program = str(Path(sys.executable).parent / "aidial-portal")
    for unit in UNITS.iterdir():
        text = unit.read_text(encoding="utf-8").replace(INSTALLED, program)
        text = text.replace("/etc/aidial-portal/environment", str(environment))
        (tmp_path / unit.name).write_text(text, encoding="utf-8")
    units = sorted(str(path) for path in tmp_path.glob("aidial-portal-*"))

    done = subprocess.run(
        ["systemd-analyze", "verify", *units],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )

    # Warnings about this machine (no running systemd, no such user) are not the units' fault.
    problems = [
        line
        for line in done.stderr.splitlines()
        if "aidial-portal" in line and not re.search(r"user|group|Failed to connect", line, re.I)
    ]
    assert done.returncode == 0, done.stderr
    assert problems == []
