"""featurelake: a lakehouse and feature store on Spark, Delta, Feast, DuckDB and Airflow."""

from __future__ import annotations

from featurelake.config import Settings, get_settings
from featurelake.errors import FeaturelakeError

__all__ = ["FeaturelakeError", "Settings", "get_settings"]
__version__ = "0.1.0"
