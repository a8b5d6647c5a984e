"""The delay model: will a departure arrive more than 15 minutes late?

Trained from ``gold.flight_labels`` and the ``delay_model_v1`` feature service
(:mod:`train`), scored per day into ``gold.delay_predictions`` (:mod:`score`).
The names below load their module on first use, so importing a light submodule
(``features`` on the serving path) does not import the trainer's dependencies.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from featurelake.models.delay.score import score_date
    from featurelake.models.delay.train import TrainResult, train_delay_model

__all__ = ["TrainResult", "score_date", "train_delay_model"]

_WHERE = {"TrainResult": "train", "train_delay_model": "train", "score_date": "score"}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"featurelake.models.delay.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'featurelake.models.delay' has no attribute {name!r}")
