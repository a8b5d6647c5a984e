"""The Feast objects of the flights domain: entities, sources, feature views, the feature service.

Every feature view reads a gold Delta table (``FileSource`` with
``DeltaFormat``) under one lake, so the objects are built by a function of
the catalog: ``feature_repo/`` calls it for the lake of the environment, and
tests and the SDK call it for theirs.

The contract's route entity has two join keys, ``origin`` and ``dest``. A
Feast ``Entity`` has exactly one join key (0.67 raises on more), so the route
is the pair of entities ``origin`` and ``dest`` on ``route_delay_30d``: the
Feast idiom for a composite key, with the same online key bytes.

Descriptions, owners and tags are declared once, in the gold tables' specs
(:mod:`featurelake.tables`): each view takes its table's owner and tags, and
each field (features and join keys) its column's description.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from feast import Entity, FeatureService, FeatureView, Field, FileSource, PushSource, ValueType
from feast.data_format import DeltaFormat
from feast.types import FeastType, Float64, Int32, Int64, String

from featurelake.catalog import Catalog

__all__ = [
    "FEATURE_SERVICE",
    "FEATURE_TABLES",
    "PASSENGER_SERVICE",
    "PROJECT",
    "PUSH_SOURCE",
    "STREAM_VIEW",
    "Definitions",
    "build_definitions",
]

PROJECT = "featurelake"
"""The Feast project every featurelake lake uses."""

FEATURE_SERVICE = "delay_model_v1"
"""The feature service of the delay model (issue 7)."""

PASSENGER_SERVICE = "passenger_v1"
"""The feature service of passenger features, keyed by the passenger's pseudonym."""

PUSH_SOURCE = "carrier_delay_1h_push"
"""The push source the ingest stream writes ``carrier_delay_1h`` through."""

STREAM_VIEW = "carrier_delay_1h"

FEATURE_TABLES = (
    "gold.carrier_delay_7d",
    "gold.route_delay_30d",
    "gold.origin_weather",
    "gold.plane",
    "gold.carrier_delay_1h",
    "gold.origin_departures_1h",
    "gold.passenger_activity",
)
"""The gold tables the feature views read."""

DEFINED_AT = datetime(2026, 12, 1, tzinfo=UTC)
"""The data sources' created/updated time: fixed, so that an unchanged repository compares equal.

Feast stamps each ``DataSource`` with the time it is constructed (and registered), and
``feast apply``, once a view has been materialized, diffs the stored view's sources against
freshly built ones field by field: every apply printed hundreds of lines of timestamp-only
protobuf diffs. Bump this when a source's definition changes."""

DAILY_TTL = timedelta(days=1)
WEATHER_TTL = timedelta(hours=3)
STREAM_TTL = timedelta(hours=2)

OWNER = "ml-features"
"""Who answers for the entities and the feature service (the views take their gold table's owner)."""


@dataclass(frozen=True)
class Definitions:
    """Everything ``feast apply`` registers for one lake."""

    entities: tuple[Entity, ...]
    feature_views: tuple[FeatureView, ...]
    feature_services: tuple[FeatureService, ...]
    sources: tuple[FileSource | PushSource, ...]

    def __repr__(self) -> str:  # Feast's own reprs run to hundreds of lines
        def names(objs: tuple[Any, ...]) -> str:
            return ", ".join(o.name for o in objs)

        return (
            f"Definitions(entities=[{names(self.entities)}], feature_views=[{names(self.feature_views)}], "
            f"feature_services=[{names(self.feature_services)}], sources={len(self.sources)})"
        )

    def objects(self) -> list[Any]:
        """All objects, in the order ``FeatureStore.apply`` takes them."""
        return [*self.entities, *self.sources, *self.feature_views, *self.feature_services]

    def view(self, name: str) -> FeatureView:
        """The feature view called ``name``."""
        for fv in self.feature_views:
            if fv.name == name:
                return fv
        raise ValueError(f"no feature view {name!r}; known: {', '.join(v.name for v in self.feature_views)}")


def _stamped(source: Any) -> Any:
    source.created_timestamp = source.last_updated_timestamp = DEFINED_AT
    return source


def _delta_source(catalog: Catalog, table: str) -> FileSource:
    source = FileSource(
        name=table.replace(".", "_"),
        path=catalog.path(table),
        file_format=DeltaFormat(),
        timestamp_field="event_timestamp",
        description=catalog.spec(table).description,
    )
    return _stamped(source)


def _view(
    catalog: Catalog, table: str, columns: Sequence[tuple[str, FeastType]], **kwargs: Any
) -> FeatureView:
    """A feature view over gold ``table``: its owner and tags, and each field described by its column."""
    spec = catalog.spec(table)
    return FeatureView(
        schema=[Field(name=name, dtype=dtype, description=spec.column_doc(name)) for name, dtype in columns],
        owner=spec.owner,
        tags=dict(spec.tags),
        **kwargs,
    )


def _entity(name: str, join_key: str, description: str, domain: str = "flights") -> Entity:
    """A string-keyed entity, owned by the feature team."""
    return Entity(
        name=name,
        join_keys=[join_key],
        value_type=ValueType.STRING,
        description=description,
        owner=OWNER,
        tags={"domain": domain},
    )


def build_definitions(catalog: Catalog | None = None) -> Definitions:
    """Entities, sources, views and the ``delay_model_v1`` service over ``catalog``'s gold tables.

    Args:
        catalog: the lake whose gold tables the sources read; the environment's when omitted.
    """
    catalog = catalog or Catalog()
    carrier = _entity(
        "carrier", "carrier", "An airline, by its two-letter carrier code (silver.airlines.carrier), e.g. UA."
    )
    origin = _entity(
        "origin",
        "origin",
        "A New York departure airport by FAA code: EWR, JFK or LGA (also its weather station); "
        "with dest, the route of route_delay_30d.",
    )
    dest = _entity(
        "dest",
        "dest",
        "A destination airport by FAA code (silver.airports.faa); with origin, the route of route_delay_30d.",
    )
    plane = _entity("plane", "tailnum", "An aircraft, by its tail number (silver.planes.tailnum).")

    carrier_src = _delta_source(catalog, "gold.carrier_delay_7d")
    route_src = _delta_source(catalog, "gold.route_delay_30d")
    weather_src = _delta_source(catalog, "gold.origin_weather")
    plane_src = _delta_source(catalog, "gold.plane")
    stream_batch = _delta_source(catalog, "gold.carrier_delay_1h")
    push = _stamped(PushSource(name=PUSH_SOURCE, batch_source=stream_batch))
    origin_batch = _delta_source(catalog, "gold.origin_departures_1h")
    origin_push = _stamped(PushSource(name="origin_departures_1h_push", batch_source=origin_batch))

    carrier_delay_7d = _view(
        catalog,
        "gold.carrier_delay_7d",
        [
            ("carrier", String),
            ("flights_7d", Int64),
            ("dep_delay_avg_7d", Float64),
            ("cancel_rate_7d", Float64),
        ],
        name="carrier_delay_7d",
        entities=[carrier],
        ttl=DAILY_TTL,
        source=carrier_src,
        description="Carrier departures over the 7 days before each UTC midnight.",
    )
    route_delay_30d = _view(
        catalog,
        "gold.route_delay_30d",
        [("origin", String), ("dest", String), ("flights_30d", Int64), ("arr_delay_avg_30d", Float64)],
        name="route_delay_30d",
        entities=[origin, dest],
        ttl=DAILY_TTL,
        source=route_src,
        description="Route arrivals over the 30 days before each UTC midnight.",
    )
    origin_weather = _view(
        catalog,
        "gold.origin_weather",
        [("origin", String)]
        + [(n, Float64) for n in ("temp", "humid", "wind_speed", "wind_gust", "precip", "pressure", "visib")],
        name="origin_weather",
        entities=[origin],
        ttl=WEATHER_TTL,
        source=weather_src,
        description="Hourly weather at the departure airport, valid for 3 hours.",
    )
    plane_fv = _view(
        catalog,
        "gold.plane",
        [("tailnum", String), ("plane_age_years", Int32), ("seats", Int32), ("engines", Int32)],
        name="plane",
        entities=[plane],
        ttl=timedelta(0),  # no expiry: a plane's age, seats and engines hold for the whole year
        source=plane_src,
        description="Plane attributes, known from 2013-01-01.",
    )
    carrier_delay_1h = _view(
        catalog,
        "gold.carrier_delay_1h",
        [("carrier", String), ("flights_1h", Int64), ("dep_delay_avg_1h", Float64)],
        name=STREAM_VIEW,
        entities=[carrier],
        ttl=STREAM_TTL,
        source=push,
        description="Carrier departures in the last 60 minutes of event time, pushed by the ingest stream.",
    )
    origin_departures_1h = _view(
        catalog,
        "gold.origin_departures_1h",
        [("origin", String), ("departures_1h", Int64), ("origin_dep_delay_avg_1h", Float64)],
        name="origin_departures_1h",
        entities=[origin],
        ttl=STREAM_TTL,
        source=origin_push,
        description="Departures from the airport in the last 60 minutes of event time, and their mean "
        "dep_delay, pushed by the ingest stream.",
    )
    passenger = _entity(
        "passenger",
        "passenger_key",
        "A passenger, by the keyed pseudonym of their account number (silver.bookings.passenger_key): "
        "never a name, e-mail address or account number.",
        domain="bookings",
    )
    passenger_src = _delta_source(catalog, "gold.passenger_activity")
    passenger_activity = _view(
        catalog,
        "gold.passenger_activity",
        [
            ("passenger_key", String),
            ("bookings_90d", Int64),
            ("fare_avg_90d", Float64),
            ("lead_days_avg_90d", Float64),
        ],
        name="passenger_activity_90d",
        entities=[passenger],
        ttl=timedelta(0),  # rows are written when the window changes: each holds until the next
        source=passenger_src,
        description="A passenger's bookings, mean fare and mean lead time over the 90 days before each "
        "UTC midnight.",
    )
    passenger_service = FeatureService(
        name=PASSENGER_SERVICE,
        features=[passenger_activity],
        description="Passenger features by pseudonym: booking frequency, spend and planning horizon.",
        owner=OWNER,
        tags={"domain": "bookings", "pii": "pseudonymised"},
    )
    service = FeatureService(
        name=FEATURE_SERVICE,
        features=[carrier_delay_7d, route_delay_30d, origin_weather, plane_fv],
        description="Every feature of the delay model: carrier, route, departure weather, plane.",
        owner=OWNER,
        tags={"domain": "flights", "model": "delay"},
    )
    return Definitions(
        entities=(carrier, origin, dest, plane, passenger),
        feature_views=(
            carrier_delay_7d,
            route_delay_30d,
            origin_weather,
            plane_fv,
            carrier_delay_1h,
            origin_departures_1h,
            passenger_activity,
        ),
        feature_services=(service, passenger_service),
        sources=(
            carrier_src,
            route_src,
            weather_src,
            plane_src,
            stream_batch,
            push,
            origin_batch,
            origin_push,
            passenger_src,
        ),
    )
