"""The delay model: will a departure arrive more than 15 minutes late?

Trained from ``gold.flight_labels`` and the ``delay_model_v1`` feature service
(:mod:`train`), scored per day into ``gold.delay_predictions`` (:mod:`score`).
"""

from __future__ import annotations

from featurelake.models.delay.score import score_date
from featurelake.models.delay.train import TrainResult, train_delay_model

__all__ = ["TrainResult", "score_date", "train_delay_model"]
