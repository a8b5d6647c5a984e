"""File modes: what featurelake creates is readable by its owner only, or by one configured group.

:func:`restrict_files` sets the process's umask (``077``, or ``027`` with
``FEATURELAKE_SHARE_GROUP``) before anything is written. Every process featurelake starts
inherits it: the Spark JVM and its executors, Airflow's scheduler and its tasks, the Kafka
broker, the feature server. With a share group, the lake's folder belongs to that group
and has the set-group-ID bit, so every file and folder created under it belongs to the
group too.
"""

from __future__ import annotations

import grp
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from featurelake.config import Settings, get_settings
from featurelake.errors import ConfigError

__all__ = ["private_file", "restrict_files"]


def restrict_files(settings: Settings | None = None) -> None:
    """Set this process's umask from the settings; with a share group, prepare the lake's folder.

    Raises:
        ConfigError: the share group does not exist.
    """
    settings = settings or get_settings()
    gid = None
    if settings.share_group is not None:
        try:
            gid = grp.getgrnam(settings.share_group).gr_gid
        except KeyError:
            raise ConfigError(
                f"FEATURELAKE_SHARE_GROUP={settings.share_group!r} is not a group here"
            ) from None
    os.umask(0o077 if gid is None else 0o027)
    # The roots too, so that files an older featurelake wrote 0644 under them are out of reach.
    for root in (settings.lake, settings.airflow_home):
        _restrict_root(root, gid)


def _restrict_root(root: Path, gid: int | None) -> None:
    try:
        st = root.stat()
    except FileNotFoundError:
        return
    if st.st_uid != os.geteuid():
        return  # another user's folder: theirs to set
    if gid is None:
        if st.st_mode & 0o7777 != 0o700:
            os.chmod(root, 0o700)
    elif st.st_gid != gid or st.st_mode & 0o7777 != 0o2750:
        os.chown(root, -1, gid)
        os.chmod(root, 0o2750)


@contextmanager
def private_file(path: Path) -> Iterator[TextIO]:
    """Open ``path`` for writing, created 0600 whatever the umask (secrets: tokens, keys)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as f:
        yield f
