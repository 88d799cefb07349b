"""Two web replicas, one Ray cluster (docker-compose.cluster.yml's commands), one PostgreSQL: for real.

The story runs in tests/cluster/cluster_scenario.py inside a loopback-only namespace (see its docstring);
this test starts it, reads what it observed, and says which expectation failed. About three minutes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cluster_harness import ROOT, in_namespace

SCENARIO = Path(__file__).with_name("cluster_scenario.py")

# The story takes two to four minutes before the first test: more than pytest-timeout's default.
pytestmark = [pytest.mark.cluster, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def story(ray_available, postgres_server, tmp_path_factory):
    work = tmp_path_factory.mktemp("cluster")
    out = work / "result.json"
    url = postgres_server.create_database("cluster_story")
    command = in_namespace([sys.executable, str(SCENARIO), "--database-url", url, "--out", str(out)])
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert out.exists(), f"the scenario wrote nothing: {completed.stderr[-3000:]}"
    result = json.loads(out.read_text())
    if "error" in result:
        tails = "\n".join(f"--- {name}:\n{text[-1500:]}" for name, text in result.get("logs", {}).items())
        pytest.fail(f"the scenario failed:\n{result['error']}\n{tails}", pytrace=False)
    return result


def test_a_run_created_on_one_replica_is_stepped_and_watched_on_both(story):
    assert story["stepped_on_b"] == 37
    assert story["saved_step_when_step_answered"] == 37, "a REST step answers once its steps are saved"
    assert story["states_at_37"] == [True, True], "each replica's watcher got the run's state"
    assert all(count > 0 for count in story["frames_while_playing"]), (
        "frames reach the watchers of both replicas"
    )
    assert story["frames_seen_at_pause"] == [True, True]
    assert story["params_equal_before_kill"] == [True, True]
    assert story["race_created_on_a_read_on_b"] == [201, 200], "races live in the actors too"


def test_a_killed_trainer_actor_comes_back_and_its_run_continues_bit_for_bit(story):
    assert story["new_actor_pid_differs"], "Ray restarted the actor in a new process"
    assert story["step_after_kill"] == story["paused_at"] + 50
    assert story["params_equal_after_restart"] == [True, True], "bit for bit against an uninterrupted run"
    assert "restarted" in story["message_after_restart"]
    assert all("try again" in reason for reason in story["unavailable_while_restarting"])
    assert story["watchers_saw_restored_run"] == [True, True]
    assert story["watchers_reached_step_after_restart"] == [True, True], (
        "watchers continue on their own\n" + report_after_kill(story)
    )


def report_after_kill(story) -> str:
    """What each watcher received since the kill, then each process's log tail: as text, so that pytest
    prints it whole (it shortens the repr of anything else)."""
    traces = [
        f"watcher on replica {'AB'[index]}:\n  " + "\n  ".join(trace)
        for index, trace in enumerate(story.get("watch_trace_after_kill") or [])
    ]
    logs = [f"--- {name}:\n{text}" for name, text in (story.get("logs_after_kill") or {}).items()]
    return "\n".join(traces + logs)


def test_a_trainer_actors_worker_process_that_dies_takes_the_actor_along_and_both_come_back(story):
    assert story["actor_has_one_worker"], "the actor trains in one worker process of its own"
    assert story["worker_killed"] == {"step_after": 40, "actor_restarted": True, "params_equal": True}


def test_a_killed_web_replica_loses_nothing(story):
    assert story["b_watcher_reconnected_to_a"], "its watcher reconnected to the other replica"
    assert story["b_watcher_cut_off"], "and got the run as it was"
    assert story["listed_on_a_after_b_died"]


def test_without_the_ray_head_replicas_serve_reads_and_say_training_is_unavailable(story):
    assert story["degraded_after_seconds"] is not None, "/api/health says degraded"
    assert all(problem["where"].startswith("trainer") for problem in story["health_problems"])
    assert all("cannot be reached" in problem["reason"] for problem in story["health_problems"])
    assert "trainer 0 is unavailable" in story["health_reason"]
    status, step, message = story["read_while_head_lost"]
    assert (status, step) == (200, story["paused_at"] + 50) and "Training is unavailable" in message
    assert story["params_while_head_lost"] == [200, True]
    assert story["list_while_head_lost"] == [200, True]
    assert story["watch_while_head_lost"], "a watcher gets the run's state from the database"
    status, reason = story["step_while_head_lost"]
    assert status == 503 and "training is unavailable" in reason


def test_training_resumes_when_the_cluster_is_back(story):
    assert story["recovered_after_seconds"] is not None, "/api/health is ok again"
    assert story["step_after_recovery"] == story["paused_at"] + 60
    assert story["params_equal_after_recovery"]


def test_classes_identities_and_their_locks_hold_on_every_replica(story):
    observed = story["class_across_replicas"]
    assert observed["joined_on_b"] == 201 and observed["gallery_on_b"], "the teacher sees the student on B"
    assert observed["student_changes_allowed_setting_on_a"] == [200, 0.5]
    assert observed["student_changes_locked_setting_on_a"] == 403, "the class's locks hold on A"
    assert observed["stranger_changes_on_a"] == 403
    assert observed["teacher_changes_locked_setting_on_a"] == 200


def test_custom_rows_are_stored_once_and_shared_across_replicas(story):
    observed = story["shared_rows"]
    assert observed["by_hash_on_b"] == 201, "B finds rows A stored by their content hash"
    assert observed["steps"] == [5, 7] and observed["same_points"]
    assert observed["stored_while_used_after_first_delete_after_last"] == [True, True, False]


def test_an_identity_budget_counts_its_runs_on_every_replica(story):
    observed = story["budget_across_replicas"]
    assert observed["made_on_a"] == [201, 201]
    status, reason = observed["refused_on_b"]
    assert status == 429 and "your runs already use" in reason
    assert observed["after_a_delete"] == 201


def test_a_database_that_refuses_writes_is_reported_by_the_trainers_and_resumes(story):
    observed = story["database_refuses_writes"]
    status, reason = observed["play"]
    assert status == 507 and "read-only" in reason, "a durable change that cannot be saved is undone"
    assert all(
        reason is not None and "checkpoints cannot be written" in reason
        for reason in observed["trainer_problem_on_a_and_b"]
    ), "each replica's /api/health shows what the trainer actor reported"
    assert observed["recovered_on_a_and_b"] == [True, True], "checkpoints resume by themselves"
    assert observed["pause"] == 200 and observed["saved_step_is_paused_step"]
