"""The feature repository for the plain ``feast`` CLI (``feast apply``, ``feast materialize``).

Flights, weather and planes, and the bookings' passengers (by pseudonym).

The definitions live in ``featurelake.features.definitions`` so the SDK and the
tests build the same objects for any lake; this module binds them to the lake
of the environment (``FEATURELAKE_LAKE``, default ``<repository>/lake``).
``featurelake features apply`` writes the lake's ``<lake>/feast/feature_store.yaml``
for the profile in ``FEATURELAKE_PROFILE``; plain Feast reads both:
``feast -c feature_repo -f <lake>/feast/feature_store.yaml apply``. Feast imports
every ``.py`` here: keep scripts and tests elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path

from featurelake.catalog import Catalog
from featurelake.config import get_settings
from featurelake.features.definitions import FEATURE_TABLES, build_definitions

_lake = os.environ.get("FEATURELAKE_LAKE") or str(Path(__file__).resolve().parent.parent / "lake")
_catalog = Catalog(settings=get_settings({**os.environ, "FEATURELAKE_LAKE": _lake}))
for _table in FEATURE_TABLES:  # empty until the pipeline fills them, so materialize finds a table
    _catalog.ensure(_table)
_defs = build_definitions(_catalog)

# Feast finds objects as module attributes.
carrier, origin, dest, plane_entity, passenger = _defs.entities
(
    carrier_delay_7d,
    route_delay_30d,
    origin_weather,
    plane,
    carrier_delay_1h,
    origin_departures_1h,
    passenger_activity_90d,
) = _defs.feature_views
delay_model_v1, passenger_v1 = _defs.feature_services
(
    gold_carrier_delay_7d,
    gold_route_delay_30d,
    gold_origin_weather,
    gold_plane,
    gold_carrier_delay_1h,
    carrier_delay_1h_push,
    gold_origin_departures_1h,
    origin_departures_1h_push,
    gold_passenger_activity,
) = _defs.sources
