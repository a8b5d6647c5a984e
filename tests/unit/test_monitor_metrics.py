"""The monitor's pure parts: PSI, Wasserstein, calibration, verdicts and messages, the thresholds file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from featurelake.errors import ConfigError
from featurelake.monitor import CONFIG_FILE, Check, MonitorConfig, Window, load_config
from featurelake.monitor.metrics import (
    PSI_FLOOR,
    calibration,
    expected_calibration_error,
    psi,
    quantile_edges,
    wasserstein,
)
from featurelake.monitor.quality import _subject


def test_psi_is_zero_for_the_same_distribution_and_matches_its_formula() -> None:
    ref = np.arange(100, dtype=float)
    assert psi(ref, ref) == pytest.approx(0.0)
    assert psi(ref, ref[::-1].copy()) == pytest.approx(0.0)  # order does not matter
    # every current value in the reference's first decile: one share 1, nine at the floor
    shares = np.array([1.0] + [PSI_FLOOR] * 9)
    expected = float(np.sum((shares - 0.1) * np.log(shares / 0.1)))
    assert psi(ref, np.full(50, 3.0)) == pytest.approx(expected)
    assert expected > 2


def test_psi_counts_values_outside_the_reference_range_and_ignores_nans() -> None:
    rng = np.random.default_rng(0)
    ref = rng.normal(0, 1, 5000)
    same = rng.normal(0, 1, 5000)
    assert psi(ref, same) < 0.01
    assert psi(ref, same + 30) > 5  # far past the last edge: the open-ended last bin takes them
    with_nans = np.concatenate([same, np.full(500, np.nan)])
    assert psi(ref, with_nans) == pytest.approx(psi(ref, same))
    with pytest.raises(ValueError, match="both sides"):
        psi(ref, np.full(3, np.nan))


def test_quantile_edges_merge_ties_of_discrete_features() -> None:
    engines = np.array([1] * 50 + [2] * 40 + [3] * 8 + [4] * 2, dtype=float)
    edges = quantile_edges(engines, 10)
    assert list(edges) == sorted(set(edges))
    # nine deciles of four values: fewer edges, and no bin of the reference left empty
    assert len(edges) < 9
    counts = np.bincount(np.searchsorted(edges, engines, side="left"), minlength=len(edges) + 1)
    assert (counts > 0).all()
    assert psi(engines, engines.copy()) == pytest.approx(0.0)
    assert psi(engines, np.array([4.0] * 100)) > 1


def test_wasserstein_is_in_reference_standard_deviations() -> None:
    rng = np.random.default_rng(1)
    ref = rng.normal(10, 4, 4000)
    assert wasserstein(ref, ref + 4) == pytest.approx(4 / np.std(ref))  # a shift of one std -> ~1
    assert wasserstein(ref, ref + 4) == pytest.approx(1.0, abs=0.05)
    assert wasserstein(ref, rng.normal(10, 4, 4000)) < 0.1
    assert wasserstein(np.full(10, 2.0), np.full(10, 5.0)) == pytest.approx(3.0)  # constant reference


def test_calibration_bins_and_expected_calibration_error() -> None:
    # 0.25 predicted for four flights, one of them delayed; 0.95 and 1.0 (the last bin's) for two delayed
    p = np.array([0.25, 0.25, 0.25, 0.25, 0.95, 1.0])
    y = np.array([0, 0, 1, 0, 1, 1])
    bins = calibration(y, p, bins=10)
    assert len(bins) == 10
    assert sum(b.rows for b in bins) == 6
    assert (bins[2].rows, bins[2].predicted, bins[2].observed) == (4, 0.25, 0.25)
    assert (bins[9].rows, bins[9].predicted, bins[9].observed) == (2, pytest.approx(0.975), 1.0)
    assert expected_calibration_error(y, p) == pytest.approx(2 / 6 * 0.025)
    assert expected_calibration_error(np.zeros(5), np.full(5, 0.9)) == pytest.approx(0.9)
    with pytest.raises(ValueError, match="3 labels for 2"):
        calibration(np.zeros(3), np.zeros(2))


def test_a_check_judges_in_its_direction_and_says_so_in_one_line() -> None:
    drift = Check("drift", "dep_delay_avg_7d", "psi", 0.4123, 0.25)
    assert drift.breached
    assert drift.status == "BREACHED"
    assert drift.message() == "drift: dep_delay_avg_7d PSI 0.412 > 0.25"
    auc = Check("performance", "model:delay", "auc", 0.71, 0.66, above=False)
    assert not auc.breached
    assert auc.status == "ok"
    low = Check("performance", "model:delay", "auc", 0.52, 0.66, above=False)
    assert low.breached
    assert low.message() == "performance: model:delay ROC AUC 0.52 < 0.66"
    recorded = Check("freshness", "bronze.flights", "age_hours", 812.5)
    assert (recorded.breached, recorded.status, recorded.limit) == (False, "recorded", "")
    assert recorded.message() == "freshness: bronze.flights age (h) 812"
    missing = Check("freshness", "gold.plane", "age_hours", None, 48, detail="the table does not exist")
    assert (missing.breached, missing.status) == (False, "not computed")
    gone = Check("freshness", "gold.plane", "age_hours", None, 48, detail="x", breach_when_missing=True)
    assert gone.breached
    assert gone.message() == "freshness: gold.plane age (h): x"
    assert not Check("drift", "temp", "psi", float("nan"), 0.25).breached


def test_windows_are_half_open_runs_of_days() -> None:
    w = Window.ending(dt.date(2013, 3, 31), 7)
    assert (w.start, w.end, w.days, w.last) == (
        dt.date(2013, 3, 25),
        dt.date(2013, 4, 1),
        7,
        dt.date(2013, 3, 31),
    )
    assert str(w) == "2013-03-25..2013-03-31"
    assert w.before() == Window(dt.date(2013, 3, 18), dt.date(2013, 3, 25))
    assert w.before(28).start == dt.date(2013, 2, 25)


def test_the_thresholds_file_loads_and_rejects_unknown_keys(tmp_path: Path) -> None:
    shipped = load_config()
    assert CONFIG_FILE.name == "monitor.toml"
    assert shipped.drift.max_psi == 0.25
    assert shipped.performance.max_auc_drop == 0.05
    partial = tmp_path / "partial.toml"
    partial.write_text("[drift]\nmax_psi = 0.1\n")
    loaded = load_config(partial)
    assert loaded.drift.max_psi == 0.1
    assert loaded.quality == MonitorConfig().quality  # the rest keeps its defaults
    wrong = tmp_path / "wrong.toml"
    wrong.write_text("[drift]\nmax_pis = 0.1\n")
    with pytest.raises(ConfigError, match=r"drift\.max_pis"):
        load_config(wrong)
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[drift\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)


def test_suites_name_the_table_they_guard() -> None:
    assert _subject("flights_bronze") == "bronze.flights"
    assert _subject("weather_bronze") == "bronze.weather"
    assert _subject("flights_silver") == "silver.flights"
