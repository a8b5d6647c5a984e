"""Models trained on the feature store: the first real consumer of the platform.

``featurelake.models.delay`` predicts whether a departure arrives more than
15 minutes late, from the ``delay_model_v1`` feature service. Runs, versions and the
``champion``/``challenger`` aliases live in MLflow (:mod:`featurelake.models.tracking`).
"""

from __future__ import annotations

from featurelake.models.tracking import ModelVersion, list_versions, promote, resolve, rollback

__all__ = ["ModelVersion", "list_versions", "promote", "resolve", "rollback"]
