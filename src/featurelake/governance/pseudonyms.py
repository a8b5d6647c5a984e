"""Keyed pseudonyms: HMAC-SHA256 of a direct identifier under a secret only the lake holds.

Silver replaces each direct identifier of a contract (``pii: direct``) with its
pseudonym: the same person gets the same pseudonym in every table and every
run, so features can be computed per person, while nobody without the secret
can compute the pseudonym of a known e-mail address or reverse one.

The secret comes from ``FEATURELAKE_PSEUDONYM_KEY``, else from the file
``FEATURELAKE_PSEUDONYM_KEY_FILE`` (default ``<lake>/_security/pseudonym.key``,
created with 32 random bytes and mode 0600 on first use). It is never part of
the repository. Each pseudonym table records the key's id (:func:`key_id`), so
a table built with another key is recognised.

Spark computes the HMAC in the JVM (:func:`hmac_column`: SHA-256 over the
key's inner and outer pads, RFC 2104), with no Python worker; the pads are
plan literals, which the session's ``spark.sql.redaction.string.regex`` hides
in plan strings (:data:`PAD_REDACTION`). :func:`pseudonym` is the same function
in Python, for lookups (``featurelake forget --email``) and for independent
checks.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import TYPE_CHECKING

from featurelake.config import Settings, get_settings
from featurelake.errors import ConfigError
from featurelake.governance.files import private_file

if TYPE_CHECKING:
    from pyspark.sql import Column

__all__ = ["PAD_REDACTION", "hmac_column", "key_id", "normalise_email", "pseudonym", "pseudonym_key"]

_BLOCK = 64
MIN_KEY_CHARS = 32
PAD_REDACTION = "(?i)(?:X'|0x)[0-9A-F]{128}'?"
"""Matches the HMAC pads as Spark prints binary literals in plans (UI, explain, errors)."""


def pseudonym_key(settings: Settings | None = None) -> bytes:
    """The pseudonym secret: the setting, else the key file (made on first use).

    Raises:
        ConfigError: the secret is shorter than 32 characters, or its file is empty or readable
            by others.
    """
    settings = settings or get_settings()
    if settings.pseudonym_key is not None:
        key = settings.pseudonym_key.get_secret_value().encode()
        if len(key) < MIN_KEY_CHARS:
            raise ConfigError(f"FEATURELAKE_PSEUDONYM_KEY must be at least {MIN_KEY_CHARS} characters")
        return key
    path = settings.pseudonym_key_path
    if not path.exists():
        with private_file(path) as f:
            f.write(secrets.token_hex(32) + "\n")
    if path.stat().st_mode & 0o077:
        raise ConfigError(f"{path} is readable by other users; chmod 600 it (it is the pseudonym secret)")
    key = path.read_bytes().strip()
    if len(key) < MIN_KEY_CHARS:
        raise ConfigError(
            f"{path} holds {len(key)} bytes; the pseudonym secret needs {MIN_KEY_CHARS} or more"
        )
    return key


def key_id(key: bytes) -> str:
    """A short public id of ``key`` (not the key): which secret a pseudonym table was built with."""
    return hashlib.sha256(b"featurelake pseudonym key id\0" + key).hexdigest()[:12]


def pseudonym(key: bytes, value: str | None) -> str | None:
    """HMAC-SHA256 of ``value`` (UTF-8) under ``key``, as 64 hex digits; None for None."""
    if value is None:
        return None
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def normalise_email(email: str) -> str:
    """The form e-mail addresses are pseudonymised in: trimmed, lower case."""
    return email.strip().lower()


def _pads(key: bytes) -> tuple[bytes, bytes]:
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def hmac_column(value: Column, key: bytes) -> Column:
    """HMAC-SHA256 of a string column under ``key``, 64 hex digits (null stays null), in the JVM."""
    from pyspark.sql import functions as F

    inner_pad, outer_pad = _pads(key)
    inner = F.unhex(F.sha2(F.concat(F.lit(inner_pad), value.cast("binary")), 256))
    return F.sha2(F.concat(F.lit(outer_pad), inner), 256)
