"""README.md's shell blocks, their markers and the outputs they show, for tests/integration/test_readme.py.

Plain Python, no pytest: the parsing is apart from the running so that the cheap checks (which
blocks write, which lake they say) need neither Spark nor a service.

A block's markers are HTML comments on the lines just before its fence (GitHub shows nothing):

- ``<!-- runnable -->`` or ``<!-- runnable: timeout=600 services=kafka,redis -->``: the test runs
  the block as written in a fresh folder;
- ``<!-- lake: demo -->``: the block writes to the demo lake (``./lake``) on purpose.

A command whose trailing comment ends in ``=> TEXT`` (``# January => 26,865``; text before the
arrow is a note) must print TEXT on stdout. TEXT matches as a substring, except that a number
matches the same number with or without thousands separators (``26,865`` matches ``26865``, not
``126865``), and a run of spaces matches any run of whitespace (aligned columns).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "RUN_OPTIONS",
    "SHELLS",
    "Block",
    "Command",
    "expected_pattern",
    "is_demo_lake",
    "lake_of",
    "long_running",
    "parse_readme",
    "writes_lake",
]

README = Path(__file__).resolve().parent.parent / "README.md"

SHELLS = ("bash", "console", "sh", "shell")
"""Fence languages that hold shell commands (``console`` lines start with ``$ ``)."""

RUN_OPTIONS = {"timeout", "services"}
"""Options a ``<!-- runnable: ... -->`` marker may give."""

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<lang>[\w+-]*)")
_HEADING = re.compile(r"^#{1,6}\s+(?P<title>.+?)\s*#*\s*$")
_MARKER = re.compile(r"^\s*<!--\s*(?P<body>.*?)\s*-->\s*$")
_EXPECT = re.compile(r"(?:^|\s)=>\s*(?P<text>.*?)\s*$")

_WRITES = re.compile(
    r"\bfeaturelake\s+(?:-\S+\s+)*"
    r"(?P<cmd>produce|ingest(?!\s+status\b)|backfill|train|score|load-reference|stream-silver"
    r"|features\s+(?:apply|materialize(?:-incremental)?)|quarantine\s+replay|forget|restore"
    r"|models\s+(?:promote|rollback))\b"
)
"""Commands that write to a lake (``produce --sink kafka`` and ``backfill --dry-run`` excepted)."""

_LAKE_ASSIGNMENT = re.compile(
    r"(?:^|[\s;&|(])(?:export\s+)?FEATURELAKE_LAKE=(?P<value>\"[^\"]*\"|'[^']*'|\S*)"
)
_DEMO_LAKES = {"", "lake", "./lake", "$PWD/lake", "${PWD}/lake", "lake/", "./lake/", "$PWD/lake/"}

_LONG_RUNNING = re.compile(
    r"\bfeaturelake\s+(?:-\S+\s+)*(?:serve\b|features\s+ui\b|airflow(?!\s+--print-env)\b"
    r"|docs\b.*--serve\b|spark-sql\s*$|mlflow\b)"
    r"|\bmake\s+(?:airflow|demo|test)\b"
)


@dataclass(frozen=True)
class Command:
    """One command of a block: its physical lines joined, and the output its comment shows."""

    line: int
    """Line of README.md the command starts on (1-based)."""
    code: str
    """The command as bash runs it (continuation lines kept), without its trailing comment."""
    expected: str | None
    """What its stdout must contain (the text after ``=>``), or None."""


@dataclass(frozen=True)
class Block:
    """A fenced shell block of README.md."""

    line: int
    """Line of its opening fence (1-based)."""
    heading: str
    """The heading it sits under."""
    lang: str
    markers: tuple[str, ...]
    """The HTML comments just before the fence, in order."""
    commands: tuple[Command, ...]
    runnable: bool = False
    options: dict[str, str] = field(default_factory=dict)
    """A runnable block's options (``timeout``, ``services``)."""
    demo_lake: bool = False
    """Marked ``<!-- lake: demo -->``: writes to the demo lake on purpose."""

    @property
    def name(self) -> str:
        """A test id: the heading and the line."""
        slug = re.sub(r"[^a-z0-9]+", "-", self.heading.lower()).strip("-")[:40]
        return f"{slug}-L{self.line}"


def _scan(text: str) -> tuple[int | None, bool]:
    """Where ``text``'s comment starts (a ``#`` that starts a word outside quotes), and whether the
    code before it ends inside a quoted string."""
    quote: str | None = None
    escaped = False
    for i, ch in enumerate(text):
        if escaped:
            escaped = False
        elif ch == "\\" and quote != "'":
            escaped = True
        elif quote is not None:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or text[i - 1].isspace()):
            return i, False
    return None, quote is not None


def split_comment(text: str) -> tuple[str, str | None]:
    """``text`` as code and trailing comment: a ``#`` that starts a word outside quotes."""
    at, _ = _scan(text)
    if at is None:
        return text.rstrip(), None
    return text[:at].rstrip(), text[at + 1 :].strip()


def _continues(line: str) -> bool:
    trailing = len(line) - len(line.rstrip("\\"))
    return trailing % 2 == 1


def _open_quote(text: str) -> bool:
    """Whether ``text`` ends inside a quoted string (a JSON body spread over lines, say)."""
    return _scan(text)[1]


def _commands(lines: list[tuple[int, str]], lang: str) -> list[Command]:
    out: list[Command] = []
    pending: list[tuple[int, str]] = []
    for number, raw in lines:
        text = raw
        if not pending and lang == "console":
            if not text.startswith("$"):
                continue  # the output a console block shows
            text = text[1:].lstrip()
        pending.append((number, text))
        if _continues(text) or _open_quote("\n".join(t for _, t in pending)):
            continue
        first = pending[0][0]
        body = [t for _, t in pending]
        pending = []
        code, comment = split_comment("\n".join(body))
        if not code.strip():
            continue  # a blank or comment-only line
        match = _EXPECT.search(comment) if comment else None
        expected = match.group("text") if match and match.group("text") else None
        out.append(Command(first, code, expected))
    if pending:
        raise ValueError(f"README.md:{pending[0][0]}: a continued line ends the block")
    return out


def _parse_marker(body: str) -> tuple[str, str] | None:
    key, _, rest = body.partition(":")
    key = key.strip()
    if key not in ("runnable", "lake"):
        return None
    return key, rest.strip()


def parse_readme(path: Path = README) -> list[Block]:
    """Every fenced shell block of ``path`` with its heading, markers and commands.

    Raises:
        ValueError: a marker with an unknown option or value, or a block left open.
    """
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    heading = "(top)"
    i = 0
    while i < len(lines):
        fence = _FENCE.match(lines[i])
        if fence is None:
            h = _HEADING.match(lines[i])
            if h:
                heading = h.group("title").replace("`", "").strip()
            i += 1
            continue
        start, mark, lang = i, fence.group("fence"), fence.group("lang").lower()
        end = next(
            (
                j
                for j in range(i + 1, len(lines))
                if re.match(rf"^ {{0,3}}{mark[0]}{{{len(mark)},}}\s*$", lines[j])
            ),
            None,
        )
        if end is None:
            raise ValueError(f"README.md:{start + 1}: the block opened here is never closed")
        i = end + 1
        if lang not in SHELLS:
            continue
        markers: list[str] = []
        k = start - 1
        while k >= 0 and (m := _MARKER.match(lines[k])):
            markers.insert(0, m.group("body"))
            k -= 1
        runnable, demo, options = False, False, {}
        for body in markers:
            parsed = _parse_marker(body)
            if parsed is None:
                continue
            key, rest = parsed
            if key == "lake":
                if rest != "demo":
                    raise ValueError(f"README.md:{start + 1}: <!-- lake: {rest} -->; the marker knows `demo`")
                demo = True
                continue
            runnable = True
            for item in rest.split():
                name, eq, value = item.partition("=")
                if name not in RUN_OPTIONS or not eq or not value:
                    raise ValueError(
                        f"README.md:{start + 1}: runnable option {item!r}; use "
                        + ", ".join(f"{o}=..." for o in sorted(RUN_OPTIONS))
                    )
                options[name] = value
        body_lines = [(n + 1, lines[n]) for n in range(start + 1, end)]
        blocks.append(
            Block(
                line=start + 1,
                heading=heading,
                lang=lang,
                markers=tuple(markers),
                commands=tuple(_commands(body_lines, lang)),
                runnable=runnable,
                options=options,
                demo_lake=demo,
            )
        )
    return blocks


def writes_lake(command: Command) -> bool:
    """Whether the command writes to a lake (see ``_WRITES``)."""
    match = _WRITES.search(command.code)
    if match is None:
        return False
    if match.group("cmd") == "produce" and re.search(r"--sink[ =]kafka\b", command.code):
        return False  # Kafka messages, no lake
    return not (match.group("cmd") == "backfill" and "--dry-run" in command.code)


def lake_of(block: Block, command: Command) -> str | None:
    """The ``FEATURELAKE_LAKE`` value in force when ``command`` runs, as the block writes it.

    None when nothing in the block sets it (the default, the demo lake ``./lake``).
    """
    value: str | None = None
    for c in block.commands:
        for m in _LAKE_ASSIGNMENT.finditer(c.code):
            value = m.group("value").strip("\"'")
        if c is command:
            break
    return value


def is_demo_lake(value: str | None) -> bool:
    """Whether a ``FEATURELAKE_LAKE`` value (None: unset) is the demo lake, ``./lake``."""
    return value is None or value.strip() in _DEMO_LAKES


def long_running(command: Command) -> bool:
    """Whether the command runs until stopped: a server, a shell, ``--continuous`` without ``--timeout``."""
    if _LONG_RUNNING.search(command.code):
        return True
    return "--continuous" in command.code and "--timeout" not in command.code


_NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?")


def expected_pattern(text: str) -> re.Pattern[str]:
    """The regular expression an expected output ``text`` stands for (see the module's docstring)."""
    parts: list[str] = []
    pos = 0
    for m in _NUMBER.finditer(text):
        parts.append(_literal(text[pos : m.start()]))
        whole, _, decimals = m.group().partition(".")
        digits = whole.replace(",", "")
        grouped = f"{int(digits):,}" if digits == str(int(digits)) else digits
        forms = {digits, grouped}
        number = "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))
        tail = re.escape("." + decimals) if decimals else ""
        # a whole number: no digit (or grouped digits) around it, no further decimals
        parts.append(rf"(?<![\d.])(?:{number}){tail}(?![\d]|\.\d|,\d{{3}}(?!\d))")
        pos = m.end()
    parts.append(_literal(text[pos:]))
    return re.compile("".join(parts))


def _literal(text: str) -> str:
    return r"\s+".join(re.escape(chunk) for chunk in re.split(r"\s+", text)) if text else ""
