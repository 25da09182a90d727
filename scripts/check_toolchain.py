"""Says, before anything is installed, whether this Python and its pip can install the locks.

Run by `make` with the interpreter that will create `.venv`, and again with the venv's own
Python once it exists. Standard library only: nothing is installed yet.
"""

from __future__ import annotations

import sys
from importlib import metadata

PYTHONS = ((3, 11), (3, 12))  # pyproject.toml: requires-python = ">=3.11,<3.13"
# Python 3.11's own pip (23.2.1, ensurepip) installs both hashed locks as they are; pip 20.3
# is the first whose resolver reads pinned extras (`coverage[toml]==...`) in --require-hashes mode.
OLDEST_PIP = (20, 3)


def problems() -> list[str]:
    found = []
    python = sys.version_info[:2]
    if python not in PYTHONS:
        found.append(
            f"the portal needs Python 3.11 or 3.12; {sys.executable} is "
            f"{sys.version.split()[0]}. Run `make PYTHON=python3.11 ...` (or 3.12), "
            "after `rm -rf .venv` if it was made with another Python."
        )
    try:
        pip = metadata.version("pip")
    except metadata.PackageNotFoundError:
        found.append(
            f"{sys.executable} has no pip: install the interpreter's own "
            "(`python3 -m ensurepip`, or Debian's python3-venv), then run make again."
        )
    else:
        if tuple(int(part) for part in pip.split(".")[:2]) < OLDEST_PIP:
            found.append(
                f"pip {pip} is older than 20.3 and cannot install the hashed lock files: "
                "`rm -rf .venv` and make again with Python 3.11 or 3.12, whose own pip is newer."
            )
    return found


def main() -> int:
    for problem in problems():
        print(f"make: {problem}", file=sys.stderr)
    return 1 if problems() else 0


if __name__ == "__main__":
    sys.exit(main())
