"""``silver.bookings`` from ``bronze.bookings``: deduplicated and pseudonymised."""

from __future__ import annotations

from typing import TYPE_CHECKING

from featurelake.governance.pseudonyms import hmac_column, key_id
from featurelake.transforms.dedup import latest_per_key, lineage

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["silver_bookings"]


def silver_bookings(bronze: DataFrame, key: bytes) -> DataFrame:
    """Bronze bookings deduplicated on ``event_id``, direct identifiers replaced by pseudonyms.

    ``passenger_key`` = HMAC(``passenger_id``), ``email_key`` = HMAC(trimmed, lower-case
    ``email``), both under ``key``; name and phone are dropped; the date of birth becomes
    ``birth_year``. ``flight_dep_ts`` is read from the flight's event id (its last part,
    ``YYYYMMDDTHHMMZ``); ``lead_minutes`` is the time from booking to it in whole minutes
    (``lead_days`` the same in days, to 4 decimals, for reading) and ``fare_cents`` the fare
    in cents: integers, so that gold's means are exact in any engine.
    ``bronze`` comes with Kafka's encrypted identifiers decrypted
    (:func:`featurelake.governance.subject_keys.decrypt_direct`); a booking whose person was
    forgotten (key shredded: no passenger id or e-mail left) is dropped.
    """
    from pyspark.sql import functions as F

    known = bronze.where(F.col("passenger_id").isNotNull() & F.col("email").isNotNull())
    latest = latest_per_key(known, "event_id")
    dep = F.to_timestamp(F.substring_index("flight_event_id", "-", -1), "yyyyMMdd'T'HHmm'Z'")
    lead_ms = F.unix_millis(dep) - F.unix_millis(F.col("booked_at"))
    return latest.select(
        "event_id",
        F.col("booked_at").alias("event_ts"),
        "booked_at",
        hmac_column(F.col("passenger_id"), key).alias("passenger_key"),
        hmac_column(F.lower(F.trim(F.col("email"))), key).alias("email_key"),
        F.year("date_of_birth").alias("birth_year"),
        "loyalty_tier",
        "fare",
        F.round(F.col("fare") * 100).cast("bigint").alias("fare_cents"),
        "flight_event_id",
        dep.alias("flight_dep_ts"),
        F.round(lead_ms / F.lit(86_400_000.0), 4).alias("lead_days"),
        F.floor(lead_ms / F.lit(60_000)).cast("bigint").alias("lead_minutes"),
        F.lit(key_id(key)).alias("pseudonym_key_id"),
        "event_date",
        *lineage(latest),
    )
