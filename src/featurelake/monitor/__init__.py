"""Monitoring of the lake and the delay model: ``featurelake monitor``.

:func:`run_monitor` measures, for one day D, five kinds of check and judges
each against ``monitor.toml`` (table freshness against the tables' SLAs):

- ``freshness``: every table's last commit and newest event date (:mod:`.freshness`);
- ``quality``: quarantine and expectation success rates, week on week (:mod:`.quality`);
- ``drift``: PSI and Wasserstein distance of every numeric model feature (:mod:`.drift`);
- ``performance``: ROC AUC, log loss and calibration once labels arrive (:mod:`.performance`);
- ``skew``: online against offline feature values (:mod:`.skew`).

Every check is appended to ``ops.monitor_<kind>``, and a self-contained HTML
report is written to ``<lake>/monitor/<D>/index.html``.
"""

from __future__ import annotations

from featurelake.monitor.config import CONFIG_FILE, MonitorConfig, load_config
from featurelake.monitor.result import KINDS, Breach, Check, Kind, MonitorResult, Window
from featurelake.monitor.runner import latest_label_date, run_monitor

__all__ = [
    "CONFIG_FILE",
    "KINDS",
    "Breach",
    "Check",
    "Kind",
    "MonitorConfig",
    "MonitorResult",
    "Window",
    "latest_label_date",
    "load_config",
    "run_monitor",
]
