"""Disks for the storage tests: a small tmpfs that a test can fill and free, and a read-only data dir.

The tmpfs lives in a private mount namespace (``unshare -rm``: a user namespace, so no real privilege is
needed where the kernel allows them), held open by a ``sleep`` process, so servers started in it with
``nsenter`` can be killed and started again on the same disk. The test reaches the disk's files through
``/proc/<holder>/root``.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

FILL_CHUNK = 64 * 1024


class Tmpfs:
    """A tmpfs of ``size`` mounted on ``mount_point`` in its own mount namespace."""

    def __init__(self, mount_point: Path, size: str):
        missing = [tool for tool in ("unshare", "nsenter", "mount") if shutil.which(tool) is None]
        if missing:
            pytest.skip(f"cannot mount a tmpfs here: {', '.join(missing)} not installed")
        self.mount_point = mount_point
        mount_point.mkdir(parents=True, exist_ok=True)
        script = f'mount -t tmpfs -o size={size} tmpfs "{mount_point}" && exec sleep 3600'
        self.holder = subprocess.Popen(
            ["unshare", "-rm", "--propagation", "private", "sh", "-c", script], stderr=subprocess.PIPE
        )
        self.view = Path(f"/proc/{self.holder.pid}/root{mount_point}")
        for _ in range(200):
            if self.holder.poll() is not None:
                break
            if _mounted(self.holder.pid, mount_point):
                return
            subprocess.run(["sleep", "0.02"], check=True)
        error = (
            self.holder.stderr.read().decode()
            if self.holder.stderr and self.holder.poll() is not None
            else ""
        )
        self.close()
        pytest.skip(f"cannot mount a tmpfs in a user namespace here: {error.strip() or 'timed out'}")

    @property
    def prefix(self) -> list[str]:
        """Put before a command to run it on this disk."""
        return ["nsenter", "-t", str(self.holder.pid), "-U", "-m", "--preserve-credentials"]

    def fill(self) -> int:
        """Write a filler file until the disk is full; the bytes written."""
        written = 0
        chunk = b"\0" * FILL_CHUNK
        with open(self.view / "filler", "ab", buffering=0) as filler:
            while True:
                try:
                    written += filler.write(chunk)
                except OSError as error:
                    if error.errno != errno.ENOSPC:
                        raise
                    return written

    def free(self) -> None:
        (self.view / "filler").unlink(missing_ok=True)

    def close(self) -> None:
        if self.holder.poll() is None:
            self.holder.send_signal(signal.SIGKILL)
            self.holder.wait(timeout=10)


def _mounted(pid: int, mount_point: Path) -> bool:
    try:
        mounts = Path(f"/proc/{pid}/mounts").read_text()
    except OSError:
        return False
    return any(
        line.split()[1] == str(mount_point) and line.startswith("tmpfs") for line in mounts.splitlines()
    )


class ReadOnlyDir:
    """A data dir that its server cannot write: made read-only by mode. As root, the server runs without
    the capabilities that let root write regardless of mode (``setpriv``), still as root."""

    def __init__(self, path: Path):
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.prefix = (
            ["setpriv", "--bounding-set=-dac_override,-dac_read_search"] if os.geteuid() == 0 else []
        )

    def freeze(self) -> None:
        """Make the data dir and everything in it read-only."""
        for item in self.path.rglob("*"):
            item.chmod(0o444)
        self.path.chmod(0o555)

    def thaw(self) -> None:
        self.path.chmod(0o755)
        for item in self.path.rglob("*"):
            item.chmod(0o644)


def wait_for_health(url: str, status: str, timeout: float) -> dict | None:
    """Poll /api/health until it says ``status``; its body, or None after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = httpx.get(url + "/api/health").json()
        if body["status"] == status:
            return body
        time.sleep(0.2)
    return None
