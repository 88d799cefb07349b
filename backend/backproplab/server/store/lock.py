"""One server per data dir: an exclusive lock held for the server's whole life.

Two servers writing one data dir lose work (the last writer wins) and bring deleted runs back, so the
second one must refuse to start and say why. The lock is ``flock`` on ``<data_dir>/server.lock``: the
kernel drops it when its holder exits, however it exits (kill -9 included), so a stale lock never blocks
a restart. Trainer workers hold ``trainers.lock`` shared while they live; a new server waits (briefly)
for an exclusive hold on it, so trainers orphaned by a killed server finish their last checkpoint before
the new server's trainers load those runs.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import threading
import time
from pathlib import Path
from typing import ClassVar

log = logging.getLogger("backproplab.store")

SERVER_LOCK = "server.lock"
TRAINERS_LOCK = "trainers.lock"
ORPHAN_WAIT = 15.0  # seconds a new server waits for trainers of a killed one to finish
_POLL = 0.05


class DataDirLockedError(Exception):
    """Another server holds the data dir; the message says which and what to do."""


class DataDirLock:
    """The exclusive hold of this process on a data dir (see the module docstring); re-entrant within a
    process, so the command line can take it first (and exit with a clear message) and the app again."""

    _held: ClassVar[dict[str, tuple[DataDirLock, int]]] = {}
    _guard: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, path: Path, fd: int | None):
        self.path = path
        self._fd = fd

    @classmethod
    def acquire(cls, data_dir: Path | str) -> DataDirLock:
        data_dir = Path(data_dir)
        key = str(data_dir.resolve())
        with cls._guard:
            if key in cls._held:
                lock, count = cls._held[key]
                cls._held[key] = (lock, count + 1)
                return lock
            lock = cls(data_dir / SERVER_LOCK, _lock_server(data_dir))
            cls._held[key] = (lock, 1)
        _wait_for_orphans(data_dir)
        return lock

    def release(self) -> None:
        key = str(self.path.parent.resolve())
        with self._guard:
            lock, count = self._held.get(key, (self, 1))
            if count > 1:
                self._held[key] = (lock, count - 1)
                return
            self._held.pop(key, None)
        if self._fd is not None:
            os.close(self._fd)  # closing the last descriptor drops the flock
            self._fd = None


def _open(path: Path) -> tuple[int | None, bool]:
    """A descriptor for ``path`` (created if need be) and whether it is writable; None if the file
    neither exists nor can be created (a read-only data dir where no server ever ran)."""
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644), True
    except OSError as error:
        if error.errno not in (errno.EACCES, errno.EROFS, errno.EPERM):
            raise
    try:
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC), False  # flock needs no write access
    except FileNotFoundError:
        return None, False


def _lock_server(data_dir: Path) -> int | None:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / SERVER_LOCK
    fd, writable = _open(path)
    if fd is None:
        log.warning("cannot create %s in the read-only data dir: starting without the one-server lock", path)
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(fd)
        os.close(fd)
        raise DataDirLockedError(
            f"another Backprop Lab server{holder} is already using the data dir {data_dir}; "
            "stop it first, or start this one with another --data-dir"
        ) from None
    if writable:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def _holder(fd: int) -> str:
    try:
        pid = os.pread(fd, 32, 0).decode().strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return f" (pid {pid})" if pid.isdigit() else ""


def _wait_for_orphans(data_dir: Path) -> None:
    fd, _ = _open(data_dir / TRAINERS_LOCK)
    if fd is None:
        return
    try:
        deadline = time.monotonic() + ORPHAN_WAIT
        waited = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not waited:
                    log.info("waiting for the trainers of a previous server to finish their checkpoints")
                    waited = True
                if time.monotonic() > deadline:
                    log.warning("trainers of a previous server are still running after %.0f s", ORPHAN_WAIT)
                    break
                time.sleep(_POLL)
    finally:
        os.close(fd)


def hold_for_trainer(data_dir: Path) -> int | None:
    """A trainer's shared hold on ``trainers.lock`` for its life (None if the file cannot be opened)."""
    fd, _ = _open(data_dir / TRAINERS_LOCK)
    if fd is not None:
        fcntl.flock(fd, fcntl.LOCK_SH)
    return fd
