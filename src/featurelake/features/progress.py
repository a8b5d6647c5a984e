"""What a materialization reports as it goes, view by view, for its caller to show.

Plain Python, no terminal code: the CLI draws these reports as a progress bar
(:mod:`featurelake.cli._progress`), a scheduler could log them, a test records them.
:func:`featurelake.features.materialize` reports through featurelake's engine (which
Feast calls once per view), :func:`featurelake.features.incremental.materialize_changes`
from its own loop over the views.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from featurelake.features.engine import MaterializeStats

__all__ = ["MaterializeReporter"]


class MaterializeReporter:
    """What a materialization tells its caller as it goes; this base class ignores everything.

    The calls come from the thread that materializes, in this order: :meth:`started` once,
    then per view :meth:`view_started` and, when the view is written, :meth:`view_finished`.
    A view that fails gets no :meth:`view_finished`: the materialization raises instead.
    """

    def started(self, views: Sequence[str]) -> None:
        """The feature views about to be materialized, in the order they will run."""

    def view_started(self, view: str) -> None:
        """``view`` is being materialized now."""

    def view_finished(self, view: str, stats: MaterializeStats | None) -> None:
        """``view`` is in the online store.

        Args:
            view: the feature view's name.
            stats: what the view returns in the materialization's result (``rows`` read,
                ``written`` entities, seconds spent); None when Feast's own engine wrote it
                (a source or online store featurelake's engine does not handle), which
                counts nothing.
        """
