"""Online/offline skew: the share of sampled online values that differ from the offline ones.

Runs :func:`featurelake.features.check_skew` (what ``featurelake features
skew`` runs). It needs the feature repository registered and the online
store materialized and reachable; where one of them is missing the metric is
recorded as not computed, with the reason, rather than failing the run: a
lake that serves nothing online has no skew to measure.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from featurelake.config import Settings
from featurelake.errors import FeaturelakeError, one_line
from featurelake.models.delay.features import FEATURE_SERVICE
from featurelake.monitor._lake import unregistered
from featurelake.monitor.config import SkewConfig
from featurelake.monitor.result import Check

__all__ = ["skew_checks"]


def _unavailable(settings: Settings) -> str | None:
    """Why the skew check cannot run here, or None when it can be tried."""
    why = unregistered(settings)
    if why is not None:
        return why
    if settings.online_store == "redis":
        url = urlsplit(settings.redis_url)
        host, port = url.hostname or "127.0.0.1", url.port or 6379
        try:
            with socket.create_connection((host, port), timeout=2):
                pass
        except OSError:
            return f"the online store (Redis at {host}:{port}) is not reachable"
    return None


def skew_checks(settings: Settings, *, config: SkewConfig | None = None) -> list[Check]:
    """The mismatch rate of ``delay_model_v1`` online against offline, or why it was not computed."""
    config = config or SkewConfig()

    def not_computed(why: str) -> list[Check]:
        return [Check("skew", FEATURE_SERVICE, "mismatch_rate", None, config.max_mismatch_rate, detail=why)]

    why = _unavailable(settings)
    if why is not None:
        return not_computed(why)
    from featurelake.features import check_skew

    try:
        report = check_skew(config.sample_size, FEATURE_SERVICE, settings=settings)
    except (ValueError, FeaturelakeError, OSError) as e:  # unregistered service, store unreachable
        return not_computed(f"the skew check could not run: {one_line(str(e))}")
    if report.checked_values == 0:
        return not_computed("nothing materialized to the online store yet (featurelake features materialize)")
    first = report.mismatches[0] if report.mismatches else None
    example = (
        f"; e.g. {first.view}.{first.feature} online {first.online!r}, offline {first.offline!r}"
        if first
        else ""
    )
    return [
        Check(
            "skew",
            FEATURE_SERVICE,
            "mismatch_rate",
            len(report.mismatches) / report.checked_values,
            config.max_mismatch_rate,
            detail=f"{len(report.mismatches)} of {report.checked_values:,} values over "
            f"{report.checked_entities:,} entities differ{example}",
        )
    ]
