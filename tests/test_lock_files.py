"""The lock files hold every extra that is asked for, so they install with any pip, any day.

A lock that pins `coverage==7.17.5` while `pytest-cov` asks for `coverage[toml]` leaves the old
pip that comes with Python 3.11 to resolve the extra by itself: it takes the newest upload and
refuses it in --require-hashes mode. So every requirement with an extra, whether a pinned package
asks for it (read from the installed distributions' metadata) or our own project files do, must
be pinned with that extra. This runs offline, on what `make test` installed.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Iterator
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_LOCK = ROOT / "requirements.txt"
DEV_LOCK = ROOT / "requirements-dev.txt"

_PIN = re.compile(r"^(?P<name>[A-Za-z0-9._-]+)(?:\[(?P<extras>[^\]]*)\])?==(?P<version>\S+)")


def pins(lock_text: str) -> dict[str, tuple[set[str], str]]:
    """Each pinned distribution of a lock file: its extras and its version."""
    found: dict[str, tuple[set[str], str]] = {}
    for line in lock_text.splitlines():
        match = _PIN.match(line)
        if match:
            extras = {e.strip() for e in (match["extras"] or "").split(",") if e.strip()}
            found[canonicalize_name(match["name"])] = (extras, match["version"])
    return found


def _applies(requirement: Requirement, asked_extras: Iterable[str]) -> bool:
    if requirement.marker is None:
        return True
    return any(requirement.marker.evaluate({"extra": extra}) for extra in ("", *asked_extras))


def _asked_by_pins(locked: dict[str, tuple[set[str], str]]) -> Iterator[tuple[str, Requirement]]:
    for name, (extras, _version) in locked.items():
        for line in metadata.distribution(name).requires or []:
            requirement = Requirement(line)
            if _applies(requirement, extras):
                yield name, requirement


def _asked_by_project(files: Iterable[Path]) -> Iterator[tuple[str, Requirement]]:
    for path in files:
        if path.suffix == ".toml":
            lines = tomllib.loads(path.read_text())["project"]["dependencies"]
        else:
            lines = [
                line.split("#", 1)[0].strip()
                for line in path.read_text().splitlines()
                if line.strip() and not line.lstrip().startswith(("#", "-"))
            ]
        for line in lines:
            if line:
                yield path.relative_to(ROOT).as_posix(), Requirement(line)


def unpinned_extras(lock_texts: Iterable[str], project_files: Iterable[Path] = ()) -> list[str]:
    """Every extra someone asks for that the locks do not pin, as 'asker -> name[extra]'."""
    locked: dict[str, tuple[set[str], str]] = {}
    for text in lock_texts:
        for name, (extras, version) in pins(text).items():
            locked.setdefault(name, (set(), version))[0].update(extras)
    askers = [*_asked_by_pins(locked), *_asked_by_project(project_files)]
    missing = []
    for asker, requirement in askers:
        if not requirement.extras:
            continue
        name = canonicalize_name(requirement.name)
        pinned_extras = locked.get(name, (set(), ""))[0]
        for extra in sorted(requirement.extras - pinned_extras):
            missing.append(f"{asker} -> {name}[{extra}]")
    return sorted(set(missing))


def test_the_runtime_lock_pins_every_extra_it_needs_on_its_own() -> None:
    # Production installs requirements.txt alone.
    assert unpinned_extras([RUNTIME_LOCK.read_text()], [ROOT / "pyproject.toml"]) == []


def test_the_development_locks_pin_every_extra_together() -> None:
    project_files = [
        ROOT / "pyproject.toml",
        ROOT / "requirements-dev.in",
        ROOT / "local_idp" / "pyproject.toml",
    ]
    assert unpinned_extras([RUNTIME_LOCK.read_text(), DEV_LOCK.read_text()], project_files) == []


def test_an_extra_stripped_by_hand_is_found() -> None:
    # The failure that broke fresh clones: pytest-cov asks for coverage[toml].
    stripped = DEV_LOCK.read_text().replace("coverage[toml]==", "coverage==")
    assert stripped != DEV_LOCK.read_text()
    assert "pytest-cov -> coverage[toml]" in unpinned_extras([RUNTIME_LOCK.read_text(), stripped])


def test_an_extra_our_own_project_asks_for_is_found(tmp_path: Path) -> None:
    stripped = RUNTIME_LOCK.read_text().replace("psycopg[binary,pool]==", "psycopg==")
    assert stripped != RUNTIME_LOCK.read_text()
    missing = unpinned_extras([stripped], [ROOT / "pyproject.toml"])
    assert missing == ["pyproject.toml -> psycopg[binary]", "pyproject.toml -> psycopg[pool]"]


def test_every_pin_is_what_is_installed() -> None:
    # The metadata read above is the locked version's, not some other release's.
    for lock in (RUNTIME_LOCK, DEV_LOCK):
        for name, (_extras, version) in pins(lock.read_text()).items():
            assert metadata.version(name) == version, f"{lock.name}: {name}"


def test_no_lock_records_a_registry_address_or_a_local_path() -> None:
    for lock in (RUNTIME_LOCK, DEV_LOCK):
        text = lock.read_text()
        # No option lines at all: an index, extra index or links folder would be one.
        assert [line for line in text.splitlines() if line.startswith("-")] == []
        assert "file://" not in text
        assert "://" not in text
        assert str(ROOT) not in text
