"""What a production install gets: the portal's wheel, without the local provider or test tools.

The wheels are built offline from a copy of the repository (setuptools' own build backend, no
build isolation), so the working tree is left untouched.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TEST_TOOLS = {"pytest", "mypy", "ruff", "playwright", "hypothesis", "django-stubs", "coverage"}


def _copy_repository(destination: Path) -> Path:
    source = destination / "checkout"
    ignore = shutil.ignore_patterns(
        "__pycache__", "*.egg-info", "build", ".venv", "var", "node_modules", ".*_cache"
    )
    for name in ("aidial_portal", "local_idp", "tests", "benchmarks", "scripts", "docs"):
        shutil.copytree(ROOT / name, source / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md", "Makefile"):
        shutil.copy2(ROOT / name, source / name)
    return source


def _build_wheel(project: Path, out: Path) -> zipfile.ZipFile:
    out.mkdir(exist_ok=True)
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from setuptools import build_meta; "
            "print(build_meta.build_wheel(sys.argv[1]))",
            str(out),
        ],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, "PIP_NO_INDEX": "1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return zipfile.ZipFile(out / result.stdout.strip().splitlines()[-1])


def _requirement_names(wheel: zipfile.ZipFile) -> set[str]:
    metadata_name = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
    metadata = Parser().parsestr(wheel.read(metadata_name).decode())
    return {
        re.split(r"[\s\[<>=!~;(]", requirement, maxsplit=1)[0].lower()
        for requirement in metadata.get_all("Requires-Dist") or []
    }


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _copy_repository(tmp_path_factory.mktemp("packaging"))


@pytest.fixture(scope="module")
def portal_wheel(checkout: Path) -> zipfile.ZipFile:
    return _build_wheel(checkout, checkout.parent / "portal-dist")


def test_portal_wheel_holds_the_portal_and_nothing_else(portal_wheel: zipfile.ZipFile) -> None:
    top_level = {name.split("/", 1)[0] for name in portal_wheel.namelist()}
    assert top_level == {"aidial_portal", "aidial_portal-0.1.0.dist-info"}


def test_portal_wheel_has_its_templates_static_files_and_migrations(
    portal_wheel: zipfile.ZipFile,
) -> None:
    names = set(portal_wheel.namelist())
    assert "aidial_portal/web/templates/portal/base.html" in names
    assert "aidial_portal/web/static/portal/portal.css" in names
    assert "aidial_portal/accounts/migrations/0001_initial.py" in names


def test_portal_wheel_requires_no_test_tool(portal_wheel: zipfile.ZipFile) -> None:
    requirements = _requirement_names(portal_wheel)
    assert "django" in requirements
    assert not {name for name in requirements if any(name.startswith(tool) for tool in TEST_TOOLS)}
    assert "zitadel-client" not in requirements


# Distributions the portal loads through Django's configuration rather than an import of its own.
LOADED_BY_DJANGO = {
    "psycopg": "django.db.backends.postgresql, chosen by AIDIAL_DATABASE_URL",
}


def _imported_top_level_names(package: Path) -> set[str]:
    """Module names that a package's sources import, or name in a dotted setting string."""
    names: set[str] = set()
    pattern = re.compile(r"^\s*(?:from|import)\s+([A-Za-z_]\w*)|[\"']([A-Za-z_]\w*)\.[A-Za-z_]")
    for path in package.rglob("*.py"):
        for line in path.read_text().splitlines():
            for match in pattern.finditer(line):
                names.add(match[1] or match[2])
    return names


def test_portal_wheel_requires_only_what_the_portal_imports(portal_wheel: zipfile.ZipFile) -> None:
    from importlib import metadata

    imported = _imported_top_level_names(ROOT / "aidial_portal")
    modules_of: dict[str, set[str]] = {}
    for module, distributions in metadata.packages_distributions().items():
        for distribution in distributions:
            modules_of.setdefault(distribution.lower().replace("_", "-"), set()).add(module)
    unused = sorted(
        name
        for name in _requirement_names(portal_wheel)
        if name not in LOADED_BY_DJANGO and not modules_of.get(name, set()) & imported
    )
    assert unused == []
    # The local provider's own needs left the portal's list (issue 18).
    assert not {"pyotp", "segno"} & _requirement_names(portal_wheel)


def test_local_provider_is_its_own_wheel(checkout: Path) -> None:
    wheel = _build_wheel(checkout / "local_idp", checkout.parent / "idp-dist")
    names = set(wheel.namelist())
    assert {name.split("/", 1)[0] for name in names} == {
        "local_idp",
        "aidial_local_idp-0.1.0.dist-info",
    }
    assert "local_idp/migrations/0001_initial.py" in names
    assert "local_idp/templates/local_idp/login.html" in names
    assert not any(name.endswith("pyproject.toml") for name in names)
    assert not {
        name
        for name in _requirement_names(wheel)
        if any(name.startswith(tool) for tool in TEST_TOOLS)
    }


def test_idp_command_names_what_to_install_when_the_provider_is_absent(tmp_path: Path) -> None:
    # Only the portal package on the path, no site-packages: as after `pip install` of the wheel.
    (tmp_path / "aidial_portal").symlink_to(ROOT / "aidial_portal")
    result = subprocess.run(
        [
            sys.executable,
            "-S",
            "-c",
            "from aidial_portal.cli import main; main(['idp', 'serve'])",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(tmp_path)},
    )
    assert result.returncode == 2
    assert "local identity provider is not installed" in result.stderr
    assert "pip install --editable ./local_idp" in result.stderr
    assert "Traceback" not in result.stderr


def test_idp_command_runs_the_provider_in_a_development_install() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "aidial-portal"), "idp", "--help"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "Local Zitadel-compatible identity provider" in result.stdout
