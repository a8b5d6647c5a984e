"""Bearer tokens of the feature server: each maps to one role of the policy, stored hashed.

``featurelake tokens create --role ml_service --name scorer`` prints a new token once; the
file keeps only its SHA-256 (a token is 32 random bytes, so a fast hash is enough: nothing
to guess from it). The server reads the file again when it changes, so ``tokens revoke``
takes effect without a restart.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from featurelake.config import Settings, get_settings
from featurelake.errors import ConfigError
from featurelake.governance.files import private_file

__all__ = ["PREFIX", "TokenBook", "create_token", "list_tokens", "revoke_token"]

PREFIX = "flk_"
"""Every token starts with it, so a leaked one is recognisable (secret scanners, logs)."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _read(path: Path) -> dict[str, dict[str, str]]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except ValueError as e:
        raise ConfigError(f"the token file {path} is not JSON: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"the token file {path} must hold a JSON object")
    return data


def _write(path: Path, data: dict[str, dict[str, str]]) -> None:
    text = json.dumps(data, indent=1, sort_keys=True) + "\n"
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    with private_file(tmp) as f:
        f.write(text)
    os.replace(tmp, path)


def create_token(role: str, name: str, settings: Settings | None = None) -> str:
    """A new token for ``role`` under ``name``; only its hash is kept.

    Raises:
        ConfigError: ``role`` is not in the policy, or ``name`` is taken.
    """
    from featurelake.governance.policy import load_policy

    settings = settings or get_settings()
    load_policy(settings).role(role)
    path = settings.tokens_file
    data = _read(path)
    if any(entry["name"] == name for entry in data.values()):
        raise ConfigError(f"a token named {name!r} exists; revoke it first or choose another name")
    token = PREFIX + secrets.token_urlsafe(32)
    data[_digest(token)] = {
        "name": name,
        "role": role,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    _write(path, data)
    return token


def revoke_token(name: str, settings: Settings | None = None) -> None:
    """Remove the token called ``name``.

    Raises:
        ConfigError: there is none.
    """
    settings = settings or get_settings()
    path = settings.tokens_file
    data = _read(path)
    kept = {k: v for k, v in data.items() if v["name"] != name}
    if len(kept) == len(data):
        raise ConfigError(f"no token is named {name!r} in {path}")
    _write(path, kept)


def list_tokens(settings: Settings | None = None) -> list[dict[str, str]]:
    """Name, role and creation time of every token (never the token)."""
    data = _read((settings or get_settings()).tokens_file)
    return sorted(
        ({"name": v["name"], "role": v["role"], "created": v["created"]} for v in data.values()),
        key=lambda r: r["name"],
    )


@dataclass
class TokenBook:
    """The token file as the server reads it: the role of a presented token, re-read on change."""

    path: Path
    _stamp: tuple[int, int] | None = None
    _roles: dict[str, tuple[str, str]] | None = None

    def holder(self, token: str) -> tuple[str, str] | None:
        """The name and role of ``token``; None for an unknown token."""
        self._reload()
        assert self._roles is not None
        return self._roles.get(_digest(token))

    def _reload(self) -> None:
        try:
            st = self.path.stat()
            stamp: tuple[int, int] | None = (st.st_ino, st.st_mtime_ns)
        except FileNotFoundError:
            stamp = None
        if self._roles is None or stamp != self._stamp:
            self._roles = {k: (v["name"], v["role"]) for k, v in _read(self.path).items()}
            self._stamp = stamp
