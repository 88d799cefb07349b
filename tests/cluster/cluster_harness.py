"""Real PostgreSQL, Ray and backproplab processes for the cluster tests and bench/bench_cluster.py.

Nothing here is a mock. PostgreSQL comes from Debian's package (``initdb`` and ``pg_ctl``, run as the
``postgres`` user when we are root) in a temporary directory and listens on a Unix socket only, so it needs
no network and is reachable from inside a network namespace. Ray and the web replicas run inside a fresh
network, PID and mount namespace with loopback only (:func:`in_namespace`): Ray binds nothing but
127.0.0.1 there, and when the namespace's first process exits the kernel ends every process in it, so no
gcs_server or raylet can outlive a test.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.cluster.yml"
RAY_READY = "Ray runtime started"


# ---------------------------------------------------------------------------- prerequisites


def postgres_bin() -> Path | None:
    """Debian keeps initdb and pg_ctl in /usr/lib/postgresql/<version>/bin, off PATH."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    return versions[-1].parent if versions else None


def missing_for_postgres() -> str | None:
    """Why a real PostgreSQL cannot be started here, or None."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install '.[postgres]')"
    if postgres_bin() is None:
        return "PostgreSQL's server programs are not installed (apt-get install postgresql)"
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            return "runuser (util-linux) is needed to run initdb as the postgres user"
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            return "there is no postgres user to run initdb as (apt-get install postgresql)"
    return None


def missing_for_ray() -> str | None:
    """Why Ray cannot be run in a loopback-only namespace here, or None."""
    try:
        import ray  # noqa: F401
    except ImportError:
        return "ray is not installed (pip install '.[ray]')"
    for tool in ("unshare", "ip"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install util-linux iproute2)"
    probe = subprocess.run(in_namespace(["ip", "link", "set", "lo", "up"]), capture_output=True, text=True)
    if probe.returncode != 0:
        return f"cannot make a network namespace here: {probe.stderr.strip() or probe.returncode}"
    return None


def in_namespace(command: list[str]) -> list[str]:
    """``command`` in a new network, PID and mount namespace (see the module docstring)."""
    return ["unshare", "--net", "--pid", "--fork", "--mount-proc", "--", *command]


def loopback_up() -> None:
    """Inside a fresh namespace: bring up loopback, the only interface there is; and as the namespace's
    first process (which ignores signals it has no handler for), let SIGTERM run our cleanup."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(f"terminated (signal {signum})"))


# ---------------------------------------------------------------------------- PostgreSQL


class Postgres:
    """A PostgreSQL server of our own in a temporary directory, on a Unix socket only. ``prefix`` goes
    before its commands (``SmallDisk.prefix`` starts it where a small disk is mounted)."""

    def __init__(self, prefix: list[str] | None = None) -> None:
        self.prefix = prefix or []
        # NOTE: not under pytest's tmp_path: its root is mode 0700 and root's, so the postgres user could
        # not reach the data directory (nor under a private TMPDIR); a Unix socket path must stay under ~100 bytes.
        self.root = Path(tempfile.mkdtemp(prefix="bpl-pg-", dir="/tmp"))
        self.data = self.root / "data"
        self.socket_dir = self.root / "sock"
        self.log = self.root / "postgres.log"
        self.bin = postgres_bin()

    def _as_owner(self, command: list[str]) -> list[str]:
        owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        return [*self.prefix, *owner, *command]

    def start(self) -> Postgres:
        assert self.bin is not None
        self.socket_dir.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
            shutil.chown(self.socket_dir, "postgres")
        initdb = [str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust"]
        subprocess.run(self._as_owner([*initdb, "-E", "UTF8", "--no-sync"]), check=True, capture_output=True)
        self._pg_ctl("start")
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@/{database}?host={self.socket_dir}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as db:
            db.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]  # a test's own name
        return self.url(name)

    def restart(self) -> None:
        """Stop at once (as a crash would) and start again on the same data."""
        self._pg_ctl("stop", "-m", "immediate")
        self._pg_ctl("start")

    @contextlib.contextmanager
    def offline(self) -> Iterator[Path]:
        """Stopped cleanly (every page written, nothing to replay) while the block runs; its data dir."""
        self._pg_ctl("stop", "-m", "fast")
        try:
            yield self.data
        finally:
            self._pg_ctl("start")

    def _pg_ctl(self, action: str, *options: str) -> None:
        assert self.bin is not None
        server = f"-c listen_addresses='' -k {self.socket_dir} -c fsync=off -c max_connections=200"
        command = [str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", server, "-l", str(self.log)]
        subprocess.run(
            self._as_owner([*command, "-w", "-t", "60", action, *options]), check=True, capture_output=True
        )

    def stop(self) -> None:
        if self.bin is not None and (self.data / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.CalledProcessError):
                self._pg_ctl("stop", "-m", "immediate")
        shutil.rmtree(self.root, ignore_errors=True)


class SmallDisk:
    """A tmpfs of ``size`` owned by the postgres user, mounted in a mount namespace of its own (held open by
    a ``sleep``): a PostgreSQL started with :attr:`prefix` sees it (a tablespace there fills up for real),
    and the test reaches its files through ``/proc/<holder>/root`` (:attr:`view`). Needs root."""

    def __init__(self, size: str):
        self.mount_point = Path(tempfile.mkdtemp(prefix="bpl-disk-", dir="/tmp"))
        import pwd

        uid = pwd.getpwnam("postgres").pw_uid
        script = (
            f'mount -t tmpfs -o size={size},uid={uid},mode=0700 tmpfs "{self.mount_point}" && exec sleep 3600'
        )
        self.holder = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c", script])
        self.view = Path(f"/proc/{self.holder.pid}/root{self.mount_point}")
        deadline = time.monotonic() + 10
        while not self._mounted():
            if self.holder.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"could not mount a {size} tmpfs on {self.mount_point}")
            time.sleep(0.02)

    def _mounted(self) -> bool:
        with contextlib.suppress(OSError):
            mounts = Path(f"/proc/{self.holder.pid}/mounts").read_text().splitlines()
            return any(line.split()[1] == str(self.mount_point) for line in mounts)
        return False

    @property
    def prefix(self) -> list[str]:
        return ["nsenter", "-t", str(self.holder.pid), "-m"]

    def fill(self, leave: int) -> None:
        """Write a filler file until only about ``leave`` bytes are free."""
        stats = os.statvfs(self.view)
        size = max(0, stats.f_bavail * stats.f_frsize - leave)
        with open(self.view / "filler", "wb") as filler:
            filler.write(b"\0" * size)

    def free(self) -> None:
        (self.view / "filler").unlink(missing_ok=True)

    def close(self) -> None:
        if self.holder.poll() is None:
            self.holder.kill()
            self.holder.wait(timeout=10)
        shutil.rmtree(self.mount_point, ignore_errors=True)


# ---------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def children_of(pid: int) -> list[int]:
    """Every descendant of ``pid`` (from /proc), deepest last."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                parents[int(entry.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        current = frontier.pop()
        for child, parent in parents.items():
            if parent == current:
                found.append(child)
                frontier.append(child)
    return found


def kill_tree(pid: int, sig: int = signal.SIGKILL) -> None:
    for target in [pid, *children_of(pid)]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(target, sig)


class Process:
    """A child process with its log file, stopped with its whole tree."""

    def __init__(self, name: str, command: list[str], log_dir: Path, env: dict[str, str] | None = None):
        self.name = name
        self.command = command
        self.log = log_dir / f"{name}.log"
        self.env = {**os.environ, **(env or {})}
        self.popen: subprocess.Popen[bytes] | None = None
        self.log_start = 0  # where this start's output begins in the (appended) log

    def start(self) -> Process:
        self.log_start = self.log.stat().st_size if self.log.exists() else 0
        with open(self.log, "ab") as log:
            self.popen = subprocess.Popen(
                self.command, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def output(self) -> str:
        """What this start of the process has written."""
        if not self.log.exists():
            return ""
        with open(self.log, "rb") as log:
            log.seek(self.log_start)
            return log.read().decode(errors="replace")

    def tail(self, characters: int = 3000, requests: bool = True) -> str:
        """The last ``characters`` of the output; without the access log's lines if not ``requests``."""
        text = self.output()
        if not requests:
            text = "".join(line for line in text.splitlines(keepends=True) if ' HTTP/1.1" ' not in line)
        return text[-characters:]

    def wait_for_log(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output():
                return
            if not self.alive():
                raise RuntimeError(f"{self.name} exited: {self.tail()}")
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not say {text!r} within {timeout} s: {self.tail()}")

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM (a graceful stop), then SIGKILL to whatever of its tree is left."""
        if self.popen is None:
            return
        tree = children_of(self.pid)
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=timeout)
        for pid in [self.pid, *tree]:
            kill_tree(pid)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=5)

    def kill(self) -> None:
        """SIGKILL to the process and everything it started (a machine that died)."""
        if self.popen is None:
            return
        kill_tree(self.pid)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=10)


def backproplab_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "backproplab", "serve", *args]


class Replica(Process):
    """A ``backproplab serve`` web replica on a port of its own."""

    def __init__(self, name: str, args: list[str], log_dir: Path, env: dict[str, str] | None = None):
        self.port = free_port()
        super().__init__(name, backproplab_command("--port", str(self.port), *args), log_dir, env)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90.0) -> Replica:
        super().start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited: {self.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/api/health", timeout=2).status_code == 200:
                    return self
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer /api/health within {timeout} s: {self.tail()}")


def require(reason: str | None) -> None:
    """Skip (fail under CI) when ``reason`` says a prerequisite is missing."""
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI runs the cluster tests, but {reason}", pytrace=False)
    pytest.skip(reason)
