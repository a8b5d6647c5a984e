"""Every table of the lake, declared once; the catalog is built from :data:`ALL_TABLES`."""

from __future__ import annotations

from featurelake.catalog import TableSpec
from featurelake.tables.bronze import BRONZE_BOOKINGS, BRONZE_FLIGHTS, BRONZE_WEATHER
from featurelake.tables.gold import GOLD_TABLES
from featurelake.tables.monitor import MONITOR_TABLES
from featurelake.tables.ops import (
    ALERTS,
    AUDIT_LOG,
    ERASURE_LOG,
    INGEST_FILES,
    INGEST_LOG,
    OPS_BACKFILL_LOG,
    VALIDATION_RESULTS,
)
from featurelake.tables.predictions import DELAY_PREDICTIONS, PREDICTION_LOG
from featurelake.tables.quarantine import QUARANTINE
from featurelake.tables.reference import AIRLINES, AIRPORTS, PLANES
from featurelake.tables.silver import SILVER_BOOKINGS, SILVER_FLIGHT_ENTITIES, SILVER_FLIGHTS, SILVER_WEATHER
from featurelake.tables.streaming import STREAMING_TABLES

__all__ = [
    "AIRLINES",
    "AIRPORTS",
    "ALL_TABLES",
    "BRONZE_BOOKINGS",
    "BRONZE_FLIGHTS",
    "BRONZE_WEATHER",
    "INGEST_FILES",
    "INGEST_LOG",
    "PLANES",
    "QUARANTINE",
    "VALIDATION_RESULTS",
]

# Each layer adds its tables here, one line per module.
ALL_TABLES: tuple[TableSpec, ...] = (
    BRONZE_FLIGHTS,
    BRONZE_WEATHER,
    BRONZE_BOOKINGS,
    QUARANTINE,
    INGEST_LOG,
    INGEST_FILES,
    VALIDATION_RESULTS,
    AIRLINES,
    AIRPORTS,
    PLANES,
    SILVER_FLIGHTS,
    SILVER_FLIGHT_ENTITIES,
    SILVER_WEATHER,
    SILVER_BOOKINGS,
    *GOLD_TABLES,
    *STREAMING_TABLES,
    OPS_BACKFILL_LOG,
    DELAY_PREDICTIONS,
    PREDICTION_LOG,
    *MONITOR_TABLES,
    ALERTS,
    AUDIT_LOG,
    ERASURE_LOG,
)
