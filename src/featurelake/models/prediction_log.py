"""``ops.prediction_log``: every prediction, written in batches off the request path.

A :class:`~featurelake.buffered_log.BufferedLog` of the table: the request path queues a row,
a background thread appends every half second with delta-rs (no JVM in a server); batch
scoring appends its rows with :meth:`featurelake.catalog.Catalog.append_native` too.
"""

from __future__ import annotations

from featurelake.buffered_log import BufferedLog
from featurelake.catalog import Catalog

__all__ = ["TABLE", "PredictionLog"]

TABLE = "ops.prediction_log"


class PredictionLog(BufferedLog):
    """The buffered writer of ``ops.prediction_log``."""

    def __init__(self, catalog: Catalog, *, interval: float = 0.5, max_rows: int = 200_000) -> None:
        super().__init__(catalog, TABLE, interval=interval, max_rows=max_rows)
