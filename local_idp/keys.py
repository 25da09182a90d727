"""RS256 signing keys, persisted in the data directory.

``keys/state.json`` names the current key and the previous ones still published in the JWKS
until their grace period ends. The server reads the state on every use, so ``rotate-key`` run
from another process takes effect at once.
"""

from __future__ import annotations

import fcntl
import functools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from joserfc.jwk import RSAKey

from local_idp import config
from local_idp.models import new_resource_id

DEFAULT_GRACE = timedelta(days=1)


def _keys_dir() -> Path:
    return config.ensure_private_dir(config.data_dir() / "keys")


@contextmanager
def _locked() -> Iterator[Path]:
    directory = _keys_dir()
    with open(directory / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield directory
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _read_state(directory: Path) -> dict[str, Any] | None:
    path = directory / "state.json"
    if not path.exists():
        return None
    state: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return state


def _write_state(directory: Path, state: dict[str, Any]) -> None:
    config.write_private_file(directory / "state.json", json.dumps(state, indent=2))


def _new_key(directory: Path) -> str:
    kid = new_resource_id()
    key = RSAKey.generate_key(
        2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"}, private=True
    )
    config.write_private_file(directory / f"{kid}.json", json.dumps(key.as_dict(private=True)))
    return kid


@functools.lru_cache(maxsize=16)
def _load_key(directory: Path, kid: str) -> RSAKey:
    # Key files never change once written (a kid names one key), so parsing once is enough.
    return RSAKey.import_key(json.loads((directory / f"{kid}.json").read_text(encoding="utf-8")))


def _state() -> dict[str, Any]:
    directory = _keys_dir()
    state = _read_state(directory)
    if state is not None:
        return state
    with _locked() as directory:
        state = _read_state(directory)
        if state is None:
            state = {"current": _new_key(directory), "previous": []}
            _write_state(directory, state)
        return state


def _live_previous(state: dict[str, Any], now: datetime) -> list[dict[str, str]]:
    return [p for p in state["previous"] if datetime.fromisoformat(p["until"]) > now]


def ensure_signing_key() -> str:
    """Create the first key if there is none; return the current kid."""
    return str(_state()["current"])


def current_signing_key() -> RSAKey:
    state = _state()
    return _load_key(_keys_dir(), state["current"])


def public_jwks() -> dict[str, list[dict[str, Any]]]:
    state = _state()
    directory = _keys_dir()
    kids = [state["current"]] + [p["kid"] for p in _live_previous(state, datetime.now(UTC))]
    return {"keys": [_load_key(directory, kid).as_dict(private=False) for kid in kids]}


def rotate(grace: timedelta = DEFAULT_GRACE) -> dict[str, Any]:
    """Sign with a new key from now on; keep the old public key published for ``grace``."""
    _state()
    now = datetime.now(UTC)
    with _locked() as directory:
        state = _read_state(directory)
        assert state is not None  # noqa: S101 - created by _state() above
        previous = _live_previous(state, now)
        previous.insert(0, {"kid": state["current"], "until": (now + grace).isoformat()})
        for gone in state["previous"]:
            if gone not in previous:
                (directory / f"{gone['kid']}.json").unlink(missing_ok=True)
        state = {"current": _new_key(directory), "previous": previous}
        _write_state(directory, state)
    return {"kid": state["current"], "previous_kids": [p["kid"] for p in previous]}
