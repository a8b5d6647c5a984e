"""featurelake's feature store: Feast over the gold Delta tables, made fast and easy to use.

- :func:`training_set`: point-in-time correct training data (pandas, Arrow, Spark), and
  :func:`write_training_set` streaming it to a Parquet file;
- :func:`online_features`: online lookups through Feast's readers;
- :func:`materialize` / :func:`materialize_incremental`: gold -> online store with the
  fast engine (:mod:`featurelake.features.engine`), in Feast's exact format, reporting
  each view to a :class:`MaterializeReporter`;
- :func:`check_skew`: online values against offline point-in-time values;
- :func:`apply`: register the repository (:mod:`featurelake.features.definitions`).
"""

from __future__ import annotations

from featurelake.features.definitions import FEATURE_SERVICE, PROJECT, build_definitions
from featurelake.features.progress import MaterializeReporter
from featurelake.features.sdk import (
    materialize,
    materialize_incremental,
    online_features,
    training_set,
    write_training_set,
)
from featurelake.features.skew import SkewReport, check_skew
from featurelake.features.store import apply, feature_store, repo_config, write_feature_store_yaml

__all__ = [
    "FEATURE_SERVICE",
    "PROJECT",
    "MaterializeReporter",
    "SkewReport",
    "apply",
    "build_definitions",
    "check_skew",
    "feature_store",
    "materialize",
    "materialize_incremental",
    "online_features",
    "repo_config",
    "training_set",
    "write_feature_store_yaml",
    "write_training_set",
]
