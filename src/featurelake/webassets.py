"""The static files of the HTML featurelake builds (GX Data Docs), served locally, never from a CDN.

Great Expectations writes Data Docs that load Bootstrap, jQuery, Font Awesome and Vega from CDNs,
which an offline machine cannot reach: the pages then render unstyled and without their charts.
``infra/webassets.lock.json`` pins each of those files to an npm package (name, version and the
registry's sha512 integrity). ``make setup`` runs ``python -m featurelake.webassets fetch``, which
downloads each package's tarball from the npm registry (``FEATURELAKE_NPM_REGISTRY``, a mirror,
when set), checks it and unpacks it under ``<FEATURELAKE_JARS>/web/``. :func:`localize` then
copies the files a site needs into the site and points its pages at them.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import shutil
import sys
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from featurelake.config import PROJECT_ROOT, Settings, get_settings
from featurelake.errors import ConfigError

__all__ = ["LOCK_FILE", "Package", "fetch", "localize", "pinned"]

LOCK_FILE = PROJECT_ROOT / "infra" / "webassets.lock.json"
REGISTRY = "https://registry.npmjs.org"


@dataclass(frozen=True)
class Package:
    """One pinned npm package and the CDN addresses its files replace."""

    name: str
    version: str
    integrity: str
    urls: dict[str, str]
    folders: tuple[str, ...] = ()

    @property
    def folder_name(self) -> str:
        return f"{self.name.replace('/', '+')}@{self.version}"

    def tarball(self, registry: str) -> str:
        base = self.name.split("/")[-1]
        return f"{registry.rstrip('/')}/{self.name}/-/{base}-{self.version}.tgz"


def pinned(lock_file: Path = LOCK_FILE) -> list[Package]:
    """The packages of the lock file."""
    doc = json.loads(lock_file.read_text())
    return [
        Package(p["name"], p["version"], p["integrity"], dict(p["urls"]), tuple(p.get("folders", ())))
        for p in doc["packages"]
    ]


def web_folder(settings: Settings | None = None) -> Path:
    """``<FEATURELAKE_JARS>/web``: the unpacked packages."""
    return (settings or get_settings()).jars_dir / "web"


def _check(data: bytes, integrity: str) -> None:
    algorithm, _, expected = integrity.partition("-")
    got = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
    if got != expected:
        raise ConfigError(f"the tarball has {algorithm} {got}; {LOCK_FILE.name} pins {expected}")


def fetch(settings: Settings | None = None, *, quiet: bool = False) -> list[Path]:
    """Download and unpack every pinned package that is not unpacked yet; returns their folders.

    Raises:
        ConfigError: a download failed or a tarball does not match its pinned integrity.
    """
    settings = settings or get_settings()
    registry = os.environ.get("FEATURELAKE_NPM_REGISTRY", REGISTRY)
    root = web_folder(settings)
    root.mkdir(parents=True, exist_ok=True)
    out = []
    for pkg in pinned():
        target = root / pkg.folder_name
        out.append(target)
        if (target / ".complete").exists():
            continue
        url = pkg.tarball(registry)
        if not quiet:
            print(f"fetching {pkg.name}@{pkg.version}", file=sys.stderr)
        try:
            with urllib.request.urlopen(url, timeout=120) as resp:
                data = resp.read()
        except OSError as e:
            raise ConfigError(
                f"cannot fetch {url}: {e}; set FEATURELAKE_NPM_REGISTRY to a reachable mirror"
            ) from e
        _check(data, pkg.integrity)
        staging = root / f".{pkg.folder_name}.part"
        shutil.rmtree(staging, ignore_errors=True)
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            tar.extractall(staging, filter="data")
        shutil.rmtree(target, ignore_errors=True)
        os.replace(staging / "package", target)  # npm tarballs hold one folder, package/
        shutil.rmtree(staging, ignore_errors=True)
        (target / ".complete").touch()
    return out


def localize(site: Path, settings: Settings | None = None) -> int:
    """Serve every pinned CDN file of the pages under ``site`` from ``site/static/vendor/``.

    Files are copied once; each page's CDN addresses become relative paths. GX's logo (an
    S3 image, and its dark-mode twin in the page's CSS) becomes the text it stands for.

    Returns:
        How many addresses were replaced.

    Raises:
        ConfigError: a package is not fetched (run ``make setup``).
    """
    settings = settings or get_settings()
    vendor = site / "static" / "vendor"
    local: dict[str, Path] = {}
    for pkg in pinned():
        source = web_folder(settings) / pkg.folder_name
        if not (source / ".complete").exists():
            raise ConfigError(
                f"{pkg.name}@{pkg.version} is not fetched into {source.parent}: run make setup "
                "(python -m featurelake.webassets fetch)"
            )
        dest = vendor / pkg.folder_name
        for url, file in pkg.urls.items():
            (dest / file).parent.mkdir(parents=True, exist_ok=True)
            if not (dest / file).exists():
                shutil.copyfile(source / file, dest / file)
            local[url] = dest / file
        for folder in pkg.folders:
            if not (dest / folder).exists():
                shutil.copytree(source / folder, dest / folder)
    logo = re.compile(r'<img[^>]+src="https://great-expectations-web-assets[^"]*"[^>]*>')
    dark_logo = re.compile(r"url\('https://great-expectations-web-assets[^']*'\)")
    replaced = 0
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        new = text
        for url, path in local.items():
            if url in new:
                rel = os.path.relpath(path, page.parent)
                replaced += new.count(f'"{url}"')
                new = new.replace(f'"{url}"', f'"{rel}"')
        new = dark_logo.sub("none", logo.sub("<strong>Great Expectations</strong>", new))
        if new != text:
            page.write_text(new, encoding="utf-8")
    return replaced


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args != ["fetch"]:
        print("usage: python -m featurelake.webassets fetch", file=sys.stderr)
        return 2
    try:
        fetch()
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
