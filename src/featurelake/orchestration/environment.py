"""The environment Airflow runs in: its home, metadata database, DAGs, login and Spark connection."""

from __future__ import annotations

import json
import os
import secrets
import sys
from pathlib import Path

from featurelake.config import ENV_PREFIX, Settings, get_settings
from featurelake.errors import ConfigError
from featurelake.orchestration.assets import SPARK_CONN_ID, spark_connection

__all__ = [
    "ADMIN_USER",
    "SQLITE_CONNECT_ARGS",
    "admin_password",
    "airflow_env",
    "repo_root",
    "smtp_connection",
]

SQLITE_CONNECT_ARGS = {"timeout": 60}
"""SQLite waits up to a minute for a lock: the scheduler, DAG processor, API server and CLI
all write the one metadata file, and the default 5 s loses to a busy 2-core laptop."""

ADMIN_USER = "admin"
PASSWORDS_FILE = "simple_auth_manager_passwords.json"


def repo_root() -> Path:
    """The checkout featurelake is installed from (it holds ``dags/`` and ``spark_jobs/``)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "dags").is_dir() and (parent / "spark_jobs").is_dir():
            return parent
    return Path.cwd()


def admin_password(home: Path) -> str:
    """The UI password of ``admin``, generated once per Airflow home and kept in its passwords file."""
    path = home / PASSWORDS_FILE
    if path.exists():
        return str(json.loads(path.read_text())[ADMIN_USER])
    home.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(12)
    path.write_text(json.dumps({ADMIN_USER: password}))
    path.chmod(0o600)
    return password


def _metadata_db(settings: Settings, *, driver: str = "psycopg2") -> str:
    """Airflow's metadata database URL, with the SQLAlchemy driver named.

    The sync engine uses psycopg2, the driver Airflow 3.3 is written against: under
    ``postgresql+psycopg`` SQLAlchemy casts JSON paths to VARCHAR and the UI's lineage
    graph (``/ui/dependencies``) fails with "operator does not exist: jsonb #> character
    varying". The async engine uses psycopg 3 (asyncpg, Airflow's default, is not installed).
    """
    if settings.airflow_db:
        dsn = settings.airflow_db
    elif settings.profile == "prod":
        dsn = settings.postgres_dsn.rsplit("/", 1)[0] + "/airflow"
    else:
        return f"sqlite:///{settings.airflow_home / 'airflow.db'}"
    return dsn.replace("postgresql://", f"postgresql+{driver}://", 1)


def smtp_connection(settings: Settings) -> str:
    """Airflow's ``smtp_default`` connection (JSON) for ``settings.smtp_url``.

    ``smtp://`` is plain SMTP (a local relay), ``smtp+starttls://`` upgrades with STARTTLS,
    ``smtps://`` is SMTP over TLS; the SMTP provider's extras say which.
    """
    from urllib.parse import unquote, urlsplit

    url = urlsplit(settings.smtp_url)
    if url.scheme not in ("smtp", "smtp+starttls", "smtps") or not url.hostname:
        raise ConfigError(
            f"FEATURELAKE_SMTP_URL={settings.smtp_url!r}: use smtp://host:port, smtp+starttls://host:port "
            "or smtps://host:port"
        )
    return json.dumps(
        {
            "conn_type": "smtp",
            "host": url.hostname,
            "port": url.port or (465 if url.scheme == "smtps" else 25),
            "login": unquote(url.username or ""),
            "password": unquote(url.password or ""),
            "extra": {
                "disable_ssl": url.scheme != "smtps",
                "disable_tls": url.scheme != "smtp+starttls",
                "from_email": settings.alert_from,
                "timeout": 30,
                "retry_limit": 2,
            },
        }
    )


def airflow_env(settings: Settings | None = None, *, base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment variables for any ``airflow`` command on featurelake's DAGs.

    SQLite metadata in ``local``, PostgreSQL (database ``airflow``) in ``prod``; LocalExecutor;
    the simple auth manager with one admin whose password is generated (no anonymous access);
    the Spark connection from the profile; this interpreter's ``bin`` first on ``PATH`` so
    ``spark-submit`` and ``airflow`` are the project's own.
    """
    settings = settings or get_settings()
    env = dict(os.environ if base is None else base)
    home = settings.airflow_home
    root = repo_root()
    admin_password(home)
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(root / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "2",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__CORE__AUTH_MANAGER": (
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
            ),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(
                home / "simple_auth_manager_passwords.json"
            ),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": _metadata_db(settings),
            **(
                {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": _metadata_db(settings, driver="psycopg")}
                if _metadata_db(settings).startswith("postgresql")
                else {}
            ),
            **(
                {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS": f"{__name__}.SQLITE_CONNECT_ARGS"}
                if _metadata_db(settings).startswith("sqlite")
                else {}
            ),
            "AIRFLOW__API__HOST": settings.airflow_host,
            "AIRFLOW__API__PORT": str(settings.airflow_port),
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{settings.airflow_port}",
            "AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL": "10",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            f"AIRFLOW_CONN_{SPARK_CONN_ID.upper()}": spark_connection(settings),
            "AIRFLOW_CONN_SMTP_DEFAULT": smtp_connection(settings),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
            "PYSPARK_PYTHON": sys.executable,
            "PYTHONPATH": os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH", "")) if p),
            "NO_PROXY": "*",
        }
    )
    # OpenLineage: Airflow's provider sends an event per task where featurelake's writes send theirs
    from featurelake.lineage import NAMESPACE, transport_config

    transport = transport_config(settings, "airflow.jsonl")
    if transport is None:
        env["AIRFLOW__OPENLINEAGE__DISABLED"] = "True"
    else:
        env["AIRFLOW__OPENLINEAGE__TRANSPORT"] = json.dumps(transport)
        env["AIRFLOW__OPENLINEAGE__NAMESPACE"] = NAMESPACE
        env[f"{ENV_PREFIX}LINEAGE"] = settings.lineage
    # every featurelake setting travels to the tasks explicitly, resolved
    env[f"{ENV_PREFIX}PROFILE"] = settings.profile
    env[f"{ENV_PREFIX}LAKE"] = str(settings.lake)
    env[f"{ENV_PREFIX}LANDING"] = str(settings.landing_dir)
    env[f"{ENV_PREFIX}SPARK_MASTER"] = settings.spark_master
    env[f"{ENV_PREFIX}AIRFLOW_HOME"] = str(home)
    if settings.alert_email:
        env[f"{ENV_PREFIX}ALERT_EMAIL"] = settings.alert_email
    return env
