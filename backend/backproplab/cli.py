"""``backproplab`` (same as ``backproplab serve``): start the server.

Flags override the environment (``BACKPROPLAB_HOST``, ``BACKPROPLAB_PORT``, ``BACKPROPLAB_DATA_DIR``,
``BACKPROPLAB_TRAINERS``; at scale ``BACKPROPLAB_RAY_ADDRESS``, ``BACKPROPLAB_RAY_TRAINERS``,
``BACKPROPLAB_DATABASE_URL``: docs/scaling.md).
"""

from __future__ import annotations

import os

# NOTE: one BLAS thread per process. The trainer workers already keep every core busy; a multi-threaded BLAS
# oversubscribes the cores and, measured under load, ran a 784-wide network 25x slower than one thread did.
# Set before numpy is first imported (workers inherit it); the environment can override.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402

import uvicorn  # noqa: E402

from .server.app import create_app, data_dir_lock  # noqa: E402
from .server.connections import guarded_protocol  # noqa: E402
from .server.proxies import TrustedProxies  # noqa: E402
from .server.settings import Settings  # noqa: E402
from .server.store.lock import DataDirLockedError  # noqa: E402


def settings_from(argv: list[str] | None = None) -> Settings:
    """The settings the command line asks for (flags over the environment)."""
    parser = argparse.ArgumentParser(prog="backproplab", description="Watch a neural network learn.")
    parser.add_argument("command", nargs="?", default="serve", choices=["serve"], help="serve (the default)")
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default 8000)")
    parser.add_argument("--data-dir", help="where runs are kept (default ~/.backproplab)")
    parser.add_argument(
        "--trainers",
        help="trainer worker processes: a number, auto (one per core, the default), or ray (actors on a Ray cluster)",
    )
    scale = parser.add_argument_group("at scale (docs/scaling.md)")
    scale.add_argument(
        "--ray-address",
        help="with --trainers ray: host:port of the Ray head to join, auto (this machine's running Ray node), "
        "or nothing to start a private Ray here",
    )
    scale.add_argument(
        "--ray-trainers", help="with --trainers ray: trainer actors (auto: the cluster's CPUs)"
    )
    scale.add_argument("--database-url", help="keep runs in PostgreSQL: postgresql://user:password@host/db")
    args = parser.parse_args(argv)
    return Settings.from_env(
        host=args.host,
        port=args.port,
        data_dir=args.data_dir,
        trainers=args.trainers,
        ray_address=args.ray_address,
        ray_trainers=args.ray_trainers,
        database_url=args.database_url,
    )


def main(argv: list[str] | None = None) -> None:
    settings = settings_from(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        proxies = TrustedProxies(settings.trusted_proxies)
    except ValueError as error:
        sys.exit(f"backproplab: {error}")
    try:
        # Taken here first so a second server exits at once with a clear message; the app takes it again.
        lock = data_dir_lock(settings)
    except DataDirLockedError as error:
        sys.exit(f"backproplab: {error}")
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        http=guarded_protocol(
            settings.request_timeout,
            settings.http_request_rate,
            settings.http_request_burst,
            settings.http_waiting_per_address,
            settings.http_active_per_address,
            proxies,
        ),
        # Clients behind a trusted proxy are known by its X-Forwarded-For (proxies.py); nobody else's is
        # believed (uvicorn would trust 127.0.0.1's by default).
        proxy_headers=bool(proxies),
        forwarded_allow_ips=list(settings.trusted_proxies) or None,
        ws_max_size=settings.max_message_bytes,
        ws_per_message_deflate=False,  # frames go out at 30+ per second per client: spare the CPU
        # Graceful shutdown (SIGTERM, Ctrl+C) within settings.shutdown_timeout: requests in progress get the
        # first part (then they are cancelled, and their work with them), the trainers' checkpoints the next.
        timeout_graceful_shutdown=settings.shutdown_phases[0],
        log_level="info",
    )
    if lock is not None:
        lock.release()


if __name__ == "__main__":
    main()
