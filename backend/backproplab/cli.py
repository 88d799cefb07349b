"""``backproplab`` (same as ``backproplab serve``): start the server.

Flags override the environment (``BACKPROPLAB_HOST``, ``BACKPROPLAB_PORT``, ``BACKPROPLAB_DATA_DIR``).
"""

from __future__ import annotations

import argparse
import logging

import uvicorn

from .server.app import create_app
from .server.settings import Settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="backproplab", description="Watch a neural network learn.")
    parser.add_argument("command", nargs="?", default="serve", choices=["serve"], help="serve (the default)")
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default 8000)")
    parser.add_argument("--data-dir", help="where runs are kept (default ~/.backproplab)")
    args = parser.parse_args(argv)
    settings = Settings.from_env(host=args.host, port=args.port, data_dir=args.data_dir)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        ws_max_size=settings.max_message_bytes,
        ws_per_message_deflate=False,  # frames go out at 30+ per second per client: spare the CPU
        log_level="info",
    )


if __name__ == "__main__":
    main()
