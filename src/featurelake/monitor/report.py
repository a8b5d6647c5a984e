"""The monitor's report: one self-contained HTML page, ``<lake>/monitor/<D>/index.html``.

Everything is inline (CSS, and the charts as base64 PNGs): the page opens from
disk, from an e-mail attachment or behind an air gap, with no network and no
JavaScript. Sections: the verdict, each breach in one line, the charts
(feature drift, performance and calibration, quality per day, every metric's
history with its threshold), then the table of every check.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from featurelake.monitor import plots
from featurelake.monitor.result import KINDS, Check, number

if TYPE_CHECKING:
    import pyarrow as pa

    from featurelake.monitor.drift import DriftResult
    from featurelake.monitor.performance import PerformanceResult
    from featurelake.monitor.quality import QualityResult

__all__ = ["ReportInput", "render", "report_path", "write_report"]

_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328;
       margin: 0 auto; max-width: 1280px; padding: 24px 32px 64px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 36px 0 8px; padding-bottom: 4px; border-bottom: 1px solid #d0d7de; }
h3 { font-size: 15px; margin: 24px 0 6px; }
p.meta { color: #59636e; margin: 0 0 16px; }
.verdict { display: inline-block; padding: 6px 14px; border-radius: 6px; font-weight: 600; font-size: 16px; }
.verdict.bad { background: #ffebe9; color: #a40e26; border: 1px solid #ff8182; }
.verdict.good { background: #dafbe1; color: #116329; border: 1px solid #4ac26b; }
ul.breaches { padding-left: 20px; }
ul.breaches li { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 13px;
                 color: #a40e26; }
ul.notes li { color: #59636e; }
figure { margin: 8px 0 16px; }
figure img { max-width: 100%; height: auto; border: 1px solid #eaeef2; border-radius: 4px; }
figcaption { color: #59636e; font-size: 13px; margin-top: 4px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eaeef2; vertical-align: top; }
th { background: #f6f8fa; position: sticky; top: 0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.detail { color: #59636e; font-size: 12px; max-width: 560px; }
tr.breached td { background: #fff5f5; }
.status { font-weight: 600; white-space: nowrap; }
.status.BREACHED { color: #a40e26; }
.status.ok { color: #116329; }
.status.recorded, .status.not-computed { color: #59636e; font-weight: 400; }
"""


@dataclass(frozen=True)
class ReportInput:
    """What one run hands the report."""

    day: dt.date
    run_id: str
    run_at: dt.datetime
    checks: Sequence[Check]
    history: pa.Table
    drift: DriftResult
    performance: PerformanceResult
    quality: QualityResult
    notes: Sequence[str]
    config: str
    """Where the thresholds came from."""


def report_path(lake: Path, day: dt.date) -> Path:
    """``<lake>/monitor/<D>/index.html``."""
    return Path(lake) / "monitor" / day.isoformat() / "index.html"


def _img(png: bytes | None, alt: str, caption: str) -> str:
    if png is None:
        return f'<p class="meta">{html.escape(alt)}: nothing to draw yet.</p>'
    data = base64.b64encode(png).decode("ascii")
    # shown at 96 px per inch, whatever the figure's size: text is the same size in every chart
    width = round(int.from_bytes(png[16:20], "big") * 96 / plots.DPI)
    return (
        f'<figure><img alt="{html.escape(alt)}" width="{width}" src="data:image/png;base64,{data}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _checks_table(checks: Sequence[Check]) -> str:
    order = {k: i for i, k in enumerate(KINDS)}
    rows = []
    for c in sorted(checks, key=lambda c: (order[c.kind], not c.breached)):
        status = c.status
        rows.append(
            f'<tr class="{"breached" if c.breached else ""}"><td>{c.kind}</td>'
            f"<td>{html.escape(c.subject)}</td>"
            f"<td>{html.escape(c.label)}</td><td class=num>{number(c.value)}</td>"
            f"<td class=num>{html.escape(c.limit)}</td>"
            f'<td><span class="status {status.replace(" ", "-")}">{status}</span></td>'
            f'<td class="detail">{html.escape(c.detail)}</td></tr>'
        )
    return (
        '<table id="every-check"><thead><tr><th>kind</th><th>subject</th><th>metric</th><th>value</th>'
        "<th>threshold</th><th>status</th><th>detail</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def render(data: ReportInput) -> str:
    """The report's HTML."""
    checks = list(data.checks)
    breached = [c for c in checks if c.breached]
    verdict = (
        f'<p class="verdict bad">{len(breached)} of {len(checks)} checks BREACHED</p>'
        if breached
        else f'<p class="verdict good">all {len(checks)} checks ok</p>'
    )
    breaches = (
        '<ul class="breaches">' + "".join(f"<li>{html.escape(c.message())}</li>" for c in breached) + "</ul>"
        if breached
        else "<p>None.</p>"
    )
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in data.notes)
    drift, perf = data.drift, data.performance
    ref, cur = drift.reference, drift.current
    drift_caption = (
        f"Reference {ref.window} ({ref.rows:,} flights, {ref.source}) in blue, current {cur.window} "
        f"({cur.rows:,} flights, {cur.source}) in orange; {drift.note}."
        if ref is not None and cur is not None
        else ""
    )
    limits = {c.metric: c.threshold for c in checks if c.kind == "performance"}
    drift_checks = [c for c in checks if c.kind == "drift"]
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>featurelake monitor {data.day}</title><style>{_CSS}</style></head><body>",
        f"<h1>featurelake monitor: {data.day}</h1>",
        f'<p class="meta">run {html.escape(data.run_id)} at {data.run_at:%Y-%m-%d %H:%M:%S} UTC; '
        "thresholds from "
        f"{html.escape(data.config)}</p>",
        verdict,
        '<h2 id="breaches">Breaches</h2>',
        breaches,
        f'<ul class="notes">{notes}</ul>' if notes else "",
        '<h2 id="drift">Feature drift</h2>',
        _img(
            plots.drift_png(
                ref.values if ref is not None else {}, cur.values if cur is not None else {}, drift_checks
            ),
            "feature distributions, reference against current",
            drift_caption,
        ),
        '<h2 id="performance">Model performance</h2>',
        _img(
            plots.performance_png(perf.daily, limits),
            "ROC AUC, log loss and calibration error per day",
            "Labelled predictions per day; dashed: the threshold (the champion's validation metric and the "
            "allowed change).",
        ),
        _img(
            plots.calibration_png(perf.calibration),
            "calibration curve",
            "Mean predicted probability against the observed delay rate per probability bin, over the "
            "window.",
        ),
        '<h2 id="quality">Data quality</h2>',
        _img(
            plots.quality_png(data.quality.daily),
            "quality rates per day",
            "Quarantine rate of ingest and expectation success rate per event day, this window and the "
            "one before.",
        ),
        '<h2 id="history">History</h2>',
        '<p class="meta">Every metric per monitored day (the latest run of a day), threshold dashed, '
        "breaches in red; from the ops.monitor_* tables, so the series grow run after run.</p>",
    ]
    for kind in KINDS:
        parts.append(f'<h3 id="history-{kind}">{kind} (ops.monitor_{kind})</h3>')
        parts.append(_img(plots.history_png(data.history, kind), f"{kind} metrics over time", ""))
    parts += ['<h2 id="checks">Every check</h2>', _checks_table(checks), "</body></html>"]
    return "\n".join(p for p in parts if p)


def write_report(lake: Path, data: ReportInput) -> Path:
    """Write the report for ``data.day`` under ``lake``, replacing an earlier one; returns its path."""
    path = report_path(lake, data.day)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(render(data), encoding="utf-8")
    tmp.replace(path)
    return path
