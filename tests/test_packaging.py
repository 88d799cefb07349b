"""Docker files, the wheel the image runs, and the lock files everything installs from.

No Docker engine runs on the development machines, so the image is checked in two halves: the files'
content (base image, stages, user, health check, port, volume, command, install from the lock), and the
command the image runs, executed outside a container in a clean venv holding only the locked runtime
dependencies and the same wheel the image's build stage makes.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
import venv
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
COMPOSE = (ROOT / "docker-compose.yml").read_text()
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LOCKS = ROOT / "requirements"
# Which pyproject requirements each lock file must satisfy (requirements/lock makes them in this order).
LOCKED_EXTRAS = {
    "app.txt": [],
    "test.txt": ["test", "ray", "postgres"],
    "bench.txt": ["test", "ray", "postgres", "bench"],
}


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


def test_dockerfile_installs_the_locked_runtime_then_the_wheel_alone():
    """The image gets exactly the pinned, hash-checked runtime dependencies, and the wheel adds none."""
    assert re.search(r"^COPY requirements/app\.txt ", DOCKERFILE, flags=re.MULTILINE)
    assert re.search(r"pip install [^\n]*--require-hashes -r \S*app\.txt", DOCKERFILE)
    assert re.search(r"pip install [^\n]*--no-deps [^\n]*\.whl", DOCKERFILE)


def locked_versions(name: str) -> dict[str, str]:
    """{canonical name: version} of a lock file, checking that every pin is exact and hashed."""
    text = (LOCKS / name).read_text()
    entries = re.findall(
        r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)((?:\s*\\\n\s+--hash=sha256:[0-9a-f]{64})+)", text, re.M
    )
    lines = [line for line in text.splitlines() if line and not line.startswith((" ", "#"))]
    assert len(entries) == len(lines), f"{name}: every requirement must be name==version with hashes"
    return {canonicalize_name(entry[0]): entry[1] for entry in entries}


@pytest.mark.parametrize("lock", sorted(LOCKED_EXTRAS))
def test_lock_satisfies_pyproject_ranges(lock):
    """Editing a range in pyproject.toml without rerunning requirements/lock fails here."""
    pins = locked_versions(lock)
    project = PYPROJECT["project"]
    wanted = [Requirement(text) for text in project["dependencies"]]
    for extra in LOCKED_EXTRAS[lock]:
        wanted += [Requirement(text) for text in project["optional-dependencies"][extra]]
    problems = [
        f"{requirement}: locked {pins.get(canonicalize_name(requirement.name), 'nothing')}"
        for requirement in wanted
        if pins.get(canonicalize_name(requirement.name)) not in requirement.specifier
        or (requirement.name == "psycopg" and "psycopg-binary" not in pins)
    ]
    assert not problems, f"{lock} is stale, run requirements/lock: {problems}"


def test_locks_agree_and_never_pin_torch():
    """A package has one version in every lock; torch is installed apart, never locked or required."""
    locks = {name: locked_versions(name) for name in LOCKED_EXTRAS}
    disagreements = [
        f"{package}: {name} {version}, {other} {locks[other][package]}"
        for name, pins in locks.items()
        for other in locks
        for package, version in pins.items()
        if package in locks[other] and locks[other][package] != version
    ]
    assert not disagreements, disagreements
    assert all("torch" not in pins for pins in locks.values())
    assert set(locks["app.txt"]) <= set(locks["test.txt"]) <= set(locks["bench.txt"])


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


def readme_command(lead: str) -> str:
    """The command in the code block that follows the README line starting with ``lead``."""
    match = re.search(
        rf"^{re.escape(lead)}[^\n]*\n+```\n([^\n]+)\n```", (ROOT / "README.md").read_text(), re.M
    )
    assert match, f"README has no command after {lead!r}"
    return match.group(1)


def test_ci_runs_the_readme_test_command_word_for_word():
    command = readme_command("Run the tests")
    assert "requirements/test.txt" in command, "the README's tests should install from the lock"
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert any(line.startswith(command) for line in ci_lines), f".ci/run does not run {command!r}"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built from the source tree as the image's build stage does (PEP 517, hatchling)."""
    wheel_dir = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheel_dir), str(ROOT)],
        check=True,
        timeout=300,
    )
    return next(wheel_dir.glob("backproplab-*.whl"))


def test_wheel_holds_the_package_the_frontend_and_the_licence_but_no_tests(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = next(archive.read(name).decode() for name in names if name.endswith(".dist-info/METADATA"))
    for expected in ("backproplab/cli.py", "backproplab/engine/network.py", "backproplab/server/app.py"):
        assert expected in names, expected
    assert "backproplab/frontend/index.html" in names
    assert any(name.startswith("backproplab/frontend/vendor/") for name in names)
    assert any(re.search(r"\.dist-info/licenses/LICENSE$", name) for name in names), (
        "LICENSE not in the wheel"
    )
    assert re.search(r"^License-Expression: MIT$", metadata, flags=re.MULTILINE)
    assert not [name for name in names if name.startswith(("tests/", "bench/", "backproplab/tests/"))]


def test_the_image_command_serves_app_and_frontend_from_a_wheel_install(tmp_path, wheel):
    """Install the locked runtime dependencies and the wheel (not editable) in a clean venv, as the image
    does, and run the image's CMD.

    The venv sees no system or outer-venv packages, so a dependency missing from the lock or the wheel's
    metadata fails here. pip installs through its configured indexes (local mirrors work offline).
    """
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(system_site_packages=False, with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--python", str(python)]
    subprocess.run(
        [*pip, "install", "-q", "--require-hashes", "-r", str(LOCKS / "app.txt")], check=True, timeout=600
    )
    subprocess.run([*pip, "install", "-q", "--no-deps", str(wheel)], check=True, timeout=300)
    broken = subprocess.run([*pip, "check"], capture_output=True, text=True)
    assert broken.returncode == 0, f"the locked runtime does not satisfy the wheel: {broken.stdout}"
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
        assert status == 200 and json.loads(body)["status"] == "ok"
        status, page = fetch(f"http://127.0.0.1:{port}/")
        assert status == 200 and "<html" in page.lower()
    finally:
        server.terminate()
        server.wait(timeout=10)
