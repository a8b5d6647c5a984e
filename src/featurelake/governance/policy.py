"""The access policy: roles, what each may read and change, and who may take which (``policy.toml``).

A command runs as one role: ``--role``, else ``FEATURELAKE_ROLE``, else the policy's
``default_role``. The lake folder's owner may take any role; another OS user only the roles
the policy's ``[users]`` table lists for them (or for ``"*"``). The feature server maps each
bearer token to a role instead (:mod:`featurelake.governance.tokens`).
"""

from __future__ import annotations

import fnmatch
import getpass
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from featurelake.config import PROJECT_ROOT, Settings, get_settings
from featurelake.errors import AccessDenied, ConfigError

__all__ = ["ROLES", "Policy", "Role", "current_role", "load_policy"]

ROLES = ("admin", "engineer", "analyst", "ml_service")
"""The roles every policy declares."""


@dataclass(frozen=True)
class Role:
    """What one role may do."""

    name: str
    tables: tuple[str, ...]
    """Glob patterns of the tables it may read (``silver.*``)."""
    feature_services: tuple[str, ...]
    """Glob patterns of the feature services it may read from the feature server."""
    feature_views: tuple[str, ...]
    """Glob patterns of the feature views its ad-hoc ``view:feature`` lists may name."""
    write: bool = False
    """May change tables through ``featurelake spark-sql``."""
    duckdb_write: bool = False
    """May run statements other than reads in ``featurelake sql`` (files, ``ATTACH``, ``INSTALL``)."""

    def reads(self, table: str) -> bool:
        """Whether this role may read ``table`` (``layer.name``)."""
        return any(fnmatch.fnmatchcase(table, p) for p in self.tables)

    def serves(self, feature_service: str) -> bool:
        """Whether this role may read ``feature_service`` from the feature server."""
        return any(fnmatch.fnmatchcase(feature_service, p) for p in self.feature_services)

    def serves_views(self, views: list[str]) -> bool:
        """Whether this role may read every one of ``views`` through an ad-hoc feature list."""
        return all(any(fnmatch.fnmatchcase(v, p) for p in self.feature_views) for v in views)

    def refuse_table(self, table: str) -> str:
        """The one-line refusal for a read of ``table``."""
        return f"role {self.name} may not read {table} (policy: {', '.join(self.tables) or 'no tables'})"


@dataclass(frozen=True)
class Policy:
    """The parsed policy file."""

    path: Path
    default_role: str
    roles: dict[str, Role]
    users: dict[str, tuple[str, ...]]

    def role(self, name: str) -> Role:
        """The role called ``name``.

        Raises:
            ConfigError: the policy has no such role.
        """
        try:
            return self.roles[name]
        except KeyError:
            raise ConfigError(
                f"role {name!r} is not in {self.path}; use one of: {', '.join(self.roles)}"
            ) from None

    def may_take(self, user: str, role: str, *, owner: bool) -> bool:
        """Whether OS user ``user`` may run as ``role`` (the lake's owner may take any)."""
        return owner or role in self.users.get(user, self.users.get("*", ()))


def _strings(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where} must be a list of strings")
    return tuple(value)


def load_policy(settings: Settings | None = None) -> Policy:
    """Read and check the policy file (``FEATURELAKE_POLICY``, else the project's ``policy.toml``).

    Raises:
        ConfigError: the file is missing, not TOML, or lacks a role or a field (one line naming it).
    """
    settings = settings or get_settings()
    path = settings.policy if settings.policy is not None else PROJECT_ROOT / "policy.toml"
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"the access policy {path} does not exist (FEATURELAKE_POLICY)") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"the access policy {path} is not TOML: {e}") from None
    declared = data.get("roles", {})
    missing = [r for r in ROLES if r not in declared]
    if missing:
        raise ConfigError(f"the access policy {path} lacks the role(s) {', '.join(missing)}")
    roles: dict[str, Role] = {}
    for name, spec in declared.items():
        where = f"{path}: roles.{name}"
        unknown = set(spec) - {"tables", "feature_services", "feature_views", "write", "duckdb_write"}
        if unknown:
            raise ConfigError(f"{where} has unknown key(s) {', '.join(sorted(unknown))}")
        roles[name] = Role(
            name=name,
            tables=_strings(spec.get("tables", []), f"{where}.tables"),
            feature_services=_strings(spec.get("feature_services", []), f"{where}.feature_services"),
            feature_views=_strings(spec.get("feature_views", []), f"{where}.feature_views"),
            write=bool(spec.get("write", False)),
            duckdb_write=bool(spec.get("duckdb_write", False)),
        )
    users = {u: _strings(r, f"{path}: users.{u}") for u, r in data.get("users", {}).items()}
    for user, taken in users.items():
        for r in taken:
            if r not in roles:
                raise ConfigError(f"{path}: users.{user} names role {r!r}, which is not declared")
    default = data.get("default_role", "engineer")
    if default not in roles:
        raise ConfigError(f"{path}: default_role {default!r} is not declared")
    return Policy(path=path, default_role=default, roles=roles, users=users)


def current_role(requested: str | None = None, settings: Settings | None = None) -> Role:
    """The role this command runs as: ``requested``, else ``FEATURELAKE_ROLE``, else the default.

    Raises:
        ConfigError: no such role.
        AccessDenied: this OS user may not take it.
    """
    settings = settings or get_settings()
    policy = load_policy(settings)
    name = requested or settings.role or policy.default_role
    role = policy.role(name)
    user = getpass.getuser()
    lake = settings.lake
    owner = not lake.exists() or lake.stat().st_uid == os.geteuid()
    if not policy.may_take(user, name, owner=owner):
        allowed = policy.users.get(user, policy.users.get("*", ()))
        raise AccessDenied(
            f"user {user} may not take role {name} on {lake} "
            f"(policy {policy.path} allows: {', '.join(allowed) or 'none'})"
        )
    return role
