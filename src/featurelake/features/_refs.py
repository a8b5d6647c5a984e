"""Resolving what a caller asks for (a feature service or ``view:feature`` refs) against the registry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from feast import FeatureService, FeatureStore, FeatureView

__all__ = ["ViewRequest", "resolve"]


@dataclass(frozen=True)
class ViewRequest:
    """The features wanted from one feature view, with what the point-in-time join needs."""

    view: FeatureView
    features: tuple[str, ...]

    @property
    def join_keys(self) -> list[str]:
        """The view's join key columns, as the entity rows name them."""
        return [c.name for c in self.view.entity_columns]

    @property
    def ttl(self) -> timedelta | None:
        """The view's TTL; ``None`` when it has none (Feast treats 0 as none)."""
        return self.view.ttl if self.view.ttl else None

    @property
    def refs(self) -> list[str]:
        """``view:feature`` refs."""
        return [f"{self.view.name}:{f}" for f in self.features]


def resolve(
    store: FeatureStore, features: str | Sequence[str]
) -> tuple[list[ViewRequest], list[str] | FeatureService]:
    """The views and features behind ``features``, and what to hand Feast's own APIs.

    Args:
        store: the feature store whose registry to read.
        features: a feature service name, or a list of ``view:feature`` refs.

    Raises:
        ValueError: an unknown service, view or feature.
    """
    from feast.errors import FeatureServiceNotFoundException

    if isinstance(features, str):
        try:
            service = store.get_feature_service(features)
        except FeatureServiceNotFoundException as e:
            names = ", ".join(s.name for s in store.list_feature_services())
            raise ValueError(f"no feature service {features!r}; known: {names or 'none (run apply)'}") from e
        out = []
        for projection in service.feature_view_projections:
            view = store.get_feature_view(projection.name)
            out.append(ViewRequest(view, tuple(f.name for f in projection.features)))
        return out, service
    by_view: dict[str, list[str]] = {}
    for ref in features:
        view_name, sep, feature_name = ref.partition(":")
        if not sep or not feature_name:
            raise ValueError(f"feature ref {ref!r} must be 'view:feature' (or pass a feature service name)")
        by_view.setdefault(view_name, []).append(feature_name)
    out = []
    for view_name, wanted in by_view.items():
        try:
            view = store.get_feature_view(view_name)
        except Exception as e:
            raise ValueError(f"no feature view {view_name!r}") from e
        known = {f.name for f in view.features}
        unknown = [n for n in wanted if n not in known]
        if unknown:
            raise ValueError(f"{view_name} has no feature {unknown[0]!r}; known: {', '.join(sorted(known))}")
        out.append(ViewRequest(view, tuple(wanted)))
    return out, list(features)
