"""``features materialize-incremental``: only the entities whose gold rows changed, from the change feed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from featurelake import features
from featurelake.catalog import Catalog, delta_ref
from featurelake.cli import main
from featurelake.config import Settings
from featurelake.features.incremental import STATE_FILE, materialize_changes
from featurelake.features.store import close_store, feature_store
from featurelake.features.testing import RecordingReporter, day, write_gold

pytestmark = pytest.mark.integration

VIEW = "carrier_delay_7d"
CARRIERS = ("AA", "B6", "DL", "UA", "WN")
END = day(10)


def carrier_rows() -> list[dict[str, Any]]:
    """Two days per carrier; the newest (day 1) is what the online store serves."""
    return [
        {
            "carrier": c,
            "event_timestamp": day(d),
            "flights_7d": 10 * (i + 1) + d,
            "dep_delay_avg_7d": float(i),
            "cancel_rate_7d": 0.0,
        }
        for i, c in enumerate(CARRIERS)
        for d in (0, 1)
    ]


def online_flights(store: Any) -> dict[str, int | None]:
    got = features.online_features([{"carrier": c} for c in CARRIERS], [f"{VIEW}:flights_7d"], store=store)
    return dict(zip(CARRIERS, got["flights_7d"], strict=True))


def test_incremental_run_pushes_exactly_the_changed_entities(
    spark: Any, settings: Settings, catalog: Catalog
) -> None:
    write_gold(catalog, "gold.carrier_delay_7d", carrier_rows())
    store = feature_store(settings)
    try:
        features.apply(settings, catalog=catalog, store=store)

        recorder = RecordingReporter()
        out = materialize_changes(END, views=[VIEW], settings=settings, store=store, reporter=recorder)
        first = out[VIEW]
        events = [("started", [VIEW]), ("view_started", VIEW), ("view_finished", VIEW, first)]
        assert recorder.events == events
        assert (first["full"], first["written"]) == (1, len(CARRIERS))  # no state yet: everything
        assert online_flights(store) == {"AA": 11, "B6": 21, "DL": 31, "UA": 41, "WN": 51}
        state = json.loads((settings.lake / "feast" / STATE_FILE).read_text())
        assert state[VIEW]["version"] == first["table_version"]

        again = materialize_changes(END, views=[VIEW], settings=settings, store=store)[VIEW]
        assert (again["full"], again["changed_entities"], again["written"]) == (0, 0, 0)

        # Two entities change: DL's newest row, and UA's newest row (a second column too).
        path = delta_ref(catalog.path("gold.carrier_delay_7d"))
        spark.sql(
            f"UPDATE {path} SET flights_7d = flights_7d + 1000 "
            f"WHERE carrier IN ('DL', 'UA') AND event_date = DATE'2013-03-02'"
        )
        result = CliRunner().invoke(main, ["features", "materialize-incremental", "--to", END.isoformat()])
        assert result.exit_code == 0, result.output
        assert "2 changed entities" in result.output
        state = json.loads((settings.lake / "feast" / STATE_FILE).read_text())
        assert state[VIEW]["version"] == first["table_version"] + 1
        assert online_flights(store) == {"AA": 11, "B6": 21, "DL": 1031, "UA": 1041, "WN": 51}
    finally:
        close_store(store)


def test_a_rebuilt_old_row_does_not_replace_a_newer_online_value(
    spark: Any, settings: Settings, catalog: Catalog
) -> None:
    write_gold(catalog, "gold.carrier_delay_7d", carrier_rows())
    store = feature_store(settings)
    try:
        features.apply(settings, catalog=catalog, store=store)
        materialize_changes(END, views=[VIEW], settings=settings, store=store)
        path = delta_ref(catalog.path("gold.carrier_delay_7d"))
        spark.sql(
            f"UPDATE {path} SET flights_7d = 999 WHERE carrier = 'AA' AND event_date = DATE'2013-03-01'"
        )
        stats = materialize_changes(END, views=[VIEW], settings=settings, store=store)[VIEW]
        assert (stats["changed_entities"], stats["written"]) == (1, 1)  # AA re-read: its newest row
        assert online_flights(store)["AA"] == 11  # day 1's value, not the rewritten day 0's

        # Moving END forward picks up rows that entered the window, changed or not.
        write_gold(
            catalog,
            "gold.carrier_delay_7d",
            [{"carrier": "WN", "event_timestamp": day(12), "flights_7d": 7, "cancel_rate_7d": 0.5}],
        )
        later = materialize_changes(day(20), views=[VIEW], settings=settings, store=store)[VIEW]
        assert (later["changed_entities"], later["written"]) == (1, 1)
        assert online_flights(store)["WN"] == 7
    finally:
        close_store(store)


def test_unknown_view_is_a_one_line_cli_error(settings: Settings) -> None:
    result = CliRunner().invoke(
        main, ["features", "materialize-incremental", "--to", "2013-03-10", "--view", "nope"]
    )
    assert result.exit_code == 2
    assert "unknown feature view(s) nope" in result.output
    assert "Traceback" not in result.output
