"""MLflow tracking and model registry: where featurelake's models, runs and aliases live.

- ``local``: tracking and registry in SQLite at ``<lake>/mlflow/mlflow.db``;
- ``prod``: database ``mlflow`` on ``FEATURELAKE_POSTGRES_DSN``'s server;
- ``FEATURELAKE_MLFLOW_DB`` (any SQLAlchemy URL) overrides both.

Run artifacts (the model, its preprocessing state, the metrics and lineage documents) live
under ``<lake>/mlflow/artifacts`` in both profiles. Every trained version is a registered
model version; two aliases say which one is in use:

- ``champion``: what scoring and ``/predict`` answer with;
- ``challenger``: the candidate, scored beside the champion (shadow or canary).

The champion's history is kept as a registered-model tag, so ``rollback`` can give the
previous champion its alias back.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from featurelake.config import Settings, get_settings
from featurelake.errors import FeaturelakeError

if TYPE_CHECKING:
    from mlflow import MlflowClient

__all__ = [
    "ALIASES",
    "CHALLENGER",
    "CHAMPION",
    "ModelVersion",
    "artifact_root",
    "client",
    "experiment_id",
    "list_versions",
    "promote",
    "register_new",
    "resolve",
    "rollback",
    "store_exists",
    "tracking",
    "tracking_uri",
]

CHAMPION = "champion"
CHALLENGER = "challenger"
ALIASES = (CHAMPION, CHALLENGER)
Alias = Literal["champion", "challenger"]

METRICS_FILE = "metrics.json"
LINEAGE_FILE = "lineage.json"
"""The run artifacts holding a version's whole metrics and lineage documents."""
HISTORY_TAG = "featurelake.champion_history"
"""Registered-model tag: the versions that held ``champion``, oldest first (JSON list)."""

_VERSION = re.compile(r"^v?(\d+)$")


def tracking_uri(settings: Settings | None = None) -> str:
    """The SQLAlchemy URL of MLflow's tracking and registry store for ``settings``."""
    settings = settings or get_settings()
    if settings.mlflow_db:
        dsn = settings.mlflow_db
    elif settings.profile == "prod":
        dsn = settings.postgres_dsn.rsplit("/", 1)[0] + "/mlflow"
    else:
        folder = settings.lake / "mlflow"
        folder.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{folder / 'mlflow.db'}"
    return dsn.replace("postgresql://", "postgresql+psycopg2://", 1)


def store_stamp(settings: Settings | None = None) -> tuple[int, ...] | None:
    """What changes whenever a SQLite store is written (its files' sizes and times); None for a server.

    A poller compares stamps to skip reading an unchanged store; a database server has no such
    cheap sign and is read every time.
    """
    uri = tracking_uri(settings)
    if not uri.startswith("sqlite:///"):
        return None
    db = uri.removeprefix("sqlite:///")
    stamp: list[int] = []
    for path in (db, f"{db}-wal", f"{db}-journal"):
        try:
            st = os.stat(path)
        except FileNotFoundError:
            stamp += [-1, -1]
        else:
            stamp += [st.st_mtime_ns, st.st_size]
    return tuple(stamp)


def store_exists(settings: Settings | None = None) -> bool:
    """False only for a local store never created (nothing trained in this lake yet)."""
    settings = settings or get_settings()
    if settings.mlflow_db or settings.profile == "prod":
        return True
    return (settings.lake / "mlflow" / "mlflow.db").exists()


def artifact_root(settings: Settings | None = None) -> Path:
    """``<lake>/mlflow/artifacts``: where every run's artifacts are stored."""
    return (settings or get_settings()).lake / "mlflow" / "artifacts"


def _quiet() -> None:
    """MLflow and alembic log every schema migration at INFO; featurelake's output is its own."""
    for name in ("alembic", "mlflow"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # mlflow 3.17's SQL store still uses noload(), which SQLAlchemy 2.1 deprecates, loudly
    warnings.filterwarnings("ignore", message=r"The ``noload`` loader strategy is deprecated")
    os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


def client(settings: Settings | None = None) -> MlflowClient:
    """An MLflow client on the lake's tracking and registry store (created on first use)."""
    from mlflow import MlflowClient

    _quiet()
    uri = tracking_uri(settings)
    try:
        return MlflowClient(tracking_uri=uri, registry_uri=uri)
    except Exception as e:  # the store could not be opened or migrated
        raise FeaturelakeError(f"MLflow store {uri} cannot be opened: {str(e).splitlines()[0]}") from e


def experiment_id(name: str, settings: Settings | None = None) -> str:
    """The id of experiment ``name``, created with its artifacts under the lake when missing."""
    settings = settings or get_settings()
    c = client(settings)
    found = c.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    location = artifact_root(settings) / name
    location.mkdir(parents=True, exist_ok=True)
    tags = {
        # the UI opens a model-training experiment on its runs, not on the GenAI trace views
        "mlflow.experimentKind": "custom_model_development",
        "mlflow.note.content": f"featurelake model {name!r}: one run per training, each registering a "
        f"version of the registered model {name!r} (aliases champion and challenger).",
    }
    try:
        return str(c.create_experiment(name, artifact_location=location.as_uri(), tags=tags))
    except Exception:  # another process created it first
        found = c.get_experiment_by_name(name)
        if found is None:
            raise
        return str(found.experiment_id)


@contextlib.contextmanager
def tracking(settings: Settings | None = None) -> Iterator[str]:
    """Point MLflow's fluent API (``mlflow.start_run``, ``log_model``) at the lake's store, then back."""
    import mlflow

    _quiet()
    uri = tracking_uri(settings)
    before = (mlflow.get_tracking_uri(), mlflow.get_registry_uri())
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        yield uri
    finally:
        mlflow.set_tracking_uri(before[0])
        mlflow.set_registry_uri(before[1])


@dataclass(frozen=True)
class ModelVersion:
    """One registered version of a model, as the registry knows it."""

    name: str
    version: str
    """MLflow's version number, as text (``"3"``)."""
    aliases: tuple[str, ...]
    run_id: str
    created: dt.datetime
    metrics: dict[str, Any] = field(default_factory=dict)
    """The training run's metrics document (validation metrics of the model and baselines)."""
    lineage: dict[str, Any] = field(default_factory=dict)
    """Feature service, features, Delta table versions, ranges, seed, versions of the tools."""

    @property
    def uri(self) -> str:
        """``models:/<name>/<version>``: what ``mlflow.pyfunc.load_model`` takes."""
        return f"models:/{self.name}/{self.version}"


def _run_document(c: MlflowClient, run_id: str, path: str) -> dict[str, Any]:
    """A JSON artifact of a run; empty when the run has none (a version registered by hand)."""
    import tempfile

    if not run_id:
        return {}
    with tempfile.TemporaryDirectory() as tmp:
        try:
            local = c.download_artifacts(run_id, path, tmp)
        except Exception:
            return {}
        return dict(json.loads(Path(local).read_text()))


def _version(c: MlflowClient, mv: Any, aliases: dict[str, str] | None = None) -> ModelVersion:
    """A registry record as a :class:`ModelVersion`; ``aliases`` (alias -> version) are the
    registered model's, since a version found by search does not carry its own."""
    own = set(mv.aliases or ()) | {a for a, v in (aliases or {}).items() if str(v) == str(mv.version)}
    run_id = mv.run_id or ""
    return ModelVersion(
        name=mv.name,
        version=str(mv.version),
        aliases=tuple(sorted(own)),
        run_id=run_id,
        created=dt.datetime.fromtimestamp(mv.creation_timestamp / 1000, dt.UTC),
        metrics=_run_document(c, run_id, METRICS_FILE),
        lineage=_run_document(c, run_id, LINEAGE_FILE),
    )


def list_versions(name: str | None = None, settings: Settings | None = None) -> list[ModelVersion]:
    """Every registered version (of ``name``, or of every model), oldest first per model."""
    if not store_exists(settings):
        return []
    c = client(settings)
    found = c.search_model_versions(f"name = '{name}'" if name else "")
    aliases = {n: dict(c.get_registered_model(n).aliases or {}) for n in {mv.name for mv in found}}
    out = [_version(c, mv, aliases[mv.name]) for mv in found]
    return sorted(out, key=lambda v: (v.name, int(v.version)))


def resolve(name: str, ref: str | None = None, settings: Settings | None = None) -> ModelVersion:
    """A version of ``name`` by number (``3`` or ``v3``) or alias (``champion``; the default).

    Raises:
        FeaturelakeError: no such model, version or alias.
    """
    from mlflow.exceptions import MlflowException

    ref = ref or CHAMPION
    if not store_exists(settings):
        raise FeaturelakeError(
            f"no trained model {name!r}; train one first: "
            "featurelake train delay --from 2013-01-01 --to 2014-01-01"
        )
    c = client(settings)
    try:
        if m := _VERSION.match(ref):
            mv = c.get_model_version(name, m.group(1))
        else:
            mv = c.get_model_version_by_alias(name, ref.lstrip("@"))
    except MlflowException as e:
        versions = list_versions(name, settings)
        if not versions:
            raise FeaturelakeError(
                f"no trained model {name!r}; train one first: featurelake train delay "
                "--from 2013-01-01 --to 2014-01-01"
            ) from e
        known = ", ".join(f"{v.version}{'@' + '@'.join(v.aliases) if v.aliases else ''}" for v in versions)
        raise FeaturelakeError(f"model {name!r} has no version or alias {ref!r}; it has {known}") from e
    return _version(c, mv, dict(c.get_registered_model(name).aliases or {}))


def _history(c: MlflowClient, name: str) -> list[str]:
    model = c.get_registered_model(name)
    return list(json.loads((model.tags or {}).get(HISTORY_TAG, "[]")))


def _set_champion(c: MlflowClient, name: str, version: str, history: list[str]) -> None:
    c.set_registered_model_alias(name, CHAMPION, version)
    c.set_registered_model_tag(name, HISTORY_TAG, json.dumps([*history, version][-50:]))


def register_new(name: str, version: str, settings: Settings | None = None) -> str:
    """Give a freshly trained version its alias: ``champion`` if the model has none, else ``challenger``."""
    c = client(settings)
    aliases = c.get_registered_model(name).aliases or {}
    if CHAMPION not in aliases:
        _set_champion(c, name, version, _history(c, name))
        return CHAMPION
    c.set_registered_model_alias(name, CHALLENGER, version)
    return CHALLENGER


def promote(name: str, ref: str, alias: Alias, settings: Settings | None = None) -> ModelVersion:
    """Point ``alias`` at version ``ref``; a challenger promoted to champion stops being challenger.

    Raises:
        FeaturelakeError: no such version, or it already holds the other alias in a way that
        would leave one version both champion and challenger.
    """
    if alias not in ALIASES:
        raise FeaturelakeError(f"alias {alias!r} is not one of: {', '.join(ALIASES)}")
    target = resolve(name, ref, settings)
    c = client(settings)
    if alias == CHAMPION:
        if CHAMPION not in target.aliases:
            _set_champion(c, name, target.version, _history(c, name))
        if CHALLENGER in target.aliases:
            c.delete_registered_model_alias(name, CHALLENGER)
    else:
        if CHAMPION in target.aliases:
            raise FeaturelakeError(
                f"{name} version {target.version} is the champion; promote another version to "
                "champion first, or roll back"
            )
        c.set_registered_model_alias(name, CHALLENGER, target.version)
    return resolve(name, target.version, settings)


def rollback(name: str, settings: Settings | None = None) -> tuple[str, str]:
    """Give ``champion`` back to the version that held it before the current one.

    Returns:
        (the version that lost the alias, the version that holds it now).

    Raises:
        FeaturelakeError: there is no earlier champion to go back to.
    """
    c = client(settings)
    current = resolve(name, CHAMPION, settings).version
    history = _history(c, name)
    while history and history[-1] == current:
        history.pop()
    if not history:
        raise FeaturelakeError(
            f"model {name!r}: version {current} is its first champion; nothing to roll back to"
        )
    previous = history[-1]
    c.set_registered_model_alias(name, CHAMPION, previous)
    c.set_registered_model_tag(name, HISTORY_TAG, json.dumps(history))
    return current, previous
