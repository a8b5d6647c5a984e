"""Follow README.md top to bottom in one shell after ``make demo``; compare the demo lake before and after.

Issue 17's check: a reader who runs every block as written, in order, in one terminal (so each
``export`` holds until the next), must leave the demo lake's silver and gold as ``make demo``
built them. This runs every shell block of README.md that way in the checkout, then prints each
table whose content changed (an order-independent hash of its rows, :mod:`featurelake.content`).

    make demo && bash infra/services.sh
    .venv/bin/python tests/readme_walk.py [--log walk.log]

It takes about 40 minutes on 2 cores (a full-year backfill, two trainings, a month on a
cluster). What it cannot run is skipped, with the reason: ``make demo``/``make test`` themselves,
hosts of the examples (``*.internal``, a Maven mirror), the chaos benchmark (hours) and a
long-lived Airflow. Servers (``serve``, ``docs --serve``, ``features ui``, ``mlflow``,
``airflow``) run in the background until they answer HTTP; ``featurelake serve`` stays up for the
``curl`` blocks after it. ``--continuous`` commands get SIGTERM after 90 s. The ``prod`` block
runs in a subshell (the README says: a second terminal), followed by ``cluster down``.
Exit status 1 when a silver or gold table of the demo lake changed, except ``gold.delay_predictions``,
which the README's ``score delay`` writes on purpose.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from readme_blocks import long_running, parse_readme

ROOT = Path(__file__).resolve().parent.parent
WRITTEN_ON_PURPOSE = {"gold.delay_predictions"}

SKIP = {
    r"^make (demo|test)\b": "make demo ran before the walk; make test runs on its own",
    r"FEATURELAKE_MAVEN_REPO=": "an example mirror host",
    r"python -m benchmarks\.chaos": "hours of kills; measured apart",
    r"\.internal|--master yarn": "an example remote cluster",
    r"^make airflow\b": "a long-lived Airflow; its DAG runs are tested in tests/e2e/test_airflow.py",
    r"^eval \"\$\(featurelake airflow --print-env\)\"|^airflow ": "needs the long-lived Airflow above",
}
PORTS = {"docs": 8080, "features ui": 8888, "mlflow": 5000, "airflow": 8080}


def script(work: Path) -> str:
    """README.md's shell blocks as one bash script, each command stamped with its line and status."""
    out = [
        "set +e",
        "BG=()",
        f'bg() {{ setsid bash -c "$1" > "{work}/bg-$2.log" 2>&1 & BG+=($!); }}',
        "stop_bg() { kill -TERM -- -$1 2>/dev/null; sleep 5; kill -KILL -- -$1 2>/dev/null; }",
        "wait_http() { for i in $(seq 1 ${2:-120}); do c=$(curl -s -o /dev/null -w '%{http_code}' \"$1\"); "
        '[ "$c" != 000 ] && { echo "GET $1 -> $c"; return 0; }; sleep 1; done; '
        'echo "GET $1: no answer"; return 1; }',
    ]
    for block in parse_readme(ROOT / "README.md"):
        prod = any("FEATURELAKE_PROFILE=prod" in c.code for c in block.commands)
        out.append(f"echo; echo '======== README.md:{block.line} [{block.heading}]'")
        if prod:
            out.append("(")
        for c in block.commands:
            code = c.code
            out.append(f"echo '### README.md:{c.line}: '{shlex.quote(code)}")
            reason = next((why for pat, why in SKIP.items() if re.search(pat, code.strip())), None)
            if reason:
                out.append(f"echo '### skipped: {reason}'")
            elif code.startswith("export "):
                out.append(code)
            elif not long_running(c):
                out += [code, 'echo "### rc=$?"']
            elif "serve --port" in code:
                out += [
                    f"bg {shlex.quote(code)} L{c.line}; SERVE=${{BG[-1]}}",
                    "wait_http http://127.0.0.1:6566/health 180",
                ]
            elif "--continuous" in code:
                out.append(f'timeout -s TERM -k 120 90 bash -c {shlex.quote(code)}; echo "### rc=$?"')
            elif re.search(r"spark-sql\s*$", code):
                out.append(f'echo "show tables in gold;" | timeout 300 {code}; echo "### rc=$?"')
            else:
                m = re.search(r"--port (\d+)", code)
                port = (
                    m.group(1)
                    if m
                    else next(
                        (str(p) for k, p in PORTS.items() if re.search(rf"featurelake {k}\b", code)), "80"
                    )
                )
                out += [
                    f"bg {shlex.quote(code)} L{c.line}",
                    f"wait_http http://127.0.0.1:{port}/ 240; stop_bg ${{BG[-1]}}",
                ]
        if prod:
            out += [")", "featurelake cluster down"]
    out += ['[ -n "$SERVE" ] && stop_bg $SERVE', "echo '======== walk done'"]
    return "\n".join(out) + "\n"


def digests(lake: Path) -> dict[str, str]:
    """Each existing table's row count and content hash."""
    from featurelake.catalog import Catalog
    from featurelake.config import Settings
    from featurelake.content import table_digest

    catalog = Catalog(settings=Settings(lake=lake))
    out = {}
    for name in catalog.names():
        if catalog.exists(name):
            d = table_digest(catalog.path(name))
            out[name] = f"{d.rows} rows, {d.sha256[:16]}"
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--log", type=Path, default=Path("readme-walk.log"), help="Where the walk's output goes."
    )
    args = parser.parse_args()
    lake = ROOT / "lake"
    if not (lake / "gold").is_dir():
        raise SystemExit(f"error: no demo lake at {lake}: run make demo first")
    before = digests(lake)
    work = Path(tempfile.mkdtemp(prefix="readme-walk-"))
    (work / "walk.sh").write_text(script(work))
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEATURELAKE_") and k != "CI"}
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    with args.log.open("w") as log:
        subprocess.run(
            ["bash", str(work / "walk.sh")], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    after = digests(lake)
    failed = [line for line in args.log.read_text().splitlines() if re.match(r"### rc=[1-9]", line)]
    changed = {
        n: (before.get(n), after.get(n))
        for n in sorted(set(before) | set(after))
        if before.get(n) != after.get(n) and n.startswith(("silver.", "gold."))
    }
    print(json.dumps({"log": str(args.log), "nonzero_exits": len(failed), "changed": changed}, indent=1))
    if set(changed) - WRITTEN_ON_PURPOSE:
        sys.exit(1)


if __name__ == "__main__":
    main()
