"""Server settings, read from the environment (``BACKPROPLAB_*``) with defaults for a laptop.

Every limit the server enforces lives here so a deployment can tune it without touching code.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

ENV_PREFIX = "BACKPROPLAB_"


def default_trainers() -> int:
    """One trainer worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def default_memory_budget_mb() -> int:
    """Half of this machine's memory, in MiB (runs' estimated needs must fit in it)."""
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not POSIX
        total = 8 * 1024**3
    return max(256, total // 2 // MIB)


MIB = 1024 * 1024


@dataclass(frozen=True)
class Settings:
    """What the server listens on, where it keeps runs, how it trains them and the limits it enforces."""

    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = field(default_factory=lambda: Path.home() / ".backproplab")
    # Trainer workers, each owning a shard of the runs: "auto" (one process per core), a number of processes,
    # or "ray" (actors on a Ray cluster, the `ray` extra; docs/scaling.md).
    trainers: str = "auto"
    # With trainers "ray": the cluster ("" starts a private one on this machine, "auto" uses this machine's
    # running node, "host:port" joins that head), how many trainer actors (the shard count, the same on
    # every replica: the first replica's holds; "auto" = the cluster's CPUs) and their Ray namespace.
    ray_address: str = ""
    ray_trainers: str = "auto"
    ray_namespace: str = "backproplab"
    # A PostgreSQL database for the runs instead of the SQLite file in data_dir (the `postgres` extra):
    # postgresql://user:password@host:port/database. Needed by several replicas or trainers on many machines.
    database_url: str = ""
    # Limits (a request over one gets a 4xx saying which).
    max_runs: int = 1000  # a class of 300 with their forks fits; the memory budgets bound it too
    max_races: int = 50
    max_steps_per_request: int = 10_000
    max_parameters: int = 200_000
    max_body_bytes: int = 64 * 1024 * 1024
    max_message_bytes: int = 64 * 1024 * 1024
    max_gradcheck_parameters: int = 20_000
    # Work budgets in multiply-adds (costs.py): the costliest single training step of a run (checked when a
    # config is created or changed: one step cannot be interrupted, so this bounds how long one run holds its
    # trainer), and all the work of one request that computes (landscape, gradient check, h sweep, health,
    # step-through, sweep, or `steps` × a step).
    max_step_work: float = 2e8
    max_request_work: float = 5e9
    # Heavy reads (computed in the compute pool) in progress at once: per identity, and on the whole server.
    max_heavy_per_caller: int = 4  # the teaching page asks for two at a time (gradient check and h sweep)
    max_heavy_requests: int = 32
    # WebSocket messages a socket may send per second on average, and in a burst.
    ws_message_rate: float = 60.0
    ws_message_burst: int = 120
    # Seconds a caller whose WebSocket was closed for flooding may not open another (429 with Retry-After).
    ws_flood_penalty: float = 10.0
    # Seconds a request's headers, or the next part of its body, may take to arrive.
    request_timeout: float = 15.0
    # Requests one client address may start per second, in a burst, and have in progress at once; the
    # rest wait their turn (past `http_waiting_per_address` waiting, its new connections are closed
    # unread). A class behind one NAT shares an address: raise the rate for such a deployment.
    http_request_rate: float = 50.0
    http_request_burst: int = 500
    http_active_per_address: int = 32
    http_waiting_per_address: int = 1000
    # Reverse proxies in front of this server (addresses or networks, "*" any): a request from one counts
    # against the client its X-Forwarded-For names, not the proxy's address (server/proxies.py).
    trusted_proxies: tuple[str, ...] = ()
    # Request body bytes one client address may send per second (uploads are parsed in the web process).
    http_body_rate: float = 16e6
    # Seconds a graceful shutdown (SIGTERM, Ctrl+C) takes at most, whatever is running.
    shutdown_timeout: float = 10.0
    # Memory budgets in MiB that a new run must fit in, next to the runs already there (estimated from its
    # config, runs/memory.py): all runs of the server, and the runs of one identity.
    memory_budget_mb: int = field(default_factory=default_memory_budget_mb)
    memory_budget_per_identity_mb: int = 1024
    # Per identity (a bearer token), so one client cannot fill the server for everyone.
    max_runs_per_identity: int = 20
    max_races_per_identity: int = 10
    # A run untouched (no change, no checkpoint) for this many seconds is deleted, oldest first; 0 = never.
    run_ttl: float = 7 * 86_400.0
    # Web origins allowed to open WebSockets (and make CORS requests) besides the server's own; "*" = any.
    allowed_origins: tuple[str, ...] = ()
    # Host names this server answers to besides its own (IP literals, localhost, the bound host and this
    # machine's name); ".example.org" also allows its subdomains, "*" any. Stops DNS rebinding.
    allowed_hosts: tuple[str, ...] = ()
    # The operator's token: it may change and list every run (empty: no admin). Never logged or shown.
    admin_token: str = field(default="", repr=False)
    # Scheduling inside a trainer: each playing run trains for up to `time_slice` seconds per turn, and a
    # full round over its playing runs aims to take at most `round_target` seconds.
    time_slice: float = 0.008
    round_target: float = 0.01
    # A playing run nobody watches is paused after this many seconds (unless its owner asked to keep it).
    unwatched_pause: float = 30.0
    checkpoint_interval: float = 5.0
    # Streaming.
    default_fps: int = 30  # a client may ask for 1 to 60 (the protocol's bound)
    frame_metrics_cap: int = 2_000
    state_history_points: int = 5_000
    send_timeout: float = 30.0
    # Server-computed grids (API clients that ask for them; the dashboard draws its own) at most this often.
    grid_fps: int = 10

    @property
    def shutdown_phases(self) -> tuple[int, float]:
        """(whole seconds for requests in progress to finish, seconds for the trainers' last checkpoints) of
        a graceful shutdown; the rest of ``shutdown_timeout`` is margin for killing what did not stop."""
        return max(1, int(0.25 * self.shutdown_timeout)), 0.6 * self.shutdown_timeout

    @property
    def memory_budget(self) -> int:
        return self.memory_budget_mb * MIB

    @property
    def memory_budget_per_identity(self) -> int:
        return self.memory_budget_per_identity_mb * MIB

    @property
    def trainer_count(self) -> int:
        """How many local trainer processes ``trainers`` asks for (none with Ray)."""
        if self.trainers == "ray":
            return 0
        if self.trainers == "auto":
            return default_trainers()
        return int(self.trainers)

    @property
    def store_location(self) -> str:
        """Where runs are kept: the database URL, else the data directory (store.connect reads either)."""
        return self.database_url or str(self.data_dir)

    def __post_init__(self) -> None:
        if self.trainers not in ("auto", "ray") and not (self.trainers.isdigit() and int(self.trainers) >= 1):
            raise ValueError(
                f"trainers must be 'auto', 'ray' or a number of processes, got {self.trainers!r}"
            )
        if self.ray_trainers != "auto" and not (self.ray_trainers.isdigit() and int(self.ray_trainers) >= 1):
            raise ValueError(f"ray_trainers must be 'auto' or a number of actors, got {self.ray_trainers!r}")
        if self.database_url and not self.database_url.startswith(("postgresql://", "postgres://")):
            raise ValueError(
                f"database_url must be a postgresql:// URL, got {self.database_url.split(':')[0]}:..."
            )
        if self.run_ttl < 0:
            raise ValueError(
                f"run_ttl must be 0 (keep runs forever) or a number of seconds, got {self.run_ttl}"
            )
        if self.max_runs_per_identity < 1 or self.max_races_per_identity < 1:
            raise ValueError("max_runs_per_identity and max_races_per_identity must be at least 1")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``BACKPROPLAB_<NAME>`` variables (comma-separated for allowed origins), then overrides."""
        environ = dict(os.environ) if environ is None else environ
        values: dict[str, Any] = {}
        for spec in fields(cls):
            raw = environ.get(ENV_PREFIX + spec.name.upper())
            if raw is None:
                continue
            default = getattr(cls(), spec.name)
            if isinstance(default, tuple):
                values[spec.name] = tuple(item.strip() for item in raw.split(",") if item.strip())
            elif isinstance(default, Path):
                values[spec.name] = Path(raw).expanduser()
            else:
                values[spec.name] = type(default)(raw)
        values.update({key: value for key, value in overrides.items() if value is not None})
        if "data_dir" in values:
            values["data_dir"] = Path(values["data_dir"]).expanduser()
        return cls(**values)
