"""The Feast repository of a lake: its ``RepoConfig`` per profile, the ``FeatureStore``, ``apply``.

Profiles (``FEATURELAKE_PROFILE``):

- ``local``: DuckDB offline store, SQLite online store (``<lake>/feast/online.db``),
  file registry (``<lake>/feast/registry.db``);
- ``prod``: DuckDB offline store, Redis online store (``FEATURELAKE_REDIS_URL``),
  SQL registry in PostgreSQL (``FEATURELAKE_POSTGRES_DSN``).

Both use featurelake's materialization engine, so ``feast materialize`` is the
fast path too. The SDK builds the config in memory from the settings;
``write_feature_store_yaml`` writes the same config into the lake
(``<lake>/feast/feature_store.yaml``) for the plain ``feast`` CLI, which reads the
definitions from the checkout's ``feature_repo/``: ``feast -c feature_repo -f
<lake>/feast/feature_store.yaml apply``. Each lake has its own file, so a second
lake never overwrites the first one's.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from featurelake.catalog import Catalog
from featurelake.config import Settings, get_settings
from featurelake.features.definitions import FEATURE_TABLES, PROJECT, Definitions, build_definitions

if TYPE_CHECKING:
    from feast import FeatureStore, RepoConfig

__all__ = [
    "ENGINE",
    "FEATURE_REPO",
    "Engine",
    "apply",
    "close_store",
    "feast_command",
    "feast_dir",
    "feature_store",
    "redis_connection_string",
    "repo_config",
    "repo_config_dict",
    "sqlalchemy_url",
    "using_store",
    "write_feature_store_yaml",
]

ENGINE = "featurelake.features.engine.FeaturelakeEngine"
"""The batch engine class path in ``feature_store.yaml``."""

Engine = Literal["featurelake", "local"]

FEATURE_REPO = Path(__file__).resolve().parents[3] / "feature_repo"
"""The checkout's feature repository: the Feast definitions every lake registers."""


def feast_dir(settings: Settings) -> Path:
    """Where a lake keeps its Feast registry and SQLite online store."""
    return Path(settings.lake).absolute() / "feast"


def redis_connection_string(url: str) -> str:
    """Feast's Redis ``connection_string`` (``host:port,db=N,...``) for a ``redis://`` URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise ValueError(f"FEATURELAKE_REDIS_URL={url!r} must start with redis:// or rediss://")
    out = [f"{parts.hostname or '127.0.0.1'}:{parts.port or 6379}"]
    db = parts.path.strip("/")
    if db:
        out.append(f"db={int(db)}")
    if parts.username and parts.username != "default":
        out.append(f"username={parts.username}")
    if parts.password:
        out.append(f"password={parts.password}")
    if parts.scheme == "rediss":
        out.append("ssl=true")
    return ",".join(out)


def sqlalchemy_url(dsn: str) -> str:
    """A ``postgresql://`` DSN as the SQLAlchemy URL Feast's SQL registry takes (psycopg 3 driver)."""
    scheme, sep, rest = dsn.partition("://")
    if not sep or scheme not in ("postgresql", "postgres", "postgresql+psycopg"):
        raise ValueError(f"FEATURELAKE_POSTGRES_DSN={dsn!r} must be a postgresql:// URL")
    return f"postgresql+psycopg://{rest}"


def repo_config_dict(
    settings: Settings, *, engine: Engine = "featurelake", online_store: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The ``feature_store.yaml`` content for the settings' profile, as a dict.

    Args:
        settings: the lake and profile.
        engine: the batch engine.
        online_store: an online store config replacing the profile's (tests, benchmarks).
    """
    base = feast_dir(settings)
    registry: dict[str, Any]
    online: dict[str, Any]
    if settings.registry == "sql":
        registry = {
            "registry_type": "sql",
            "path": sqlalchemy_url(settings.postgres_dsn),
            "cache_ttl_seconds": 60,
            "sqlalchemy_config_kwargs": {"pool_pre_ping": True},
        }
    else:
        registry = {"registry_type": "file", "path": str(base / "registry.db"), "cache_ttl_seconds": 60}
    if settings.online_store == "redis":
        online = {"type": "redis", "connection_string": redis_connection_string(settings.redis_url)}
    else:
        online = {"type": "sqlite", "path": str(base / "online.db")}
    return {
        "project": PROJECT,
        "provider": "local",
        "registry": registry,
        "offline_store": {"type": "duckdb"},
        "online_store": dict(online_store) if online_store is not None else online,
        "batch_engine": {"type": ENGINE} if engine == "featurelake" else "local",
        "entity_key_serialization_version": 3,
        "auth": {"type": "no_auth"},
    }


def repo_config(
    settings: Settings | None = None,
    *,
    engine: Engine = "featurelake",
    online_store: Mapping[str, Any] | None = None,
) -> RepoConfig:
    """Feast's ``RepoConfig`` for the settings' profile.

    Args:
        settings: the lake and profile; the environment's when omitted.
        engine: ``featurelake`` (the fast engine) or ``local`` (Feast's own, for comparisons).
        online_store: an online store config replacing the profile's.
    """
    from feast import RepoConfig

    from featurelake.sql import install_delta_extension

    settings = settings or get_settings()
    install_delta_extension()  # Feast's DuckDB store runs `INSTALL delta; LOAD delta`: make it offline-safe
    base = feast_dir(settings)
    base.mkdir(parents=True, exist_ok=True)
    config = RepoConfig(**repo_config_dict(settings, engine=engine, online_store=online_store))
    config.repo_path = base
    return config


def feature_store(
    settings: Settings | None = None,
    *,
    engine: Engine = "featurelake",
    online_store: Mapping[str, Any] | None = None,
) -> FeatureStore:
    """A ``FeatureStore`` over the settings' lake and profile (see :func:`repo_config`)."""
    from feast import FeatureStore

    return FeatureStore(config=repo_config(settings, engine=engine, online_store=online_store))


def close_store(store: FeatureStore) -> None:
    """Release what a ``FeatureStore`` holds open (the SQL registry's connection pools)."""
    registry = getattr(store, "_registry", None)
    for name in ("write_engine", "read_engine"):
        engine = getattr(registry, name, None)
        if engine is not None:
            engine.dispose()


@contextmanager
def using_store(settings: Settings | None, store: FeatureStore | None) -> Iterator[FeatureStore]:
    """``store`` as given, or a new one for ``settings`` that is closed afterwards."""
    if store is not None:
        yield store
        return
    own = feature_store(settings)
    try:
        yield own
    finally:
        close_store(own)


def apply(
    settings: Settings | None = None, *, catalog: Catalog | None = None, store: FeatureStore | None = None
) -> Definitions:
    """Register the flights domain (``build_definitions``) and create the online tables.

    Gold tables that do not exist yet are created empty, so apply works on a new lake.
    """
    settings = settings or get_settings()
    catalog = catalog or Catalog(settings=settings)
    for name in FEATURE_TABLES:
        catalog.ensure(name)
    definitions = build_definitions(catalog)
    # Registering a source stamps it with the time, in place. Copies of the sources go first, so
    # the views keep their own, fixed stamps (DEFINED_AT: Feast keeps the first of two equal
    # sources) and a later `feast apply` finds the stored views unchanged instead of diffing them.
    objects: list[Any] = [
        *definitions.entities,
        *(copy.deepcopy(s) for s in definitions.sources),
        *definitions.feature_views,
        *definitions.feature_services,
    ]
    with using_store(settings, store) as fs:
        fs.apply(objects)
    return definitions


def write_feature_store_yaml(settings: Settings | None = None) -> Path:
    """Write ``<lake>/feast/feature_store.yaml`` for the settings' profile; return its path."""
    import yaml

    settings = settings or get_settings()
    path = feast_dir(settings) / "feature_store.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    header = (
        f"# Written by `featurelake features apply` for FEATURELAKE_PROFILE={settings.profile}, "
        f"lake {settings.lake}.\n# Re-run it after changing the profile. Plain Feast: {feast_command(path)}\n"
    )
    path.write_text(header + yaml.safe_dump(repo_config_dict(settings), sort_keys=False))
    return path


def feast_command(yaml_path: Path, subcommand: str = "apply") -> str:
    """The plain ``feast`` command line for a lake's ``feature_store.yaml``, from the checkout's root."""
    return f"feast -c {FEATURE_REPO} -f {yaml_path} {subcommand}"
