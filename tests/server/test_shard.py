"""The trainer's shard in-process (no worker process): calls between slices, replies that wait for their
work, news that never queue up, unwatched pauses and checkpoints."""

from __future__ import annotations

import pytest

from backproplab.engine.config import RunConfig
from backproplab.engine.run import Run
from backproplab.server.live.protocol import Call, Publish, Reply, Wants
from backproplab.server.live.shard import Shard, ShardSettings, owner_of
from backproplab.server.races.item import RaceKind
from backproplab.server.runs.kind import RunKind
from backproplab.server.store import connect

SUBSCRIBER = "web-1"


class Outbox(list):
    def replies(self) -> list[Reply]:
        return [message for message in self if isinstance(message, Reply)]

    def publishes(self, target: str | None = None) -> list[Publish]:
        return [m for m in self if isinstance(m, Publish) and (target is None or m.target == target)]


@pytest.fixture
def shard(tmp_path):
    store = connect(str(tmp_path), primary=True)
    outbox = Outbox()
    shard = Shard(
        index=0,
        store=store,
        settings=ShardSettings(unwatched_pause=3600.0),
        kinds={"run": RunKind(), "race": RaceKind()},
        send=outbox.append,
    )
    shard.outbox = outbox
    yield shard
    store.close()


def new_run(shard: Shard, run_id: str, **config) -> str:
    shard.store.insert_run(run_id, None, None, None)
    shard.handle(
        Call(1, "create", run_id, {"kind": "run", "config": RunConfig(**config), "max_parameters": 10**6})
    )
    assert shard.outbox.replies()[-1].failure is None
    return run_id


def call(shard: Shard, op: str, target: str, call_id: int = 7, **args) -> None:
    shard.handle(Call(call_id, op, target, {"kind": "run", **args}))


def test_a_step_call_answers_after_its_steps_with_the_news_first(shard):
    run_id = new_run(shard, "a")
    shard.handle(Call(0, "watch", run_id, {"kind": "run", "subscriber": SUBSCRIBER, "wants": Wants()}))
    shard.outbox.clear()
    call(shard, "step", run_id, steps=300)
    assert not shard.outbox.replies(), "no answer before the steps are done"
    while not shard.outbox.replies():
        shard.work()
    reply = shard.outbox.replies()[-1]
    assert reply.value == 300 and reply.failure is None
    last_news = [m for m in shard.outbox if isinstance(m, Publish)][-1]
    assert shard.outbox.index(last_news) < shard.outbox.index(reply), "the news of the change come first"
    assert last_news.payload.step == 300
    reference = Run(RunConfig())
    reference.step(300)
    assert (shard.items[run_id].run.network.layers[0].W == reference.network.layers[0].W).all()


def test_calls_are_handled_between_slices_while_runs_play(shard):
    first, second = new_run(shard, "a"), new_run(shard, "b")
    call(shard, "play", first)
    call(shard, "play", second)
    for _ in range(5):
        shard.work()
    steps = {run_id: shard.items[run_id].run.step_count for run_id in (first, second)}
    assert all(steps.values()), "round-robin: both runs trained"
    shard.outbox.clear()
    call(shard, "pause", first, call_id=9)
    (reply,) = shard.outbox.replies()
    assert reply.id == 9 and reply.value["status"] == "paused"
    paused_at = shard.items[first].run.step_count
    for _ in range(3):
        shard.work()
    assert shard.items[first].run.step_count == paused_at
    assert shard.items[second].run.step_count > steps[second]


def test_news_wait_while_one_is_in_flight_and_lose_no_step(shard):
    run_id = new_run(shard, "a")
    in_flight = {"busy": False}
    shard.in_flight = lambda target, subscriber: in_flight["busy"]
    shard.handle(Call(0, "watch", run_id, {"kind": "run", "subscriber": SUBSCRIBER, "wants": Wants(fps=60)}))
    call(shard, "play", run_id)
    shard.outbox.clear()
    in_flight["busy"] = True
    for _ in range(20):
        shard.work()
    assert not shard.outbox.publishes(), "a subscriber with news on its way gets no more"
    in_flight["busy"] = False
    shard.items[run_id].subscriptions[SUBSCRIBER].due = 0.0
    # NOTE: on a loaded machine a turn can overdraw the owner's share; the owner then sits out a few rounds
    # (fair share) before it trains and publishes again.
    for _ in range(1_000):
        shard.work()
        if shard.outbox.publishes():
            break
    (news,) = shard.outbox.publishes()
    rows = news.payload.rows
    assert rows[0, 0] == news.payload.since_step + 1 and rows[-1, 0] == news.payload.step
    assert len(rows) == news.payload.step - news.payload.since_step, "every step since the previous news"


def test_an_unwatched_playing_run_pauses_unless_kept_training(shard):
    shard.settings.unwatched_pause = 0.0
    kept, left = new_run(shard, "a"), new_run(shard, "b")
    call(shard, "keep_training", kept, keep=True)
    call(shard, "play", kept)
    call(shard, "play", left)
    shard.work()
    shard.maintain(saving=False)
    assert shard.items[kept].playing and not shard.items[left].playing
    assert shard.items[left].describe()["status"] == "paused"


def test_a_changed_run_is_checkpointed_and_loads_back(shard):
    run_id = new_run(shard, "a", seed=3)
    call(shard, "step", run_id, steps=40)
    while shard.items[run_id].pending:
        shard.work()
    shard.maintain()
    item = shard.items.pop(run_id)
    loaded = RunKind().load(run_id, shard)
    assert loaded is not None and loaded.run.step_count == 40
    assert (loaded.run.network.layers[0].W == item.run.network.layers[0].W).all()


def test_a_checkpoint_never_brings_a_deleted_run_back(shard):
    run_id = new_run(shard, "a")
    item = shard.items[run_id]
    item.run.step(5)
    item.changed()
    assert shard.store.delete_run(run_id)
    shard.save(item)
    assert shard.store.run_record(run_id) is None and shard.store.load(run_id) is None


def test_unknown_items_and_operations_are_clear_errors(shard):
    call(shard, "describe", "nope")
    failure = shard.outbox.replies()[-1].failure
    assert failure.status == 404 and failure.errors[0][0] == "run_id"
    run_id = new_run(shard, "a")
    call(shard, "patch", run_id, patch={"optimizer": {"lr": -1}}, max_parameters=10**6)
    failure = shard.outbox.replies()[-1].failure
    assert failure.status == 422 and failure.errors[0][0] == "optimizer.lr"


def test_a_subscriber_that_is_gone_is_dropped_from_every_item(shard):
    """A Ray actor forgets a replica that stopped polling (live/ray_actor.py): one call unwatches it all."""
    runs = [new_run(shard, "a"), new_run(shard, "b")]
    for run_id in runs:
        for subscriber in (SUBSCRIBER, "web-2"):
            shard.handle(
                Call(0, "watch", run_id, {"kind": "run", "subscriber": subscriber, "wants": Wants()})
            )
    shard.handle(Call(0, "unwatch_all", "", {"subscriber": SUBSCRIBER}))
    assert [list(shard.items[run_id].subscriptions) for run_id in runs] == [["web-2"], ["web-2"]]


def test_a_run_doing_a_calls_steps_is_saved_when_they_are_done_not_halfway(shard):
    """A paused run is checkpointed at once when it changed, but not while a ``step`` call's steps are still
    being done (each REST step was checkpointed twice: halfway by upkeep, and when done)."""
    run_id = new_run(shard, "a")
    shard.maintain()
    saved: list[int] = []
    save = shard.store.save
    shard.store.save = lambda *args: saved.append(shard.items[run_id].run.step_count) or save(*args)
    replies = len(shard.outbox.replies())
    call(shard, "step", run_id, steps=3000)
    rounds = 0
    while len(shard.outbox.replies()) == replies:
        shard.maintain()
        shard.work()
        rounds += 1
    assert rounds > 1, "the steps took several rounds"
    assert saved == [], "no checkpoint halfway"
    shard.maintain()
    assert saved == [3000]


def test_news_of_a_run_with_nothing_left_to_train_go_out_even_if_its_owner_overdrew(shard):
    """An owner in debt (a long step) sits out rounds while it has runs to train, and its news wait too;
    once it has nothing left to train (its run diverged, its steps are done), the news of that last turn
    must still go out (the dashboard's divergence banner never came when the debt was never paid)."""
    run_id = new_run(shard, "a")
    shard.handle(Call(0, "watch", run_id, {"kind": "run", "subscriber": SUBSCRIBER, "wants": Wants()}))
    shard.outbox.clear()
    item = shard.items[run_id]
    shard.balances[owner_of(item)] = -1.0  # its last turn overdrew its share
    item.changed(described=True)  # and made news: it diverged, or a call's steps were done
    item.subscriptions[SUBSCRIBER].due = 0.0
    for _ in range(3):
        shard.work()
        shard.publish_due()
    assert shard.outbox.publishes(run_id), "the news went out"


def test_whoever_is_given_a_state_is_subscribed_in_the_same_call(shard):
    """A watcher's state and its subscription come from one call: a `watch` lost while a trainer
    restarted once left a replica with a state and no news after it."""
    run_id = new_run(shard, "s")
    view = {"params": False, "grid": False, "neurons": False, "resolution": 20}
    shard.outbox.clear()
    call(shard, "state", run_id, view=view, subscriber=SUBSCRIBER, wants=Wants())
    state = shard.outbox.replies()[-1]
    assert state.failure is None and state.value[3] == 0  # the state, at step 0
    assert [news.payload.step for news in shard.outbox.publishes(run_id)] == [0]  # news from there on
    call(shard, "step", run_id, steps=20)
    while len(shard.outbox.replies()) < 2:
        shard.work()
    assert shard.outbox.publishes(run_id)[-1].payload.step == 20
    assert all(news.subscriber == SUBSCRIBER for news in shard.outbox.publishes(run_id))
    shard.outbox.clear()
    call(shard, "state", run_id, view=view)  # a state without a subscriber (a REST read) subscribes nobody
    assert shard.outbox.replies()[-1].failure is None
