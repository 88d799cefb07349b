"""A training run: config, data, network, optimizer, schedule and metrics, stepped one mini-batch at a time.

One step is: draw a mini-batch, forward, loss (mean over the batch), backward, add the regularisation
gradient, one optimizer update at the learning rate in force, move the schedule, record metrics.
Everything random comes from three generators spawned from the config's seed (data, initial weights, batch
order), so a seed and a config reproduce a run exactly; :meth:`Run.to_bytes` / :meth:`Run.from_bytes`
(whole) and :meth:`Run.checkpoint` / :meth:`Run.restore` (incremental) continue it bit for bit.

Live changes follow docs/architecture.md and torch: a typed learning rate is in force at once and a
schedule continues from it; other hyperparameters keep weights and optimizer state; a new optimizer name
keeps the weights and starts fresh state; batch size, regularisation and schedule keep both (a new
schedule starts from the lr in force); seed, dataset, features, model or loss rebuild the network from
step 0. A step that would make the loss or the weights non-finite is undone and the run stops, diverged,
at the last good step; ``run.learning`` says when a run that still trains has stopped learning.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import serialize
from .batches import BatchSampler
from .checkpoint import Checkpoint, CheckpointMark, take_checkpoint
from .checkpoint import restore as restore_checkpoint
from .config import REBUILD_FIELDS, RunConfig
from .custom_data import CustomData, resolve_custom_data
from .datasets import Dataset
from .errors import ConfigError
from .health import HealthLog
from .history import SCALAR_COLUMNS, MetricHistory
from .learning import LayerWatch, LearningIssue, LearningMonitor, chance_loss, input_size
from .losses import Loss
from .network import DenseLayer, Network
from .numbers import finite_float, nan_if_none
from .optimizers import Optimizer, build_optimizer
from .optimizers import optimizer_defaults as optimizer_defaults_of
from .regularization import add_regularization_gradient
from .run_metrics import auto_eval_every, evaluate_split, layer_statistics
from .run_setup import RunParts, class_labels
from .run_state import load_run_state, run_state, saved_config
from .schedules import LRScheduler, make_scheduler
from .trajectory import Trajectory

STATS_EVERY = 10  # steps between per-layer statistics (gradient norm, weight norm, update ratio)
MAX_GRID_RESOLUTION = 200
_STEP, _EPOCH, _LR, _TRAIN_LOSS, _TEST_LOSS, _TRAIN_ACC, _TEST_ACC = range(len(SCALAR_COLUMNS))


class Run:
    """One training run. Not thread-safe: callers serialise access (the server holds a lock per run)."""

    def __init__(self, config: RunConfig | None = None, data: CustomData | None = None):
        """A run at step 0. Custom data comes inline in ``config`` or as ``data`` (shared, content-addressed:
        see engine/custom_data.py); either way ``run.config`` keeps only its content hash."""
        self._build(RunParts(config if config is not None else RunConfig(), data))

    # ------------------------------------------------------------------ building

    def _build(self, parts: RunParts) -> None:
        """Install what ``parts`` built from its config and seed: step 0, empty metrics."""
        self.config = parts.config
        # Each build starts new logs; checkpoint marks from an older build ask for them whole.
        self._generation: int = getattr(self, "_generation", -1) + 1
        self.custom_data: CustomData | None = parts.custom_data
        self.dataset: Dataset = parts.dataset
        self.loss: Loss = parts.loss
        self.loss_name = parts.loss_name
        self.output_activation = parts.output_activation
        self.network: Network = parts.network
        self.optimizer: Optimizer = parts.optimizer
        self.scheduler: LRScheduler = parts.scheduler
        self.batch_rng = parts.batch_rng
        self.sampler = BatchSampler(len(self.dataset.X_train), self.dataset.shuffle, self.batch_rng)
        self.X_train, self.X_test = parts.X_train, parts.X_test
        self.target_train, self.target_test = parts.target_train, parts.target_test
        self._grads_are_logits = self.loss.fused_activation is not None
        self._labels = {"train": class_labels(self.target_train), "test": class_labels(self.target_test)}
        self._grads = self.network.grads()
        self._backup = self.network.flat_params.copy()  # the weights before the current update
        self.step_count = 0
        self.diverged = False
        self.message: str | None = None
        self.metric_history = MetricHistory(len(self.network.layers))
        self._row = np.full(self.metric_history.width, np.nan)  # the step's metric row, reused
        self.trajectory = Trajectory(self.network, STATS_EVERY)
        self.health = HealthLog()
        self._learning = LearningMonitor(chance_loss(self.loss, self.target_train), input_size(self.X_train))
        self._changed_at = 0  # step count at the last change of config: the learning monitor's start
        self._evaluated_at = -1  # step of the newest whole-set evaluation

    def eval_every(self) -> int:
        """Steps between whole-set evaluations: the config's, or what keeps them near 2.5 % of the work."""
        if self.config.eval_every is not None:
            return self.config.eval_every
        return auto_eval_every(len(self.X_train) + len(self.X_test), self.config.batch_size, self.network)

    @property
    def epoch(self) -> int:
        """Completed passes over the training rows (the epoch the next batch belongs to)."""
        return self.sampler.epoch

    @property
    def learning(self) -> LearningIssue | None:
        """Why the network stopped learning (dead units, a flat loss, vanished gradients), or None.

        Updated at every whole-set evaluation; None while the run is diverged (that has its own message).
        """
        return None if self.diverged else self._learning.issue

    @property
    def lr(self) -> float:
        """The learning rate in force: the one the next step uses (typed, or where the schedule moved it)."""
        return self.scheduler.lr

    # ------------------------------------------------------------------ training

    def step(self, n: int = 1) -> int:
        """Do up to ``n`` optimizer steps; stop early if the run diverges. Returns the steps done."""
        if self.diverged:
            return 0
        # NOTE: overflow on the way to divergence is expected; it is detected and reported, not warned.
        with np.errstate(all="ignore"):
            return self._steps(n)

    def _steps(self, n: int) -> int:
        # NOTE: the loop body is the engine's hot path (about 20 µs a step on the playground network):
        # every array it touches is preallocated, whole-network work is one call on the flat vectors, and
        # what is not needed every step (layer statistics, evaluation, health) waits for its cadence.
        network, sampler, scheduler, history = self.network, self.sampler, self.scheduler, self.metric_history
        batch_size, eval_every = self.config.batch_size, self.eval_every()
        reg = self.config.regularization
        regularize = reg.kind != "none" and reg.rate != 0.0
        row = self._row  # NaN beyond the first four columns, except while a cadence fills them
        extras = row[len(SCALAR_COLUMNS) :]  # the per-layer statistics
        done = 0
        for _ in range(n):
            lr = scheduler.lr
            rows = sampler.next_batch(batch_size)
            output = network.forward(self.X_train[rows])
            loss, grad = self.loss.evaluate(network.logits, output, self.target_train[rows])
            if not math.isfinite(loss):
                self._diverge(
                    "the loss became NaN or infinite, so these weights cannot learn any more",
                    "Reset, with a lower learning rate.",
                )
                break
            network.backward(grad, self._grads_are_logits)
            if regularize:
                add_regularization_gradient(network, reg.kind, reg.rate)
            np.copyto(self._backup, network.flat_params)
            self.optimizer.step(self._grads, lr=lr)
            if not network.params_finite():
                np.copyto(network.flat_params, self._backup)
                self._diverge(
                    "the next update would make the weights NaN or infinite (the last finite ones are kept)",
                    "Lower the learning rate and play on, or reset.",
                )
                break
            scheduler.step()
            if scheduler.momentum is not None:
                scheduler.apply(self.optimizer)
            self.step_count += 1
            done += 1
            step = self.step_count
            row[_STEP] = step
            row[_EPOCH] = sampler.epoch
            row[_LR] = lr
            row[_TRAIN_LOSS] = loss
            stats = step % STATS_EVERY == 0 or step == 1
            evaluate = step % eval_every == 0 or step == 1
            if stats:
                statistics = layer_statistics(network, self._backup)
                extras[...] = statistics
                self._learning.observe_gradients(statistics[: len(network.layers)])
                self.trajectory.record(step, network.flat_params)
            if evaluate:
                watch = self._fill_evaluation(row)
                if self.health.due(step):
                    self.health.record(step, network, watch.dead_shares)
            history.record(row, step, loss)
            if stats or evaluate:
                row[_TEST_LOSS:] = math.nan
        return done

    def _fill_evaluation(self, row: np.ndarray) -> LayerWatch:
        """Whole-set test loss and train/test accuracy (classification) into ``row``; the learning check.

        Returns what the forward pass over the training rows showed (dead units, saturation).
        """
        watch = LayerWatch(len(self.network.layers))
        metrics = self.evaluate(watch)
        self._evaluated_at = self.step_count
        row[_TEST_LOSS] = nan_if_none(metrics["test_loss"])
        row[_TRAIN_ACC] = nan_if_none(metrics["train_accuracy"])
        row[_TEST_ACC] = nan_if_none(metrics["test_accuracy"])
        self._learning.observe_evaluation(
            self.step_count - self._changed_at,
            nan_if_none(metrics["train_loss"]),
            watch,
            self.config,
            self.lr,
        )
        return watch

    def evaluate(self, watch: LayerWatch | None = None) -> dict[str, float | None]:
        """Loss and accuracy on the whole train and test sets, without touching backward's caches.

        ``watch`` sees the hidden layers' pre-activations on the training rows.
        """
        classification = self.dataset.task == "classification"
        metrics: dict[str, float | None] = {}
        for split, X, target in (
            ("train", self.X_train, self.target_train),
            ("test", self.X_test, self.target_test),
        ):
            labels = self._labels[split] if classification else None
            metrics[f"{split}_loss"], metrics[f"{split}_accuracy"] = evaluate_split(
                self.network, self.loss, X, target, labels, watch if split == "train" else None
            )
        return metrics

    def evaluate_now(self) -> bool:
        """Evaluate the whole sets at the current step unless the newest evaluation is of it, so a run
        stepped by hand or paused between two scheduled evaluations shows its current weights' test
        metrics (and health). Training is untouched: no generator, batch or weight changes. True if it did.
        """
        if self.step_count == 0 or self.diverged or self._evaluated_at == self.step_count:
            return False
        row = np.full(self.metric_history.width, math.nan)
        watch = self._fill_evaluation(row)
        evaluated = slice(_TEST_LOSS, _TEST_ACC + 1)
        self.metric_history.amend_newest(evaluated, row[evaluated])
        if self.health.due(self.step_count):
            self.health.record(self.step_count, self.network, watch.dead_shares)
        return True

    def _diverge(self, reason: str, advice: str) -> None:
        """Stop after the last good step: its weights, batch position, epoch and history row stand.

        The failed step is undone completely (its batch is drawn again next time), so after a lower
        learning rate the run retries exactly that step; its divergence marks the last good row once.
        """
        self.sampler.undo()
        self.diverged = True
        self.message = f"Training diverged at step {self.step_count}: {reason}. {advice}"
        self.metric_history.mark_divergence(self.step_count)
        # NOTE: moment estimates may hold infinities now; continuing needs a fresh optimizer state.
        self.optimizer = build_optimizer(self.config.optimizer, self.network)
        self.scheduler.apply(self.optimizer)

    # ------------------------------------------------------------------ live changes

    def apply_config(self, config: RunConfig, data: CustomData | None = None, set_lr: bool = False) -> bool:
        """Switch to ``config``, already merged and validated (``merge_config``); True if rebuilt.

        Custom data may come inline in ``config``, as ``data``, or stay the run's own (same content hash).

        Seed, dataset, features, model or loss changed: a new network from step 0. Otherwise the weights
        stay, and as in torch: a typed lr is the one in force at once (any schedule continues from it);
        other changed hyperparameters keep the optimizer state (as editing a param_group); a new optimizer
        name starts fresh state; a changed schedule is attached anew at the lr in force, counting from 0.
        A merged config cannot tell a typed lr equal to the config's from no lr at all, so ``set_lr``
        says the lr was typed: the config's lr is then in force even if a schedule had moved it away
        (torch's ``param_group["lr"] = lr`` with the same value). Atomic: everything that can fail is
        built and checked before anything changes.
        """
        config, data = resolve_custom_data(config, data if data is not None else self.custom_data)
        changed = {
            name for name in RunConfig.model_fields if getattr(config, name) != getattr(self.config, name)
        }
        if changed & set(REBUILD_FIELDS):
            self._build(RunParts(config, data))
            return True
        old, new = self.config.optimizer, config.optimizer
        optimizer_class = optimizer_defaults_of(new.name)
        typed_lr = new.lr if new.lr is not None else optimizer_class["lr"]
        old_typed_lr = old.lr if old.lr is not None else optimizer_defaults_of(old.name)["lr"]
        lr = typed_lr if set_lr or typed_lr != old_typed_lr else self.scheduler.lr
        if new.name != old.name:
            optimizer = build_optimizer(new, self.network)
            hyper_changes: dict[str, Any] = {}
        else:
            optimizer = self.optimizer
            old_hyper, new_hyper = old.model_dump(), new.model_dump()
            hyper_changes = {
                key: new_hyper[key] for key in optimizer.defaults if new_hyper[key] != old_hyper[key]
            }
            type(optimizer)(
                {}, **{**optimizer.hyper, **hyper_changes}
            )  # the combination is checked, nothing set
        scheduler = make_scheduler(config.schedule, lr) if "schedule" in changed else self.scheduler
        scheduler.check(optimizer)
        # Nothing can fail below.
        optimizer.set_hyperparameters(**hyper_changes)
        self.optimizer = optimizer
        if scheduler is self.scheduler:
            scheduler.set_lr(lr)
        self.scheduler = scheduler
        scheduler.apply(optimizer)
        self.config = config
        if changed:
            self.diverged = False
            self.message = None
            learning = self._learning  # the weights stay: so does the largest learning rate they saw
            self._learning = LearningMonitor(learning.chance, learning.input_size, learning.peak_lr)
            self._changed_at = self.step_count
        return False

    def reset(self) -> None:
        """Back to step 0: the same data, initial weights and batch order as when the run was created."""
        self._build(RunParts(self.config, self.custom_data))

    def set_weight(self, layer: int, row: int, col: int, value: float) -> None:
        """Set W[row, col] of ``layer`` (row = from-neuron, col = to-neuron); the optimizer state is kept."""
        target = self._layer(layer).W
        if not (0 <= row < target.shape[0] and 0 <= col < target.shape[1]):
            field = "row" if not 0 <= row < target.shape[0] else "col"
            raise ConfigError(
                field, f"layer {layer} has W of shape {target.shape}; ({row}, {col}) is outside"
            )
        target[row, col] = finite_float(value, "value")

    def set_bias(self, layer: int, index: int, value: float) -> None:
        """Set b[index] of ``layer``; the optimizer state is kept."""
        target = self._layer(layer).b
        if not 0 <= index < target.shape[0]:
            raise ConfigError("index", f"layer {layer} has {target.shape[0]} biases; {index} is outside")
        target[index] = finite_float(value, "value")

    def _layer(self, layer: int) -> DenseLayer:
        if not 0 <= layer < len(self.network.layers):
            raise ConfigError("layer", f"the network has layers 0 to {len(self.network.layers) - 1}")
        return self.network.layers[layer]

    # ------------------------------------------------------------------ persistence

    def to_bytes(self) -> bytes:
        """Everything needed to continue exactly: config, weights, optimizer, generator, sampler, history."""
        return serialize.pack(run_state(self))

    @classmethod
    def from_bytes(cls, blob: bytes) -> Run:
        """The run :meth:`to_bytes` saved, continuing bit for bit."""
        state = serialize.unpack(blob)
        run = cls(*saved_config(state))
        load_run_state(run, state)
        return run

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle through :meth:`to_bytes` (a run sent to a worker process continues bit for bit)."""
        return (Run.from_bytes, (self.to_bytes(),))

    def checkpoint(self, mark: CheckpointMark | None = None) -> Checkpoint:
        """An incremental checkpoint after ``mark`` (None, or the last checkpoint's ``mark``): a core of
        constant size and each log's new chunk (see engine/checkpoint.py)."""
        return take_checkpoint(self, mark)

    @classmethod
    def restore(cls, core: bytes, logs: dict[str, list[bytes]], data: CustomData | None = None) -> Run:
        """The run a checkpoint core and every stored chunk of each log describe, continuing bit for bit;
        ``data`` is the CustomData its content hash names, for custom datasets."""
        return restore_checkpoint(cls, core, logs, data)
