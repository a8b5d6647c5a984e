"""Online predictions for ``POST /predict``: the champion answers, the challenger shadows or canaries.

A request names one flight::

    {"carrier": "UA", "origin": "EWR", "dest": "IAH", "tailnum": "N14228",
     "scheduled_departure": "2013-12-31T17:30:00Z", "event_id": "...", "request_id": "..."}

(``event_id`` and ``request_id`` optional). The feature server reads the flight's online
features of ``delay_model_v1``; :class:`Predictor` scores them with the model version holding
the ``champion`` alias and answers the probability with that version. The ``challenger``, when
there is one, runs as ``FEATURELAKE_CHALLENGER_MODE`` says:

- ``shadow``: it scores every request too; its score is logged, never returned;
- ``canary``: it answers ``FEATURELAKE_CANARY_SHARE`` of the flights, chosen by a hash of the
  flight's key (carrier, origin, dest, tailnum, scheduled departure), so a flight asked about
  twice gets the same model both times.

Every prediction, shadow ones included, goes to ``ops.prediction_log``. The aliases are read
again every :data:`REFRESH_S` seconds off the request path, so ``featurelake models promote`` and
``rollback`` change what ``/predict`` answers within seconds, with no restart.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import math
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from featurelake.config import Settings
from featurelake.models.delay.features import CATEGORICAL, MODEL_NAME, NUMERIC

if TYPE_CHECKING:
    from featurelake.models.delay.pyfunc import DelayPyfunc
    from featurelake.models.prediction_log import PredictionLog
    from featurelake.models.tracking import ModelVersion

__all__ = ["FLIGHT_KEYS", "REFRESH_S", "Flight", "Predictor", "canary_bucket", "features_of"]

REFRESH_S = 2.0
"""Seconds between two reads of the registry's aliases."""
FLIGHT_KEYS = ("carrier", "origin", "dest", "tailnum")
"""The join keys of ``delay_model_v1`` a request must give, with ``scheduled_departure``."""

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Flight:
    """One ``/predict`` request, checked."""

    carrier: str
    origin: str
    dest: str
    tailnum: str
    scheduled_departure: dt.datetime
    event_id: str | None
    request_id: str

    @classmethod
    def parse(cls, body: Any) -> Flight:
        """Check a request body.

        Raises:
            ValueError: one line naming the field that is missing or wrong.
        """
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object naming the flight")
        values = {}
        for key in FLIGHT_KEYS:
            value = body.get(key)
            if not isinstance(value, str) or not value:
                raise ValueError(f"'{key}' must be a non-empty string, got {value!r}")
            values[key] = value
        raw = body.get("scheduled_departure")
        if not isinstance(raw, str):
            raise ValueError(f"'scheduled_departure' must be an ISO 8601 time, got {raw!r}")
        try:
            when = dt.datetime.fromisoformat(raw)
        except ValueError:
            raise ValueError(f"'scheduled_departure' is not an ISO 8601 time: {raw!r}") from None
        when = when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)
        event_id = body.get("event_id")
        if event_id is not None and not isinstance(event_id, str):
            raise ValueError(f"'event_id' must be a string, got {event_id!r}")
        request_id = body.get("request_id") or uuid.uuid4().hex
        return cls(**values, scheduled_departure=when, event_id=event_id, request_id=str(request_id))

    @property
    def entities(self) -> dict[str, list[str]]:
        """The online-feature request's entity columns (one row)."""
        return {k: [getattr(self, k)] for k in FLIGHT_KEYS}

    @property
    def key(self) -> str:
        """What the canary split hashes: the flight, whoever asks and however often."""
        return "|".join([*(getattr(self, k) for k in FLIGHT_KEYS), self.scheduled_departure.isoformat()])


def canary_bucket(key: str) -> float:
    """A stable number in [0, 1) for ``key`` (BLAKE2b): the canary takes keys below its share."""
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@dataclass(frozen=True)
class _Slot:
    version: ModelVersion
    model: DelayPyfunc


class Predictor:
    """The champion and challenger, loaded, and what to do with each request."""

    def __init__(self, settings: Settings, prediction_log: PredictionLog | None = None) -> None:
        self.settings = settings
        self.mode = settings.challenger_mode
        self.share = settings.canary_share
        self.log = prediction_log
        self.champion: _Slot | None = None
        self.challenger: _Slot | None = None
        self._loaded: dict[str, _Slot] = {}
        self._client: Any = None
        self._stamp: tuple[int, ...] | None = None
        self.error = ""

    def refresh(self) -> bool:
        """Read the aliases and load any version not loaded yet; True when either alias moved.

        Runs off the request path (a thread); swapping a slot is one assignment.
        """
        from featurelake.models import tracking

        try:
            if not tracking.store_exists(self.settings):
                return False
            stamp = tracking.store_stamp(self.settings)
            if stamp is not None and stamp == self._stamp and not self.error:
                return False  # a SQLite store nobody wrote since the last read: the aliases stand
            if self._client is None:  # one client (and database engine) for the server's life
                self._client = tracking.client(self.settings)
            aliases = dict(self._client.get_registered_model(MODEL_NAME).aliases or {})
        except Exception as e:  # no model registered yet, or the store is unreachable: keep serving
            self.error = str(e).splitlines()[0] if str(e) else type(e).__name__
            return False
        self.error = ""
        changed = False
        for alias in ("champion", "challenger"):
            version = aliases.get(alias)
            slot = self._slot(str(version)) if version is not None else None
            current = getattr(self, alias)
            if (current and current.version.version) != (slot and slot.version.version):
                setattr(self, alias, slot)
                changed = True
                log.info("/predict: %s is now %s", alias, slot.version.version if slot else "none")
        self._stamp = stamp  # only once both slots loaded: a failed load is tried again
        return changed

    def _slot(self, version: str) -> _Slot:
        if version not in self._loaded:
            from featurelake.catalog import Catalog
            from featurelake.models.delay.score import load_model

            loaded = load_model(version, Catalog(settings=self.settings))
            self._loaded[version] = _Slot(loaded.version, loaded.model)
        return self._loaded[version]

    def health(self) -> dict[str, Any]:
        """What ``/health`` shows of the models."""
        return {
            "champion": self.champion.version.version if self.champion else None,
            "challenger": self.challenger.version.version if self.challenger else None,
            "challenger_mode": self.mode,
            **({"canary_share": self.share} if self.mode == "canary" else {}),
            **({"registry_error": self.error} if self.error else {}),
        }

    def predict(self, flight: Flight, features: dict[str, Any], received: float) -> dict[str, Any]:
        """Score ``flight`` from its online ``features``; log every score; the answer to return.

        Args:
            flight: the request.
            features: ``delay_model_v1``'s values for the flight (None where not found).
            received: ``time.perf_counter()`` when the request arrived (for the latency).

        Raises:
            LookupError: no model holds the champion alias.
        """
        champion, challenger = self.champion, self.challenger
        if champion is None:
            raise LookupError(
                "no champion model to answer with: train one (featurelake train delay) or promote a "
                "version (featurelake models promote VERSION --to champion)"
            )
        ts = flight.scheduled_departure
        row = {
            **features,
            **{c: getattr(flight, c) for c in CATEGORICAL},
            "dep_hour_utc": float(ts.hour),
            "dep_weekday": float(ts.weekday()),
        }
        canary = challenger is not None and self.mode == "canary" and canary_bucket(flight.key) < self.share
        answer, answer_mode = (challenger, "canary") if canary and challenger else (champion, "champion")
        p = self._score(answer, row)
        answered = time.perf_counter()
        scores = [(answer, answer_mode, p, True)]
        if challenger is not None and self.mode == "shadow":
            scores.append((challenger, "shadow", self._score(challenger, row), False))
        if self.log is not None:
            self._log(flight, features, scores, (answered - received) * 1000)
        return {
            "request_id": flight.request_id,
            "delay_probability": p,
            "model": MODEL_NAME,
            "model_version": answer.version.version,
            "alias": "challenger" if answer is challenger else "champion",
            "mode": answer_mode,
        }

    @staticmethod
    def _score(slot: _Slot, row: dict[str, Any]) -> float:
        pre = slot.model.preprocessor
        assert pre is not None
        numeric, cats = pre.transform_one(row)
        return slot.model.predict_one(numeric, cats)

    def _log(
        self,
        flight: Flight,
        features: dict[str, Any],
        scores: list[tuple[_Slot, str, float, bool]],
        latency_ms: float,
    ) -> None:
        assert self.log is not None
        now = dt.datetime.now(dt.UTC)
        doc = json.dumps({f: _json_number(features.get(f)) for f in NUMERIC}, separators=(",", ":"))
        for slot, mode, p, served in scores:
            self.log.add(
                {
                    "request_id": flight.request_id,
                    "logged_at": now,
                    "source": "serve",
                    "event_id": flight.event_id,
                    "carrier": flight.carrier,
                    "origin": flight.origin,
                    "dest": flight.dest,
                    "tailnum": flight.tailnum,
                    "event_timestamp": flight.scheduled_departure,
                    "features": doc,
                    "model_name": MODEL_NAME,
                    "model_version": slot.version.version,
                    "alias": "challenger" if mode in ("shadow", "canary") else "champion",
                    "mode": mode,
                    "served": served,
                    "delay_probability": p,
                    "latency_ms": latency_ms if served else None,
                    "event_date": flight.scheduled_departure.date(),
                }
            )


def _json_number(value: Any) -> float | None:
    """A feature value for the log's JSON: a float, or null for missing and NaN."""
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def features_of(plan_views: Any, found: list[list[tuple[list[Any], str] | None]]) -> dict[str, Any]:
    """One row's feature values by name from the online reader's result (None where not found)."""
    out: dict[str, Any] = {}
    for view, rows in zip(plan_views, found, strict=True):
        row = rows[0]
        for j, feature in enumerate(view.features):
            out[feature] = None if row is None else row[0][j]
    return out
