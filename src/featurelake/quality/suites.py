"""Expectation suites: GX 1.x JSON files in ``expectations/``, loaded by name.

Each expectation carries ``meta.severity`` (``warn`` | ``quarantine`` |
``fail``) and ``meta.name``, the reason code its failing rows are quarantined
under. Loading checks both and that every expectation type can be evaluated
row by row (see :mod:`featurelake.quality.checks`); GX itself is imported
only where GX runs (Data Docs), so loading a suite stays cheap.

An expectation whose ``meta.value_set_setting`` names a setting (only
``origins`` so far) takes its ``value_set`` from that setting when it is not
the default: ``FEATURELAKE_ORIGINS=airports`` makes ``origin_in_nyc`` accept
every reference airport, in the checks and in the GX suite alike. Under the
default the file's own list holds.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from featurelake.errors import FeaturelakeError

if TYPE_CHECKING:
    import great_expectations as gx

    from featurelake.config import Settings

__all__ = [
    "SEVERITIES",
    "SUPPORTED_TYPES",
    "VALUE_SET_SETTINGS",
    "Check",
    "Severity",
    "Suite",
    "SuiteError",
    "expectations_dir",
    "load_suite",
]

Severity = Literal["warn", "quarantine", "fail"]
SEVERITIES: tuple[Severity, ...] = ("warn", "quarantine", "fail")

SUPPORTED_TYPES: tuple[str, ...] = (
    "expect_column_values_to_not_be_null",
    "expect_column_values_to_be_null",
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_not_be_in_set",
    "expect_column_values_to_be_between",
    "expect_column_value_lengths_to_be_between",
    "expect_column_values_to_match_regex",
    "unexpected_rows_expectation",
)

VALUE_SET_SETTINGS: tuple[str, ...] = ("origins",)
"""Settings an ``expect_column_values_to_be_in_set`` may take its ``value_set`` from
(``meta.value_set_setting``)."""

_ROWS_QUERY = re.compile(r"^\s*select\s+\*\s+from\s+\{batch\}\s+where\s+(?P<cond>.+?)\s*;?\s*$", re.I | re.S)
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class SuiteError(FeaturelakeError):
    """An expectation suite is missing or cannot be evaluated as written."""


@dataclass(frozen=True)
class Check:
    """One expectation of a suite, as featurelake evaluates it."""

    name: str
    """Reason code: ``meta.name``."""
    type: str
    kwargs: dict[str, Any]
    severity: Severity
    mostly: float = 1.0

    @property
    def column(self) -> str | None:
        """The column a column expectation is about; None for row expectations."""
        col = self.kwargs.get("column")
        return str(col) if col is not None else None

    @property
    def condition(self) -> str:
        """The SQL condition of an ``unexpected_rows_expectation`` (rows that match are unexpected)."""
        m = _ROWS_QUERY.match(str(self.kwargs.get("unexpected_rows_query", "")))
        if m is None:
            raise SuiteError(
                f"expectation {self.name}: "
                "unexpected_rows_query must read 'SELECT * FROM {batch} WHERE ...'"
            )
        return m.group("cond")


@dataclass(frozen=True)
class Suite:
    """A loaded suite: its checks in file order and the JSON it came from."""

    name: str
    checks: tuple[Check, ...]
    source: dict[str, Any]
    path: Path

    def by_severity(self, severity: Severity) -> list[Check]:
        """The checks of one severity."""
        return [c for c in self.checks if c.severity == severity]

    def to_gx(self) -> gx.ExpectationSuite:
        """The same suite as a GX ``ExpectationSuite`` (imports GX)."""
        import great_expectations as gx

        return gx.ExpectationSuite(
            name=self.name,
            expectations=[dict(e) for e in self.source["expectations"]],
            meta=dict(self.source.get("meta") or {}),
            notes=self.source.get("notes"),
        )


def expectations_dir() -> Path:
    """The repository's ``expectations/`` folder."""
    return Path(__file__).resolve().parents[3] / "expectations"


def _check(raw: dict[str, Any], suite: str) -> Check:
    etype = raw.get("type")
    meta = raw.get("meta") or {}
    name = meta.get("name")
    where = f"suite {suite}, expectation {name or etype}"
    if etype not in SUPPORTED_TYPES:
        raise SuiteError(f"{where}: type {etype!r} is not evaluated row by row; use one of {SUPPORTED_TYPES}")
    if not isinstance(name, str) or not _NAME.match(name):
        raise SuiteError(f"{where}: meta.name must be a snake_case reason code, got {name!r}")
    severity = meta.get("severity")
    if severity not in SEVERITIES:
        raise SuiteError(f"{where}: meta.severity must be one of {', '.join(SEVERITIES)}, got {severity!r}")
    kwargs = dict(raw.get("kwargs") or {})
    mostly = float(kwargs.get("mostly", 1.0))
    if not 0.0 <= mostly <= 1.0:
        raise SuiteError(f"{where}: mostly must be within [0, 1], got {mostly}")
    check = Check(name, str(etype), kwargs, severity, mostly)
    if etype == "unexpected_rows_expectation":
        _ = check.condition
    elif not check.column:
        raise SuiteError(f"{where}: kwargs.column is required")
    return check


def _value_sets(source: dict[str, Any], suite: str, settings: Settings | None) -> dict[str, Any]:
    """``source`` with the ``value_set`` of every expectation that names a setting taken from it."""
    named = [e for e in source.get("expectations", []) if (e.get("meta") or {}).get("value_set_setting")]
    if not named:
        return source
    for e in named:
        setting = e["meta"]["value_set_setting"]
        where = f"suite {suite}, expectation {e['meta'].get('name') or e.get('type')}"
        if setting not in VALUE_SET_SETTINGS:
            known = ", ".join(VALUE_SET_SETTINGS)
            raise SuiteError(f"{where}: meta.value_set_setting {setting!r} is not one of: {known}")
        if e.get("type") != "expect_column_values_to_be_in_set":
            raise SuiteError(f"{where}: meta.value_set_setting needs expect_column_values_to_be_in_set")
    if settings is None:
        from featurelake.config import get_settings

        settings = get_settings()
    if settings.origins == "nyc":
        return source
    out = copy.deepcopy(source)
    values = sorted(settings.origin_airports)
    for e in out["expectations"]:
        if (e.get("meta") or {}).get("value_set_setting") == "origins":
            e["kwargs"] = {**(e.get("kwargs") or {}), "value_set": values}
    return out


def load_suite(name: str, directory: str | Path | None = None, *, settings: Settings | None = None) -> Suite:
    """Load ``<directory>/<name>.json`` (default: the repository's ``expectations/``).

    Args:
        name: the suite's file name without ``.json``.
        directory: the folder of suites; the repository's ``expectations/`` when None.
        settings: where ``meta.value_set_setting`` reads its setting (``origins``); the
            environment's when None.

    Raises:
        SuiteError: the file is missing, not JSON, or has an expectation featurelake cannot
            evaluate, a missing severity, a duplicate name, or an unknown value set setting.
    """
    folder = Path(directory) if directory is not None else expectations_dir()
    path = folder / f"{name}.json"
    try:
        source = json.loads(path.read_text())
    except FileNotFoundError as e:
        known = sorted(p.stem for p in folder.glob("*.json"))
        raise SuiteError(f"no expectation suite {name!r} at {path}; known: {', '.join(known)}") from e
    except json.JSONDecodeError as e:
        raise SuiteError(f"{path} is not JSON: {e}") from e
    source = _value_sets(source, name, settings)
    checks = tuple(_check(e, name) for e in source.get("expectations", []))
    seen: set[str] = set()
    for c in checks:
        if c.name in seen:
            raise SuiteError(f"suite {name}: two expectations are named {c.name!r}")
        seen.add(c.name)
    return Suite(str(source.get("name", name)), checks, source, path)
