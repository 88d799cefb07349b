"""The gateway process: a web replica's one Ray driver, between its pipe and the trainer actors.

Started by :class:`~.ray_trainers.RayTrainers` as a child process (a Ray driver exits when its cluster
goes; the web process must not). It joins the cluster (``--ray-address``: "" starts a private Ray on this
machine, "auto" uses this machine's running node, "host:port" starts a zero-CPU node of its own joined to
that head, so a replica needs nothing but the head's address), finds or creates the named trainer actors
(detached, restarted by Ray), forwards each call to the actor of its shard, and keeps one long ``poll``
per actor whose publishes it passes on in one message, as the actor pickled them, with the actor's
:class:`~.protocol.Status` whenever it changed (or the actor came back). It writes a batch of
publishes before polling that actor again, so a slow web process makes the news wait in the actor ("latest
value wins"), never queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import ray
from ray.exceptions import ActorDiedError, RayError

from .protocol import SHUTDOWN, Call, Failure, Reply, Status, shard_of
from .ray_actor import TrainerActor
from .ray_trainers import GatewayConfig, GatewayEvent, Publishes, ToShard
from .worker import die_with_parent

log = logging.getLogger("backproplab.gateway")
ACTOR_PREFIX = "backproplab-trainer-"
POLL_SECONDS = 5.0  # a long poll's wait; a replica that stops polling is forgotten after SUBSCRIBER_TTL
# A poll unanswered this long past its wait counts as the actor unreachable (a call lost in a restart would
# otherwise stop this replica's news from that actor for good): down, then up, and the web process
# subscribes again with fresh states.
POLL_GRACE = 10.0
NODE_START_SECONDS = 60.0
FORGET_SECONDS = 2.0
# NOTE: one BLAS thread per trainer actor: each already keeps a core busy (as for the local workers).
ONE_BLAS_THREAD = {name: "1" for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
LOOPBACK = ("127.0.0.1", "localhost", "::1")
RESTARTING = "training is unavailable: the trainer holding this run is restarting; try again in a moment"


def main(config: GatewayConfig, connection: Connection) -> None:
    """The gateway's entry point: join the cluster, relay until told to stop or the cluster is lost."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the web process decides when the gateway stops
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s ray-gateway: %(message)s")
    node: LocalNode | None = None
    try:
        options: dict[str, Any] = {"namespace": config.namespace, "log_to_driver": False}
        options["logging_level"] = logging.WARNING
        if config.address == "":
            os.environ.setdefault("RAY_worker_niceness", "0")  # trainers at normal priority (ray_actor.py)
            options.update(address="local", _node_ip_address="127.0.0.1", include_dashboard=False)
        elif config.address == "auto":
            options.update(address="auto")
        else:
            node = LocalNode(config.address, Path(config.node_dir)).start()
            options.update(address=config.address, _node_ip_address=node.ip, _temp_dir=str(node.temp_dir))
        ray.init(**options)
        asyncio.run(Gateway(config, connection, node).run())
    except Exception as error:  # the cluster cannot be reached: say why, and exit non-zero to be retried
        log.warning("cannot reach the Ray cluster at %r: %s", config.address or "local", error)
        with contextlib.suppress(OSError):
            connection.send([GatewayEvent("failed", detail=str(error).splitlines()[0][:300])])
        failed = True
    else:
        failed = False  # told to stop (exit 0: the web process does not start it again)
    finally:
        if ray.is_initialized():
            ray.shutdown()
        if node is not None:
            node.stop()
    if failed:
        sys.exit(1)


class LocalNode:
    """A zero-CPU Ray node on this machine for this gateway to drive from (``ray start --block``)."""

    def __init__(self, address: str, temp_dir: Path):
        self.address = address
        host = address.rsplit(":", 1)[0].strip("[]")
        self.ip = "127.0.0.1" if host in LOOPBACK else None  # else Ray finds this machine's address
        # Our own, so that our driver attaches to this node and not to another node on the same machine.
        self.temp_dir = temp_dir
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> LocalNode:
        shutil.rmtree(self.temp_dir, ignore_errors=True)  # a previous gateway's node, if it was killed
        self.temp_dir.mkdir(parents=True)
        ray_command = Path(sys.executable).with_name("ray")
        command = [str(ray_command if ray_command.exists() else shutil.which("ray") or "ray"), "start"]
        command += ["--address", self.address, "--num-cpus", "0", "--block", "--disable-usage-stats"]
        command += ["--temp-dir", str(self.temp_dir), "--object-store-memory", str(200 * 1024 * 1024)]
        if self.ip:
            command += ["--node-ip-address", self.ip]
        log_path = self.temp_dir / "node.log"
        with open(log_path, "wb") as output:
            self.process = subprocess.Popen(
                command,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=lambda: die_with_parent(signal.SIGTERM),
            )
        deadline = time.monotonic() + NODE_START_SECONDS
        while time.monotonic() < deadline:
            text = log_path.read_text(errors="replace")
            if "Ray runtime started" in text:
                return self
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"ray start failed: {text.strip().splitlines()[-1:] or self.process.returncode}"
                )
            time.sleep(0.1)
        raise RuntimeError(f"ray start did not join {self.address} within {NODE_START_SECONDS:.0f} s")

    def stop(self) -> None:
        """``ray start --block`` stops its node's processes on SIGTERM."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=4)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process = None


class Gateway:
    """The relay (see the module docstring)."""

    def __init__(self, config: GatewayConfig, connection: Connection, node: LocalNode | None):
        self.config = config
        self.connection = connection
        self.node = node
        self.actors: list[Any] = []
        self.outgoing: queue.SimpleQueue[tuple[Any, asyncio.Future[None] | None] | None] = queue.SimpleQueue()
        self.stopped = asyncio.Event()
        self.shutdown: Call | None = None
        self.tasks: set[asyncio.Task[Any]] = set()
        self.loop: asyncio.AbstractEventLoop | None = None

    async def run(self) -> None:
        self.loop = asyncio.get_running_loop()
        # SIGTERM: the server is stopping (a signal to its process group): leave cleanly.
        self.loop.add_signal_handler(signal.SIGTERM, self.stopped.set)
        writer = threading.Thread(target=self._write, name="writer", daemon=True)
        writer.start()
        threading.Thread(target=self._read, name="reader", daemon=True).start()
        connecting = asyncio.create_task(self._connect())
        await self.stopped.wait()
        connecting.cancel()
        for task in list(self.tasks):
            task.cancel()
        if self.actors:
            forgetting = [actor.forget.remote(self.config.subscriber) for actor in self.actors]
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.gather(*forgetting, return_exceptions=True), FORGET_SECONDS)
        if self.shutdown is not None:  # leave nothing running before answering: then we may be killed
            ray.shutdown()
            if self.node is not None:
                self.node.stop()
            self.send(Reply(self.shutdown.id, None))
        self.outgoing.put(None)
        writer.join(timeout=FORGET_SECONDS)  # what is queued goes out before the process ends

    # ------------------------------------------------------------------ the pipe

    def _read(self) -> None:
        assert self.loop is not None
        try:
            while True:
                message = self.connection.recv()
                self.loop.call_soon_threadsafe(self._dispatch, message)
        except (OSError, EOFError):
            self.loop.call_soon_threadsafe(self.stopped.set)  # the web process is gone

    def _write(self) -> None:
        while (entry := self.outgoing.get()) is not None:
            message, done = entry
            try:
                self.connection.send([message])  # the pipe carries lists of messages (live/trainers.py)
            except (OSError, EOFError):
                return
            if done is not None and self.loop is not None:
                self.loop.call_soon_threadsafe(_finish, done)

    def send(self, message: Any) -> None:
        self.outgoing.put((message, None))

    def write(self, message: Any) -> asyncio.Future[None]:
        """Send ``message``; the future is done when it is in the pipe."""
        assert self.loop is not None
        done: asyncio.Future[None] = self.loop.create_future()
        self.outgoing.put((message, done))
        return done

    def _spawn(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    # ------------------------------------------------------------------ the actors

    def _actor(self, index: int, shards: int) -> Any:
        return TrainerActor.options(  # type: ignore[attr-defined]
            name=f"{ACTOR_PREFIX}{index}",
            namespace=self.config.namespace,
            lifetime="detached",  # a trainer outlives the replica that created it
            get_if_exists=True,
            max_restarts=-1,
            max_task_retries=0,  # a call is never done twice (a step is not idempotent)
            num_cpus=1,
            scheduling_strategy="SPREAD",
            runtime_env={"env_vars": ONE_BLAS_THREAD},
        ).remote(index, shards, self.config.location, self.config.settings)

    async def _connect(self) -> None:
        trainers = self.config.trainers
        cpus = ray.cluster_resources().get("CPU", 1)  # type: ignore[no-untyped-call]  # untyped in Ray
        asked = int(trainers) if trainers.isdigit() else max(1, int(cpus))
        first = self._actor(0, asked)
        shards = int((await first.hello.remote())["shards"])  # the first replica's count holds for all
        self.actors = [first, *(self._actor(index, shards) for index in range(1, shards))]
        self.send(GatewayEvent("ready", detail=shards))
        for shard in range(shards):
            self._spawn(self._poll(shard))

    async def _poll(self, shard: int) -> None:
        """Collect shard ``shard``'s publishes for this replica; report the actor going and coming back.

        The next poll starts while the previous batch is being written (its news can be collected the
        moment they exist), but a batch is written only when the one before it is out: at most two wait
        here, whatever the web process's speed.
        """
        incarnation: str | None = None
        reported: Status | None = None  # the status last passed on
        up, delay = False, 0.1
        subscriber = self.config.subscriber
        writing: asyncio.Future[None] | None = None
        while True:
            actor = self.actors[shard]
            try:
                polled = await asyncio.wait_for(
                    actor.poll.remote(subscriber, POLL_SECONDS), POLL_SECONDS + POLL_GRACE
                )
                if not up or polled.incarnation != incarnation:
                    hello = await actor.hello.remote()
            except (RayError, TimeoutError) as error:
                if isinstance(error, TimeoutError):
                    log.warning(
                        "trainer actor %d did not answer a poll in %.0f s", shard, POLL_SECONDS + POLL_GRACE
                    )
                if up:
                    self.send(GatewayEvent("down", shard, _reason(error)))
                    up = False
                if isinstance(error, ActorDiedError):  # gone for good (not restarting): make it again
                    self.actors[shard] = self._actor(shard, len(self.actors))
                await asyncio.sleep(delay)
                delay = min(2 * delay, 2.0)
                continue
            delay = 0.1
            if writing is not None:
                await writing
                writing = None
            if not up or polled.incarnation != incarnation:  # the web process subscribes again on "up"
                self.send(GatewayEvent("up", shard, _identity(hello)))
                up, reported = True, None
            elif polled.fresh:  # the actor forgot this replica (it stopped polling for a while)
                self.send(GatewayEvent("restarted", shard))
            incarnation = polled.incarnation
            if polled.status is not None and polled.status != reported:
                self.send(polled.status)
                reported = polled.status
            if polled.publishes is not None:
                writing = self.write(Publishes(polled.publishes))

    def _dispatch(self, message: Call | ToShard) -> None:
        if isinstance(message, ToShard):
            self._spawn(self._forward(message.shard, message.call))
        elif message.op == SHUTDOWN:
            self.shutdown = message
            self.stopped.set()
        else:
            self._spawn(self._forward(shard_of(message.target, max(1, len(self.actors))), message))

    async def _forward(self, shard: int, call: Call) -> None:
        try:
            if not self.actors:
                raise RuntimeError("the trainer actors are not known yet")
            reply = await self.actors[shard].call.remote(call)
        except (RayError, RuntimeError) as error:
            log.warning(
                "%s on %s failed in trainer actor %d: %s", call.op, call.target, shard, _reason(error)
            )
            reply = Reply(call.id, failure=Failure(503, ((None, RESTARTING),)))
        if call.id:
            self.send(reply)


def _finish(done: asyncio.Future[None]) -> None:
    if not done.done():
        done.set_result(None)


def _identity(hello: dict[str, Any]) -> dict[str, Any]:
    return {key: hello[key] for key in ("pid", "node", "incarnation")}


def _reason(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:200]}" if text else type(error).__name__
