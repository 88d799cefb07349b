"""A trainer's outbox (live/worker.py): messages leave in order as one list per flush, a publish counts as
in flight until it is written (behind a Ray actor: until the actor says a poll took it), and a message that
cannot be pickled never takes the others down."""

from __future__ import annotations

import queue
import threading
import time
from multiprocessing import Pipe

from backproplab.server.live.protocol import Call, Publish, Reply, Status, Taken
from backproplab.server.live.worker import Outbox, _read
from backproplab.server.store import StoreHealth


def test_a_flush_is_one_list_in_order_and_publishes_are_in_flight_until_written():
    web, trainer = Pipe()
    outbox = Outbox(trainer)
    news = Publish("run-a", "run", "web-1", 1, 7, payload={"step": 7})
    outbox.put(news)
    outbox.put(Reply(3, 42))
    outbox.put(Status(0, StoreHealth()))
    assert outbox.in_flight("run-a", "web-1") and not web.poll(0.05)  # nothing leaves before a flush
    outbox.flush()
    sender = threading.Thread(target=outbox.run)
    sender.start()
    received = web.recv()
    assert [type(message) for message in received] == [Publish, Reply, Status]
    assert received[0].payload == {"step": 7} and received[1].value == 42
    outbox.close()
    sender.join(timeout=5)
    assert not sender.is_alive() and not outbox.in_flight("run-a", "web-1")


def test_a_reply_that_cannot_be_pickled_becomes_a_failure_and_the_rest_still_go():
    web, trainer = Pipe()
    outbox = Outbox(trainer)
    outbox.put(Reply(1, lambda: None))  # a lambda does not pickle
    outbox.put(Publish("run-a", "run", "web-1", 1, 8, payload=[1, 2]))
    outbox.put(Publish("run-b", "run", "web-1", 1, 2, payload=threading.Lock()))  # nor does a lock
    outbox.close()
    outbox.run()
    failed, news, dropped = web.recv()
    assert failed.id == 1 and failed.failure is not None and failed.failure.status == 500
    assert news.payload == [1, 2] and dropped is None
    assert not outbox.in_flight("run-a", "web-1") and not outbox.in_flight("run-b", "web-1")


def test_behind_a_relay_a_publish_is_in_flight_until_the_relay_says_it_was_taken():
    relay, trainer = Pipe()
    outbox = Outbox(trainer, relayed=True)
    inbox: queue.SimpleQueue = queue.SimpleQueue()
    threading.Thread(target=outbox.run, daemon=True).start()
    threading.Thread(target=_read, args=(trainer, inbox, outbox), daemon=True).start()
    outbox.put(Publish("run-a", "run", "web-1", 1, 7, payload={"step": 7}))
    outbox.put(Publish("run-b", "run", "web-1", 1, 3, payload={"step": 3}))
    outbox.flush()
    assert [news.target for news in relay.recv()] == ["run-a", "run-b"]
    time.sleep(0.05)
    assert outbox.in_flight("run-a", "web-1"), "written to the relay is not yet taken by the replica"
    relay.send(Taken((("run-a", "web-1"),)))
    relay.send(Call(0, "pause", "run-b"))  # calls still reach the shard; a Taken never does
    assert inbox.get(timeout=5).op == "pause"
    assert not outbox.in_flight("run-a", "web-1") and outbox.in_flight("run-b", "web-1")
    relay.close()
    assert inbox.get(timeout=5) is None, "the relay gone: the trainer's loop ends"
