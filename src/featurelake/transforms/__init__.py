"""Silver and gold logic as Spark DataFrame functions: DataFrames in, DataFrames out, no I/O.

The jobs in :mod:`featurelake.backfill.jobs` read each function's inputs for a
day range and write its output; these functions only say what the rows are.
"""

from __future__ import annotations

from featurelake.transforms.carrier_delay import carrier_delay_7d
from featurelake.transforms.flight_labels import flight_labels
from featurelake.transforms.origin_weather import origin_weather
from featurelake.transforms.passengers import passenger_activity
from featurelake.transforms.plane import plane
from featurelake.transforms.route_delay import route_delay_30d
from featurelake.transforms.silver_bookings import silver_bookings
from featurelake.transforms.silver_flights import flight_entities, silver_flights
from featurelake.transforms.silver_weather import silver_weather
from featurelake.transforms.trailing import trailing_daily_sums

__all__ = [
    "carrier_delay_7d",
    "flight_entities",
    "flight_labels",
    "origin_weather",
    "passenger_activity",
    "plane",
    "route_delay_30d",
    "silver_bookings",
    "silver_flights",
    "silver_weather",
    "trailing_daily_sums",
]
