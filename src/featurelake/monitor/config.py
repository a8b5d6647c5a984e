"""The monitor's thresholds, read from ``monitor.toml`` at the checkout's root.

One file for every limit the monitor judges against, so that tightening a
threshold is a reviewed one-line change. Freshness SLAs are the exception:
they belong to the tables (``TableSpec.freshness_sla_hours``).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from featurelake.config import PROJECT_ROOT
from featurelake.errors import ConfigError

__all__ = [
    "CONFIG_FILE",
    "DriftConfig",
    "FreshnessConfig",
    "MonitorConfig",
    "PerformanceConfig",
    "QualityConfig",
    "SkewConfig",
    "load_config",
]

CONFIG_FILE = PROJECT_ROOT / "monitor.toml"
"""Where the thresholds live: ``monitor.toml`` at the checkout's root."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FreshnessConfig(_Section):
    """Freshness: the age of each table's last commit and the lag of its newest event date."""

    max_event_lag_days: int = Field(default=2, ge=0)
    """Days the newest event_date of a table with an SLA may lag behind the monitored day D."""
    lag_exempt: tuple[str, ...] = ("gold.plane",)
    """Tables with an SLA whose event dates do not follow the calendar (their lag is recorded only)."""


class QualityConfig(_Section):
    """Quality: quarantine rate and expectation success rate, each with a week-on-week trend."""

    window_days: int = Field(default=7, ge=1)
    """Days up to D that make the current window; the trend compares it with the same length before."""
    max_quarantine_rate: float = Field(default=0.05, ge=0, le=1)
    """Largest share of records in that ingest may quarantine over the window."""
    max_quarantine_rate_rise: float = Field(default=0.02, ge=0, le=1)
    """Largest rise of the quarantine rate from the window before."""
    min_expectation_success_rate: float = Field(default=0.9, ge=0, le=1)
    """Smallest share of expectation results that hold over the window."""
    max_expectation_success_drop: float = Field(default=0.05, ge=0, le=1)
    """Largest fall of the expectation success rate from the window before."""


class DriftConfig(_Section):
    """Drift of the model's numeric features between a reference and the current window."""

    window_days: int = Field(default=7, ge=1)
    """Days up to D that make the current window."""
    fallback_reference_days: int = Field(default=28, ge=1)
    """Reference when no champion is registered: this many days before the current window."""
    bins: int = Field(default=10, ge=2)
    """Quantile bins of the reference for the PSI."""
    max_psi: float = Field(default=0.25, gt=0)
    """Largest population stability index."""
    max_wasserstein: float = Field(default=0.5, gt=0)
    """Largest Wasserstein distance, in standard deviations of the reference."""
    min_rows: int = Field(default=100, ge=1)
    """Non-null values each window needs for a feature to be judged."""


class PerformanceConfig(_Section):
    """Performance of the served and batch predictions once their labels are known."""

    window_days: int = Field(default=7, ge=1)
    """Days up to D whose labelled predictions are judged."""
    max_auc_drop: float = Field(default=0.05, ge=0, le=1)
    """Largest fall of ROC AUC below the champion's validation AUC."""
    max_log_loss_rise: float = Field(default=0.05, ge=0)
    """Largest rise of log loss above the champion's validation log loss."""
    max_ece: float = Field(default=0.1, ge=0, le=1)
    """Largest expected calibration error."""
    calibration_bins: int = Field(default=10, ge=2)
    """Equal-width probability bins of the calibration error and curve."""
    min_rows: int = Field(default=100, ge=1)
    """Labelled predictions the window needs to be judged."""


class SkewConfig(_Section):
    """Online/offline skew (``featurelake features skew``)."""

    sample_size: int = Field(default=100, ge=1)
    """Entity keys sampled per feature view."""
    max_mismatch_rate: float = Field(default=0.0, ge=0, le=1)
    """Largest share of online values that may differ from the offline point-in-time ones."""


class MonitorConfig(_Section):
    """Every threshold of ``featurelake monitor``, one section per kind of check."""

    freshness: FreshnessConfig = FreshnessConfig()
    """Freshness limits besides the tables' own SLAs."""
    quality: QualityConfig = QualityConfig()
    """Quarantine and expectation limits."""
    drift: DriftConfig = DriftConfig()
    """Feature drift limits."""
    performance: PerformanceConfig = PerformanceConfig()
    """Model performance limits."""
    skew: SkewConfig = SkewConfig()
    """Online/offline skew limits."""


def load_config(path: Path | None = None) -> MonitorConfig:
    """The thresholds in ``path`` (``monitor.toml`` at the checkout's root by default).

    A section or key the file leaves out keeps its default.

    Raises:
        ConfigError: the file is missing, is not TOML, or has an unknown key or a bad value.
    """
    path = path or CONFIG_FILE
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise ConfigError(f"the monitor's thresholds file {path} does not exist") from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path} is not valid TOML: {e}") from e
    try:
        return MonitorConfig.model_validate(doc)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "?"
        raise ConfigError(f"{path}: {where}: {first['msg']}") from e
