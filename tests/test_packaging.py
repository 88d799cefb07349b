"""Docker files and the wheel the image runs.

No Docker engine runs on the development machines, so the image is checked in two halves: the files'
content (base image, stages, user, health check, port, volume, command), and the command the image runs,
executed outside a container against a non-editable install of the same wheel the image's build stage makes.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
import urllib.request
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
COMPOSE = (ROOT / "docker-compose.yml").read_text()


def test_dockerfile_is_multi_stage_on_a_slim_python_base():
    bases = re.findall(r"^FROM\s+(\S+)", DOCKERFILE, flags=re.MULTILINE)
    assert len(bases) >= 2, "expected a build stage and a runtime stage"
    assert all(re.fullmatch(r"python:3\.1[1-9]-slim", base) for base in bases), bases


def test_dockerfile_runs_as_a_non_root_user_with_data_in_a_volume():
    users = re.findall(r"^USER\s+(\S+)", DOCKERFILE, flags=re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r'^VOLUME\s+\["/data"\]', DOCKERFILE, flags=re.MULTILINE)
    assert "BACKPROPLAB_DATA_DIR=/data" in DOCKERFILE
    assert re.search(r"^EXPOSE\s+8000", DOCKERFILE, flags=re.MULTILINE)


def test_dockerfile_healthcheck_calls_the_health_route():
    healthcheck = re.search(r"^HEALTHCHECK.*?CMD\s+(\[.*\])", DOCKERFILE, flags=re.MULTILINE | re.DOTALL)
    assert healthcheck and "/api/health" in healthcheck.group(1)


def exec_form_cmd() -> list[str]:
    match = re.search(r"^CMD\s+(\[.*\])\s*$", DOCKERFILE, flags=re.MULTILINE)
    assert match, "CMD must be in exec form"
    return json.loads(match.group(1))


def test_dockerfile_cmd_serves_on_all_interfaces_port_8000():
    command = exec_form_cmd()
    assert command[0] == "backproplab"
    assert command[command.index("--host") + 1] == "0.0.0.0"
    assert command[command.index("--port") + 1] == "8000"
    assert command[command.index("--data-dir") + 1] == "/data"


def test_dockerfile_installs_a_wheel_not_an_editable_tree():
    assert re.search(r"python -m build --wheel", DOCKERFILE)
    assert re.search(r"pip install [^\n]*\.whl", DOCKERFILE)
    assert "-e " not in DOCKERFILE


def test_compose_has_port_volume_healthcheck_and_restart_policy():
    assert '"8000:8000"' in COMPOSE
    assert "backproplab-data:/data" in COMPOSE
    assert "healthcheck:" in COMPOSE and "/api/health" in COMPOSE
    assert re.search(r"restart:\s*(always|unless-stopped|on-failure)", COMPOSE)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read().decode()


def test_the_image_command_serves_app_and_frontend_from_a_wheel_install(tmp_path):
    """Build the wheel as the image does, install it (not editable) in a fresh venv, run the image's CMD."""
    wheel_dir = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheel_dir), str(ROOT)],
        check=True,
        timeout=300,
    )
    wheel = next(wheel_dir.glob("backproplab-*.whl"))
    env_dir = tmp_path / "venv"
    # System site-packages provide the runtime dependencies already installed here (no network needed);
    # the venv's own site-packages come first, so the wheel's backproplab shadows any editable install.
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)],
        check=True,
        timeout=300,
    )
    location = subprocess.run(
        [str(python), "-c", "import backproplab; print(backproplab.__file__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert str(env_dir) in location, f"backproplab imported from {location}, not the wheel"

    command = exec_form_cmd()
    port = free_port()
    command[command.index("--host") + 1] = "127.0.0.1"
    command[command.index("--port") + 1] = str(port)
    command[command.index("--data-dir") + 1] = str(tmp_path / "data")
    command[0] = str(env_dir / "bin" / command[0])
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, body = fetch(f"http://127.0.0.1:{port}/api/health")
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    output = server.stdout.read().decode() if server.poll() is not None else ""
                    pytest.fail(f"server did not answer: {output}")
                time.sleep(0.2)
        assert status == 200 and json.loads(body) == {"status": "ok"}
        status, page = fetch(f"http://127.0.0.1:{port}/")
        assert status == 200 and "<html" in page.lower()
    finally:
        server.terminate()
        server.wait(timeout=10)
