"""Where the provider keeps its state and how it names itself.

Everything here is read from the environment so that every command (and the server) agrees on
one data directory and one issuer.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

DATA_DIR_ENV = "AIDIAL_IDP_DATA_DIR"
ISSUER_ENV = "AIDIAL_IDP_ISSUER"
RETURN_URL_ENV = "AIDIAL_IDP_RETURN_URL"
DEFAULT_RETURN_URL = "http://127.0.0.1:8000/settings/"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


def data_dir() -> Path:
    """The directory holding the SQLite database, the Django secret key and the signing keys."""
    configured = os.environ.get(DATA_DIR_ENV)
    if configured:
        return Path(configured).expanduser().resolve()
    return Path(__file__).resolve().parents[1] / "var" / "idp"


def ensure_private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def write_private_file(path: Path, content: str) -> None:
    """Write ``content`` atomically to a file only its owner can read."""
    ensure_private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(content)
    os.replace(tmp, path)


def django_secret_key(directory: Path) -> str:
    """The provider's own Django secret key, generated on first use and kept in the data dir."""
    path = directory / "django-secret-key"
    if not path.exists():
        write_private_file(path, secrets.token_urlsafe(50))
    return path.read_text(encoding="utf-8").strip()


def format_issuer(host: str, port: int) -> str:
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def issuer() -> str:
    """The issuer: ``AIDIAL_IDP_ISSUER`` if set, else what ``serve`` bound to."""
    configured = os.environ.get(ISSUER_ENV)
    if configured:
        return configured.rstrip("/")
    return format_issuer(DEFAULT_HOST, DEFAULT_PORT)


def return_url() -> str:
    return os.environ.get(RETURN_URL_ENV) or DEFAULT_RETURN_URL
