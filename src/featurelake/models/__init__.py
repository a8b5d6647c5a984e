"""Models trained on the feature store: the first real consumer of the platform.

``featurelake.models.delay`` predicts whether a departure arrives more than
15 minutes late, from the ``delay_model_v1`` feature service.
"""

from __future__ import annotations

from featurelake.models.registry import ModelVersion, list_models, load_version, new_version_dir

__all__ = ["ModelVersion", "list_models", "load_version", "new_version_dir"]
