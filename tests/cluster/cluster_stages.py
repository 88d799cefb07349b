"""The scenario's stages about what runs share through the database: classes, custom rows stored once,
memory budgets, and a database that stops taking writes. Each uses identities of its own, so it leaves the
main story's run alone; each writes what it observed into ``result``."""

from __future__ import annotations

import contextlib
import time
from typing import Any

import psycopg
from cluster_clients import new_identity, retry_until_ok, wait_for_problem, wait_health
from cluster_harness import Replica
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from backproplab.server.store.postgres import PostgresStore

SMALL = {"seed": 3, "dataset": {"kind": "moons"}, "model": {"hidden": [4]}}
# Custom rows of two columns with 0/1 labels, trained on in the order given.
ROWS = {
    "kind": "custom",
    "X": [[float(row % 7), float((row * 3) % 5)] for row in range(40)],
    "y": [row % 2 for row in range(40)],
    "train_fraction": 1.0,
}


def classes(a: Replica, b: Replica, result: dict[str, Any]) -> None:
    """A teacher's class made on A is joined on B; its locks hold on A; the teacher sees it on B."""
    teacher, student, stranger = new_identity(a.url), new_identity(b.url), new_identity(a.url)
    group = teacher.post(
        f"{a.url}/api/classes", json={"name": "Period 3", "config": SMALL, "allowed": ["optimizer.lr"]}
    ).json()
    joined = student.post(f"{b.url}/api/classes/{group['code']}/join", json={"name": "Ada"})
    run = f"{a.url}/api/runs/{joined.json()['id']}"
    allowed = student.patch(run, json={"optimizer": {"lr": 0.5}})
    gallery = teacher.get(f"{b.url}/api/classes/{group['id']}").json()
    result["class_across_replicas"] = {
        "joined_on_b": joined.status_code,
        "student_changes_allowed_setting_on_a": [
            allowed.status_code,
            allowed.json()["config"]["optimizer"]["lr"],
        ],
        "student_changes_locked_setting_on_a": student.patch(run, json={"batch_size": 5}).status_code,
        "stranger_changes_on_a": stranger.patch(run, json={"optimizer": {"lr": 0.2}}).status_code,
        "teacher_changes_locked_setting_on_a": teacher.patch(run, json={"batch_size": 5}).status_code,
        "gallery_on_b": [student["id"] for student in gallery["students"]] == [joined.json()["id"]],
    }


def shared_rows(a: Replica, b: Replica, database_url: str, result: dict[str, Any]) -> None:
    """Custom rows sent to A are stored once; a run on B names them by their hash; both train in the
    actors; the rows go with the last run that uses them, whichever replica deletes it."""
    http = new_identity(a.url)
    store = PostgresStore(database_url)
    try:
        first = http.post(f"{a.url}/api/runs", json={"seed": 1, "dataset": ROWS}).json()
        digest = first["config"]["dataset"]["content_hash"]
        by_hash = {"seed": 2, "dataset": {"kind": "custom", "content_hash": digest, "train_fraction": 1.0}}
        second = http.post(f"{b.url}/api/runs", json=by_hash)
        steps = [
            http.post(f"{b.url}/api/runs/{first['id']}/step", json={"steps": 5}).json().get("step"),
            http.post(f"{a.url}/api/runs/{second.json()['id']}/step", json={"steps": 7}).json().get("step"),
        ]
        same_points = (
            http.get(f"{b.url}/api/runs/{first['id']}/points").json()["train"]
            == http.get(f"{a.url}/api/runs/{second.json()['id']}/points").json()["train"]
        )
        stored = [store.dataset(digest) is not None]
        http.delete(f"{b.url}/api/runs/{first['id']}")
        stored.append(store.dataset(digest) is not None)
        http.delete(f"{a.url}/api/runs/{second.json()['id']}")
        stored.append(store.dataset(digest) is not None)
    finally:
        store.close()
    result["shared_rows"] = {
        "by_hash_on_b": second.status_code,
        "steps": steps,
        "same_points": same_points,
        "stored_while_used_after_first_delete_after_last": stored,
    }


def budgets(a: Replica, b: Replica, result: dict[str, Any]) -> None:
    """An identity's memory budget (two runs' worth here) counts its runs on every replica."""
    http = new_identity(a.url)
    made = [http.post(f"{a.url}/api/runs", json=SMALL) for _ in range(2)]
    refused = http.post(f"{b.url}/api/runs", json=SMALL)
    http.delete(f"{b.url}/api/runs/{made[0].json()['id']}")
    again = http.post(f"{b.url}/api/runs", json=SMALL)
    result["budget_across_replicas"] = {
        "made_on_a": [response.status_code for response in made],
        "refused_on_b": [refused.status_code, refused.json().get("reason")],
        "after_a_delete": again.status_code,
    }


def set_read_only(database_url: str, on: bool) -> None:
    """Make the database refuse writes (or take them again) for every session, as a standby or a full
    quota would: the default for new sessions, then every session of it ended, so each connects again."""
    name = conninfo_to_dict(database_url)["dbname"]
    with psycopg.connect(make_conninfo(database_url, dbname="postgres"), autocommit=True) as admin:
        setting = "SET default_transaction_read_only = on" if on else "RESET default_transaction_read_only"
        admin.execute(f'ALTER DATABASE "{name}" {setting}')
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))


def database_refuses_writes(a: Replica, b: Replica, database_url: str, result: dict[str, Any]) -> None:
    """PostgreSQL stops taking writes under a playing run: its trainer actor's checkpoints fail and both
    replicas' /api/health say so (the actor's Status travels through each gateway); when it takes writes
    again, checkpoints resume by themselves and health is ok again."""
    http = new_identity(a.url)
    run_id = http.post(f"{a.url}/api/runs", json=SMALL).json()["id"]
    changed_at = time.monotonic()
    set_read_only(database_url, True)
    try:
        # NOTE: the first calls after the database ended every session may fail on a lost connection
        # (503, on the replica or in the actor); each process connects again on its next call.
        play, unavailable = retry_until_ok(http, "POST", f"{b.url}/api/runs/{run_id}/play")
        seen = [wait_for_problem(replica.url, "trainer", "read_only", timeout=60) for replica in (a, b)]
    finally:
        set_read_only(database_url, False)
    # NOTE: a trainer retries a failed checkpoint with a doubling wait (up to 30 s): recovery takes a while.
    recovered = [wait_health(replica.url, "ok", timeout=90) is not None for replica in (a, b)]
    paused = http.post(f"{a.url}/api/runs/{run_id}/pause")
    store = PostgresStore(database_url)
    with contextlib.closing(store):
        saved = store.run_record(run_id)
    result["database_refuses_writes"] = {
        "play": [play.status_code, play.json().get("reason")],
        "unavailable_before_play_answered": len(unavailable),
        "trainer_problem_on_a_and_b": [problem["reason"] if problem else None for problem in seen],
        "recovered_on_a_and_b": recovered,
        "seconds": round(time.monotonic() - changed_at, 1),
        "pause": paused.status_code,
        "saved_step_is_paused_step": saved is not None
        and saved.summary is not None
        and saved.summary["step"] == paused.json().get("step"),
    }
