"""The datasets that can be ingested: their Avro contract, event time, bronze table and suite."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CONTRACTS", "Contract", "contract"]


@dataclass(frozen=True)
class Contract:
    """How one event stream flows from the landing zone to bronze."""

    dataset: str
    """Name of the stream: the landing folder, ``schemas/<dataset>.avsc`` and ``bronze.<dataset>``."""
    event_time: str
    """The field holding the event time (UTC); ``event_date`` is its date."""
    suite: str
    """The expectation suite in ``expectations/`` that guards bronze."""
    subject: str | None = None
    """The field naming the person an event is about (personal data only): whose key encrypts
    the event's direct identifiers on Kafka (:mod:`featurelake.governance.subject_keys`)."""

    @property
    def bronze_table(self) -> str:
        """The catalog name of the bronze table."""
        return f"bronze.{self.dataset}"


CONTRACTS: dict[str, Contract] = {
    "flights": Contract("flights", "sched_dep_ts", "flights_bronze"),
    "weather": Contract("weather", "obs_ts", "weather_bronze"),
    "bookings": Contract("bookings", "booked_at", "bookings_bronze", subject="passenger_id"),
}


def contract(dataset: str) -> Contract:
    """The contract of ``dataset``.

    Raises:
        ValueError: the dataset is unknown.
    """
    try:
        return CONTRACTS[dataset]
    except KeyError:
        raise ValueError(f"unknown dataset {dataset!r}; use one of: {', '.join(CONTRACTS)}") from None
