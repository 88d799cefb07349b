"""Settings for scale, and what a replica does without its trainers (no Ray or PostgreSQL needed here)."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from backproplab.cli import settings_from
from backproplab.engine.config import RunConfig
from backproplab.engine.run import Run
from backproplab.server.errors import ApiError
from backproplab.server.live.ray_trainers import RayTrainers
from backproplab.server.live.shard import ShardSettings
from backproplab.server.runs.item import RunItem
from backproplab.server.settings import Settings
from backproplab.server.store import connect


def test_flags_and_environment_for_scale(monkeypatch):
    monkeypatch.setenv("BACKPROPLAB_RAY_ADDRESS", "head:6379")
    monkeypatch.setenv("BACKPROPLAB_DATABASE_URL", "postgresql://u:p@db/x")
    settings = settings_from(["--trainers", "ray", "--ray-trainers", "4"])
    assert (settings.trainers, settings.ray_address, settings.ray_trainers) == ("ray", "head:6379", "4")
    assert settings.store_location == "postgresql://u:p@db/x" and settings.trainer_count == 0
    assert settings_from(["--ray-address", "auto", "--database-url", "postgres://h/d"]).ray_address == "auto"
    assert Settings(data_dir="/tmp/x").store_location == "/tmp/x"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("trainers", "rays", "'auto', 'ray' or a number"),
        ("ray_trainers", "0", "'auto' or a number of actors"),
        ("database_url", "mysql://h/d", "must be a postgresql:// URL"),
    ],
)
def test_bad_settings_say_what_is_expected(field, value, message):
    with pytest.raises(ValueError, match=message):
        Settings(**{field: value})


def test_without_the_extras_nothing_of_ray_or_psycopg_is_imported(tmp_path):
    script = (
        "import sys\n"
        "from fastapi.testclient import TestClient\n"
        "from backproplab.server.app import create_app\n"
        "from backproplab.server.settings import Settings\n"
        f"app = create_app(Settings(data_dir={str(tmp_path)!r}, trainers='1'))\n"
        "with TestClient(app, base_url='http://127.0.0.1:8000') as client:\n"
        "    assert client.post('/api/runs', json={}).status_code == 201\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] in ('ray', 'psycopg')))\n"
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.strip() == "[]"


def test_a_replica_without_its_cluster_reads_from_the_store_and_refuses_changes(tmp_path):
    """RayTrainers before (or without) its gateway: reads come from the store, changes get 503."""
    store = connect(str(tmp_path), primary=True)
    run = Run(RunConfig(seed=2))
    run.step(30)
    store.insert_run("saved", None, None, None)
    RunItem("saved", run, ShardSettings()).save(store)
    settings = Settings(data_dir=tmp_path, trainers="ray", ray_trainers="2")

    async def scenario() -> None:
        async def blocking(function, *args):
            return await asyncio.to_thread(function, *args)

        trainers = RayTrainers(
            settings, str(tmp_path), ShardSettings(), lambda p: None, lambda s: None, blocking
        )
        described = await trainers.call("saved", "describe", kind="run")
        assert described["step"] == 30 and described["status"] == "paused"
        assert described["message"].startswith("Training is unavailable")
        assert await trainers.call("saved", "params", kind="run") == trainers.offline.read(
            "saved", "params", {"kind": "run"}
        )
        for op, args in (("step", {"steps": 1}), ("play", {}), ("patch", {"patch": {}})):
            with pytest.raises(ApiError) as refused:
                await trainers.call("saved", op, kind="run", **args)
            assert refused.value.status == 503 and "training is unavailable" in refused.value.reason
        with pytest.raises(ApiError) as missing:
            await trainers.call("nothing", "describe", kind="run")
        assert missing.value.status == 404
        with pytest.raises(ApiError) as races:
            await trainers.broadcast("count", kind="race")
        assert races.value.status == 503
        assert [entry["alive"] for entry in trainers.status()] == [False, False]
        trainers.offline.close()

    asyncio.run(scenario())
    store.close()
