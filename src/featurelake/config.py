"""Every setting featurelake has, its default, and the profile that picks them.

One environment variable, ``FEATURELAKE_PROFILE`` (``local`` | ``prod``),
chooses the profile; every other setting is ``FEATURELAKE_<NAME>`` and
overrides the profile's default. Nothing here needs a server: the ``local``
profile runs on a laptop with no services at all.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from featurelake.errors import ConfigError

__all__ = ["Profile", "Settings", "get_settings"]

Profile = Literal["local", "prod"]

ENV_PREFIX = "FEATURELAKE_"

PROJECT_ROOT = Path(__file__).resolve().parents[2]
"""The checkout featurelake runs from (it is installed editable: ``pip install -e .``)."""

NYC_AIRPORTS = frozenset({"EWR", "JFK", "LGA"})
"""The origins of the reference data: New York City's three airports."""

_AIRPORT_CODE = re.compile(r"^[A-Z0-9]{3,4}$")


class Settings(BaseModel):
    """The resolved configuration of one featurelake process."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    profile: Profile = "local"
    """Which profile the defaults came from: ``local`` (embedded) or ``prod`` (servers)."""

    lake: Path = Path("lake")
    """Root folder of every Delta table, checkpoint and artifact."""

    landing: Path | None = None
    """Landing zone for Avro event files; ``<lake>/landing`` when unset."""

    spark_master: str = "local[*]"
    """Spark master URL: ``local[*]``, ``spark://host:7077``, ``k8s://...``, ``yarn``."""

    spark_ui: bool = False
    """Serve the Spark UI (port 4040 and up); off by default so tests can run side by side."""

    spark_driver_memory: str = "4g"
    """Driver JVM heap; only takes effect when featurelake starts the JVM."""

    spark_java_options: str = ""
    """More JVM options for the Spark driver and executors featurelake starts. ``-XX:TieredStopAtLevel=1``
    (the JIT's quick tier only) takes about 45 % less CPU for a short command such as an ``ingest
    --once`` of two days, which is what the test suite uses; long jobs run faster without it."""

    shuffle_partitions: int = Field(default_factory=lambda: max(4, 2 * (os.cpu_count() or 2)))
    """``spark.sql.shuffle.partitions``; Spark's 200 is far too many for a laptop."""

    redis_url: str = "redis://127.0.0.1:6379/0"
    """Redis for the Feast online store in the ``prod`` profile."""

    postgres_dsn: str = "postgresql://postgres@127.0.0.1:5432/featurelake"
    """PostgreSQL for the Feast registry and Airflow metadata in the ``prod`` profile."""

    kafka_bootstrap: str = "127.0.0.1:9092"
    """Kafka bootstrap servers (``host:port[,host:port...]``) the producers and Kafka ingest use.
    On this machine's loopback, ``featurelake services start`` runs the broker there itself
    (KRaft, data in ``<project>/.services/kafka``); anywhere else (``prod``) it is any broker."""

    jars: Path | None = None
    """Folder of the pinned Spark JARs (Delta, spark-avro, Kafka); ``<project>/.jars`` when unset."""

    maven_repo: str = "https://repo1.maven.org/maven2"
    """Maven repository ``make setup`` fetches the JARs from: Maven Central or a mirror of it."""

    airflow_home: Path = Path("airflow_home")
    """``AIRFLOW_HOME`` for ``make airflow`` and the DAG tests (ignored by git)."""

    airflow_host: str = "127.0.0.1"
    """The address Airflow's API server and UI listen on (``0.0.0.0``: every interface)."""

    airflow_login_attempts: int = Field(default=5, ge=1)
    """Failed Airflow logins from one address before its logins are refused (429)."""

    airflow_login_lockout_s: float = Field(default=900.0, gt=0)
    """How long after its last failed login an address stays locked out."""

    airflow_port: int = 8080
    """Port of the Airflow UI and API server."""

    airflow_db: str | None = None
    """SQLAlchemy URL of Airflow's metadata database. Unset: SQLite in ``airflow_home`` (``local``),
    database ``airflow`` on ``postgres_dsn``'s server (``prod``). SQLite serialises every write, so a
    scheduler, API server and CLI writing at once can still fail with "database is locked"."""

    mlflow_db: str | None = None
    """SQLAlchemy URL of MLflow's tracking and registry database. Unset: SQLite at
    ``<lake>/mlflow/mlflow.db`` (``local``), database ``mlflow`` on ``postgres_dsn``'s server
    (``prod``). Run artifacts (models, their preprocessing state) always live under ``<lake>/mlflow``."""

    challenger_mode: Literal["shadow", "canary"] = "shadow"
    """How ``POST /predict`` uses the ``challenger`` model version: ``shadow`` scores and logs every
    request with it and never returns its answer; ``canary`` lets it answer ``canary_share`` of the
    flights (sticky: the same flight always goes the same way)."""

    canary_share: float = Field(default=0.1, ge=0.0, le=1.0)
    """Share of flights (0 to 1) the challenger answers in ``canary`` mode."""

    serve_max_body_bytes: int = Field(default=1_048_576, ge=1024)
    """Largest request body ``featurelake serve`` reads; a longer one is answered 413 unread."""

    serve_max_entities: int = Field(default=10_000, ge=1)
    """Most entity rows one ``/get-online-features`` request may ask for (413 past it)."""

    serve_max_features: int = Field(default=1_000, ge=1)
    """Most feature references one request may name (400 past it)."""

    serve_plan_cache: int = Field(default=256, ge=1)
    """Distinct feature lists whose serving plans the server keeps (least recently used go first)."""

    serve_request_timeout_s: float = Field(default=10.0, gt=0)
    """Seconds a client has to send a whole request once it started one (408 and close past it)."""

    serve_idle_timeout_s: float = Field(default=60.0, gt=0)
    """Seconds an idle keep-alive connection stays open."""

    serve_access_log: str = "-"
    """Where ``featurelake serve`` writes one line per request: ``-`` (stderr), a file path, or ``off``."""

    role: str | None = None
    """The role a command runs as (``policy.toml``); the policy's ``default_role`` when unset."""

    policy: Path | None = None
    """The access policy file; the project's ``policy.toml`` when unset."""

    tokens: Path | None = None
    """The feature server's bearer tokens, stored hashed; ``<lake>/_security/tokens.json`` when unset."""

    share_group: str | None = None
    """A group that may read the lake: files are created 0640/0750 and folders pass the group on.
    Unset: the lake, the online store and Airflow's files are readable by their owner only (0600/0700)."""

    pseudonym_key: SecretStr | None = None
    """The secret of silver's keyed pseudonyms (HMAC-SHA256 of each direct identifier): any string
    of 32 characters or more, best from a secret manager. Unset: ``pseudonym_key_file``."""

    pseudonym_key_file: Path | None = None
    """A file holding the pseudonym secret; ``<lake>/_security/pseudonym.key`` when unset, created
    (32 random bytes, mode 0600) the first time silver needs it. Never in the repository."""

    lineage: str = "file"
    """OpenLineage events of every table write and Airflow task: ``file`` (``<lake>/lineage/``),
    an ``http(s)://`` URL of an OpenLineage endpoint (Marquez), or ``off``."""

    alert_email: str | None = None
    """Where alerts go (comma-separated addresses): a failed ``monitor`` DAG task e-mails its reason
    through Airflow's SMTP connection. Unset: alerts are only written to ``ops.alerts``."""

    smtp_url: str = "smtp://127.0.0.1:25"
    """The SMTP server of Airflow's ``smtp_default`` connection: ``smtp://host:port`` (plain),
    ``smtp+starttls://host:port`` or ``smtps://host:port``, with ``user:password@`` when it needs them."""

    alert_from: str = "featurelake@localhost"
    """The sender address of alert e-mails."""

    origins: str = "nyc"
    """The origin airports bronze accepts (the suites' ``origin_in_nyc``): ``nyc`` (the default: the
    suites as written, EWR, JFK and LGA), ``airports`` (every FAA code of the reference ``airports``
    table, which a ``produce synthetic --scale K`` world with K > 1 needs), or a comma-separated
    list of codes (``EWR,JFK,LGA,BOS``)."""

    @field_validator("origins")
    @classmethod
    def _origins_form(cls, value: str) -> str:
        word = value.strip().lower()
        if word in ("nyc", "airports"):
            return word
        codes = [c.strip().upper() for c in value.split(",")]
        bad = [c for c in codes if not _AIRPORT_CODE.match(c)]
        if bad:
            raise ValueError(
                f"not airport codes: {', '.join(repr(c) for c in bad)}; use nyc, airports, "
                "or a comma-separated list of 3-4 letter or digit codes"
            )
        return ",".join(codes)

    @property
    def landing_dir(self) -> Path:
        """The landing zone, defaulting to ``<lake>/landing``."""
        return self.landing if self.landing is not None else self.lake / "landing"

    @property
    def jars_dir(self) -> Path:
        """Where the pinned Spark JARs live, defaulting to ``<project>/.jars`` (git-ignored)."""
        return self.jars if self.jars is not None else PROJECT_ROOT / ".jars"

    @property
    def tokens_file(self) -> Path:
        """The feature server's hashed bearer tokens, defaulting to ``<lake>/_security/tokens.json``."""
        return self.tokens if self.tokens is not None else self.lake / "_security" / "tokens.json"

    @property
    def pseudonym_key_path(self) -> Path:
        """The pseudonym secret's file, defaulting to ``<lake>/_security/pseudonym.key``."""
        if self.pseudonym_key_file is not None:
            return self.pseudonym_key_file
        return self.lake / "_security" / "pseudonym.key"

    @property
    def origin_airports(self) -> frozenset[str]:
        """The airport codes ``origins`` names (``airports`` reads the reference table once)."""
        if self.origins == "nyc":
            return NYC_AIRPORTS
        if self.origins == "airports":
            return _reference_airports()
        return frozenset(self.origins.split(","))

    @property
    def online_store(self) -> Literal["sqlite", "redis"]:
        """Feast online store type for this profile."""
        return "redis" if self.profile == "prod" else "sqlite"

    @property
    def registry(self) -> Literal["file", "sql"]:
        """Feast registry type for this profile."""
        return "sql" if self.profile == "prod" else "file"


_PROFILE_DEFAULTS: dict[str, dict[str, object]] = {
    "local": {},
    # prod differs only where a server is involved; the master URL must be given.
    "prod": {"spark_master": "spark://127.0.0.1:7077"},
}


def get_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build the settings from ``FEATURELAKE_*`` environment variables.

    Args:
        environ: the environment to read; ``os.environ`` when omitted.

    Returns:
        The validated settings, lake paths made absolute.

    Raises:
        ConfigError: the profile is unknown or a value does not parse.
    """
    env = os.environ if environ is None else environ
    profile = env.get(f"{ENV_PREFIX}PROFILE", "local")
    if profile not in _PROFILE_DEFAULTS:
        raise ConfigError(f"FEATURELAKE_PROFILE={profile!r} is not a profile; use one of: local, prod")
    values: dict[str, object] = {"profile": profile, **_PROFILE_DEFAULTS[profile]}
    for name in Settings.model_fields:
        if name == "profile":
            continue
        raw = env.get(f"{ENV_PREFIX}{name.upper()}")
        if raw is not None and raw != "":
            values[name] = raw
    try:
        settings = Settings.model_validate(values)
    except ValidationError as e:
        first = e.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "?"
        raise ConfigError(f"{ENV_PREFIX}{field.upper()}={values.get(field)!r}: {first['msg']}") from e
    update: dict[str, object] = {
        "lake": settings.lake.expanduser().absolute(),
        "airflow_home": settings.airflow_home.expanduser().absolute(),
    }
    if settings.landing is not None:
        update["landing"] = settings.landing.expanduser().absolute()
    for name in ("jars", "policy", "tokens"):
        value = getattr(settings, name)
        if value is not None:
            update[name] = value.expanduser().absolute()
    for name in ("lake", "landing"):
        if name in update:
            _check_folder(f"{ENV_PREFIX}{name.upper()}", Path(str(update[name])))
    return settings.model_copy(update=update)


@functools.cache
def _reference_airports() -> frozenset[str]:
    # Imported here: reading settings must not import pyarrow and the reference data.
    from featurelake import datasets

    return frozenset(datasets.read("airports").column("faa").to_pylist())


def _check_folder(variable: str, path: Path) -> None:
    """A folder setting must be a folder, or creatable: no file at it or above it.

    Raises:
        ConfigError: naming the variable and the file in the way.
    """
    for at in (path, *path.parents):
        if at.exists():
            if not at.is_dir():
                where = "" if at == path else f": {at}"
                raise ConfigError(f"{variable}={path}{where} is a file, not a folder")
            return
