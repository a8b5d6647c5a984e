from __future__ import annotations

from pathlib import Path

import pytest

from featurelake.config import get_settings
from featurelake.errors import ConfigError


def test_local_profile_needs_nothing() -> None:
    s = get_settings({})
    assert s.profile == "local"
    assert s.spark_master == "local[*]"
    assert s.lake == Path("lake").absolute()
    assert s.landing_dir == s.lake / "landing"
    assert s.online_store == "sqlite"
    assert s.registry == "file"
    assert s.shuffle_partitions >= 4


def test_prod_profile_and_overrides() -> None:
    s = get_settings(
        {
            "FEATURELAKE_PROFILE": "prod",
            "FEATURELAKE_LAKE": "/data/lake",
            "FEATURELAKE_LANDING": "/data/landing",
            "FEATURELAKE_REDIS_URL": "redis://r:6379/1",
            "FEATURELAKE_SHUFFLE_PARTITIONS": "64",
        }
    )
    assert s.profile == "prod"
    assert s.spark_master == "spark://127.0.0.1:7077"
    assert s.lake == Path("/data/lake")
    assert s.landing_dir == Path("/data/landing")
    assert s.redis_url == "redis://r:6379/1"
    assert s.shuffle_partitions == 64
    assert s.online_store == "redis"
    assert s.registry == "sql"


def test_master_override_wins_over_profile_default() -> None:
    s = get_settings({"FEATURELAKE_PROFILE": "prod", "FEATURELAKE_SPARK_MASTER": "yarn"})
    assert s.spark_master == "yarn"


def test_unknown_profile_is_one_clear_error() -> None:
    with pytest.raises(
        ConfigError, match=r"FEATURELAKE_PROFILE='staging' is not a profile; use one of: local, prod"
    ):
        get_settings({"FEATURELAKE_PROFILE": "staging"})


def test_bad_value_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="FEATURELAKE_SHUFFLE_PARTITIONS='many'"):
        get_settings({"FEATURELAKE_SHUFFLE_PARTITIONS": "many"})


def test_settings_reject_unknown_fields() -> None:
    from pydantic import ValidationError

    from featurelake.config import Settings

    with pytest.raises(ValidationError):
        Settings(lake_root="/x")  # type: ignore[call-arg]
