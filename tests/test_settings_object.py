"""One settings object: every AIDIAL_* variable is read in `aidial_portal/config.py` only.

Everything else reads `settings.AIDIAL` (a `PortalConfig`) or the Django settings built from it,
so a variable has one default, one parser and one place that documents it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from aidial_portal import config

PACKAGE = Path(config.__file__).resolve().parent
CONFIG_MODULE = PACKAGE / "config.py"


def _is_environ(node: ast.expr) -> bool:
    """`os.environ` or a bare `environ`."""
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
        isinstance(node, ast.Name) and node.id == "environ"
    )


def _environment_reads(tree: ast.AST) -> Iterator[tuple[int, ast.expr | None]]:
    """Each read of one variable: `os.environ[...]`, `os.environ.get(...)`, `os.getenv(...)`."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and _is_environ(node.value):
            yield node.lineno, node.slice
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            func = node.func
            reads_environ = _is_environ(func.value) and func.attr in {"get", "pop", "setdefault"}
            if reads_environ or func.attr == "getenv":
                yield node.lineno, node.args[0] if node.args else None


def _aidial_reads(path: Path) -> list[str]:
    """Reads of an AIDIAL_* variable, or of a variable whose name is not written out."""
    found = []
    for line, key in _environment_reads(ast.parse(path.read_text(), filename=str(path))):
        name = key.value if isinstance(key, ast.Constant) else None
        if not isinstance(name, str) or name.startswith("AIDIAL_"):
            found.append(f"{path.relative_to(PACKAGE.parent)}:{line}")
    return found


def test_no_module_but_config_reads_an_aidial_variable() -> None:
    modules = [path for path in PACKAGE.rglob("*.py") if path != CONFIG_MODULE]
    assert len(modules) > 20
    assert [read for path in modules for read in _aidial_reads(path)] == []


def test_the_check_sees_every_way_of_reading_a_variable(tmp_path: Path) -> None:
    module = tmp_path / "reads.py"
    module.write_text(
        "import os\nfrom os import environ\nNAME = 'AIDIAL_X'\n"
        "a = os.environ['AIDIAL_A']\n"
        "b = os.environ.get('AIDIAL_B', '')\n"
        "c = os.getenv('AIDIAL_C')\n"
        "d = environ.get(NAME)\n"
        "e = os.environ.get('PROMETHEUS_MULTIPROC_DIR')\n"
    )
    lines = [
        line
        for line, key in _environment_reads(ast.parse(module.read_text()))
        if not (isinstance(key, ast.Constant) and not str(key.value).startswith("AIDIAL_"))
    ]
    assert lines == [4, 5, 6, 7]


def test_config_reads_the_deployment_settings() -> None:
    settings_object = config.from_env(
        {
            "AIDIAL_DEBUG": "yes",
            "AIDIAL_SECRET_KEY": "k" * 50,
            "AIDIAL_ALLOWED_HOSTS": " portal.example.com , ,other.example.com",
            "AIDIAL_REDIS_URL": "redis://:hunter2secret@cache:6379/0",
            "AIDIAL_STATIC_ROOT": "/srv/portal/static",
            "AIDIAL_LOG_LEVEL": "debug",
            "AIDIAL_WORKERS": "3",
            "AIDIAL_AUDIT_RETENTION_DAYS": "90",
        }
    )
    assert settings_object.debug is True
    assert settings_object.allowed_hosts == ("portal.example.com", "other.example.com")
    assert settings_object.static_root == Path("/srv/portal/static")
    assert settings_object.log_level == "DEBUG"
    assert settings_object.workers == 3
    assert settings_object.audit_retention_days == "90"
    assert "k" * 50 not in repr(settings_object)
    assert "hunter2secret" not in repr(settings_object)


def test_deployment_defaults() -> None:
    settings_object = config.from_env({})
    assert settings_object.debug is False
    assert settings_object.allowed_hosts == ("127.0.0.1", "localhost")
    assert settings_object.static_root is None
    assert settings_object.workers is None
    assert settings_object.log_level == "INFO"


@pytest.mark.parametrize("value", ["many", "-1", "2.5"])
def test_bad_worker_count_names_the_variable(value: str) -> None:
    with pytest.raises(ValueError, match="AIDIAL_WORKERS"):
        config.from_env({"AIDIAL_WORKERS": value})


def test_the_time_zone_defaults_to_sydney_and_takes_any_iana_name() -> None:
    assert config.from_env({}).time_zone == "Australia/Sydney"
    assert config.from_env({"AIDIAL_TIME_ZONE": "Australia/Perth"}).time_zone == "Australia/Perth"


@pytest.mark.parametrize("value", ["Mars/Olympus", "AEDT", "../etc/passwd"])
def test_a_bad_time_zone_stops_start_up_naming_the_variable(value: str) -> None:
    with pytest.raises(config.ConfigError, match="AIDIAL_TIME_ZONE"):
        config.from_env({"AIDIAL_TIME_ZONE": value})
