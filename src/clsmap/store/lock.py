"""One writer per store: an ``flock`` on ``STORE/.clsmap.lock`` that names its holder.

The kernel releases the lock when its process dies, so a run killed with SIGKILL never leaves a stale
lock behind. A second run on the same folder is refused with the holder's pid, host, start time and
command.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .._errors import ClsmapError
from .files import writing_error

__all__ = ["LOCK", "acquire_lock", "release_lock"]

#: held (flock) by the one process writing a store; says who that is
LOCK = ".clsmap.lock"

#: lock files this process holds, by resolved folder
_HELD: dict[str, Any] = {}


def now() -> str:
    """The current UTC time as the manifests write it."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def acquire_lock(folder: Path) -> Any:
    """Take the store's write lock, or fail naming the holder.

    A later writer in the same process takes over this process's lock on the folder.
    """
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        return None
    key = str(folder.resolve())
    earlier = _HELD.pop(key, None)
    if earlier is not None:
        earlier.close()
    path = folder / LOCK
    try:
        fh = open(path, "a+", encoding="utf-8")
    except OSError as exc:
        raise writing_error(path, exc) from None
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.seek(0)
        holder = fh.read().strip() or "a process that did not say who it is"
        fh.close()
        try:
            info = json.loads(holder)
            holder = (f"pid {info.get('pid')} on {info.get('host')}, since {info.get('since')}: "
                      f"{info.get('command')}")
        except (ValueError, AttributeError):
            pass
        raise ClsmapError(
            f"{folder} is being written by another clsmap run ({holder}); wait for it to finish or stop it, "
            "or write to another folder"
        ) from None
    fh.seek(0)
    fh.truncate()
    fh.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": now(),
                         "command": " ".join(sys.argv)[:500]}))
    fh.flush()
    _HELD[key] = fh
    return fh


def release_lock(folder: Path) -> None:
    fh = _HELD.pop(str(folder.resolve()), None)
    if fh is not None:
        fh.seek(0)
        fh.truncate()
        fh.close()
