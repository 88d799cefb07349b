"""A training run: config, data, network, optimizer, schedule and metrics, stepped one mini-batch at a time.

One step is: draw a mini-batch, forward, loss (mean over the batch), backward, add the regularisation
gradient, one optimizer update at the schedule's learning rate, record metrics. Everything random comes
from three generators spawned from the config's seed (data, initial weights, batch order), so a seed and a
config reproduce a run exactly, and :meth:`Run.to_bytes` / :meth:`Run.from_bytes` continue it bit for bit.

Live changes follow DESIGN.md: a new learning rate or hyperparameter keeps weights and optimizer state;
a new optimizer name keeps the weights and starts fresh state; batch size, regularisation and schedule
keep both; seed, dataset, features, model or loss rebuild the network from step 0.
"""

from __future__ import annotations

import base64
import csv
import io
import math
from typing import Any

import numpy as np

from . import serialize
from .batches import BatchSampler
from .config import REBUILD_FIELDS, RunConfig, merge_config
from .datasets import Dataset
from .errors import ConfigError
from .features import input_transform
from .health import HealthLog
from .history import (
    SCALAR_COLUMNS,
    MetricHistory,
    downsample_rows,
    finite_list,
    rows_to_columns,
)
from .losses import Loss
from .network import Network
from .optimizers import Optimizer, make_optimizer
from .regularization import add_regularization_gradient
from .run_setup import RunParts, class_labels
from .schedules import make_schedule
from .trajectory import Trajectory

STATE_VERSION = 1
STATS_EVERY = 10  # steps between per-layer statistics (gradient norm, weight norm, update ratio)
MAX_GRID_RESOLUTION = 200
MIN_AUTO_EVAL_EVERY, MAX_AUTO_EVAL_EVERY = 10, 100
_STEP, _EPOCH, _LR, _TRAIN_LOSS, _TEST_LOSS, _TRAIN_ACC, _TEST_ACC = range(len(SCALAR_COLUMNS))


class Run:
    """One training run. Not thread-safe: callers serialise access (the server holds a lock per run)."""

    def __init__(self, config: RunConfig | None = None):
        self.config = config if config is not None else RunConfig()
        self._build(self.config)

    # ------------------------------------------------------------------ building

    def _build(self, config: RunConfig) -> None:
        """Build data, network, optimizer and metrics from ``config`` and its seed (step 0)."""
        parts = RunParts(config)
        optimizer = make_optimizer(
            config.optimizer.name, parts.network.params(), **config.optimizer.hyperparameters()
        )
        self.config = config
        self._install(parts)
        self.optimizer = optimizer
        self.step_count = 0
        self.diverged = False
        self.message: str | None = None
        self.metric_history = MetricHistory(len(self.network.layers))
        self.trajectory = Trajectory(self.network, STATS_EVERY)
        self.health = HealthLog()

    def _install(self, parts: RunParts) -> None:
        self.dataset: Dataset = parts.dataset
        self.loss: Loss = parts.loss
        self.loss_name = parts.loss_name
        self.output_activation = parts.output_activation
        self.network: Network = parts.network
        self.batch_rng = parts.batch_rng
        self.sampler = BatchSampler(len(self.dataset.X_train), self.dataset.shuffle, self.batch_rng)
        self.X_train, self.X_test = parts.X_train, parts.X_test
        self.target_train, self.target_test = parts.target_train, parts.target_test
        self._grads_are_logits = self.loss.fused_activation is not None
        self._labels = {"train": class_labels(self.target_train), "test": class_labels(self.target_test)}
        self._params = self.network.params()
        self._grads = self.network.grads()
        self._backup = {name: value.copy() for name, value in self._params.items()}

    def _make_optimizer(self, config: RunConfig) -> Optimizer:
        return make_optimizer(config.optimizer.name, self._params, **config.optimizer.hyperparameters())

    def eval_every(self) -> int:
        """Steps between whole-set evaluations: the config's, or once per epoch clamped to 10..100.

        # NOTE: evaluation costs a forward pass over every row; at 15,000 steps/s a fixed 10-step cadence
        cost more than training on large data sets, and a chart cannot show more than a point per frame.
        """
        if self.config.eval_every is not None:
            return self.config.eval_every
        steps_per_epoch = math.ceil(len(self.X_train) / self.config.batch_size)
        return min(max(steps_per_epoch, MIN_AUTO_EVAL_EVERY), MAX_AUTO_EVAL_EVERY)

    @property
    def epoch(self) -> int:
        return self.sampler.epoch

    # ------------------------------------------------------------------ training

    def step(self, n: int = 1) -> int:
        """Do up to ``n`` optimizer steps; stop early if the run diverges. Returns the steps done."""
        if self.diverged:
            return 0
        # NOTE: overflow on the way to divergence is expected; it is detected and reported, not warned.
        with np.errstate(all="ignore"):
            return self._steps(n)

    def _steps(self, n: int) -> int:
        schedule = make_schedule(self.config.schedule)
        base_lr = self.optimizer.hyper["lr"]
        batch_size = self.config.batch_size
        eval_every = self.eval_every()
        reg = self.config.regularization
        row = np.full(self.metric_history.width, np.nan)
        done = 0
        for _ in range(n):
            step_index = self.step_count  # 0-based index of this update
            lr = schedule.lr_at(step_index, base_lr)
            rows = self.sampler.next_batch(batch_size)
            output = self.network.forward(self.X_train[rows])
            result = self.loss.evaluate(self.network.output_layer.z, output, self.target_train[rows])
            if not math.isfinite(result.value):
                self._diverge(step_index + 1, row, lr, result.value, "the loss became NaN or infinite")
                break
            self.network.backward(result.grad, self._grads_are_logits)
            add_regularization_gradient(self.network, reg.kind, reg.rate)
            take_stats = (step_index + 1) % STATS_EVERY == 0 or step_index == 0
            if take_stats:
                grad_norms = self._layer_norms(self._grads)
                if not np.isfinite(grad_norms).all():
                    self._diverge(step_index + 1, row, lr, result.value, "a gradient became NaN or infinite")
                    break
            for name, value in self._params.items():
                np.copyto(self._backup[name], value)
            self.optimizer.step(self._grads, lr=lr)
            self.step_count += 1
            done += 1
            row[:] = np.nan
            row[_STEP] = self.step_count
            row[_EPOCH] = self.sampler.epoch
            row[_LR] = lr
            row[_TRAIN_LOSS] = result.value
            if take_stats:
                self._fill_layer_stats(row, grad_norms)
                if not np.isfinite(row[len(SCALAR_COLUMNS) :]).all():
                    self._restore_backup()
                    self.step_count -= 1
                    done -= 1
                    self._diverge(
                        self.step_count + 1, row, lr, result.value, "the weights became NaN or infinite"
                    )
                    break
                self.trajectory.record(self.step_count, self._params)
                self.health.maybe_record(self.step_count, self.network, self.X_train)
            if self.step_count % eval_every == 0 or self.step_count == 1:
                self._fill_evaluation(row)
            self.metric_history.record(row)
        if not self.diverged and not self._weights_finite():
            self._restore_backup()
            self._diverge(self.step_count, row, math.nan, math.nan, "the weights became NaN or infinite")
        return done

    def _layer_norms(self, arrays: dict[str, np.ndarray]) -> np.ndarray:
        """Per layer √(‖W‖² + ‖b‖²) of ``arrays`` keyed W0, b0, W1, …"""
        norms = np.empty(len(self.network.layers))
        for index in range(len(norms)):
            W, b = arrays[f"W{index}"], arrays[f"b{index}"]
            norms[index] = math.sqrt(float(np.vdot(W, W)) + float(np.vdot(b, b)))
        return norms

    def _fill_layer_stats(self, row: np.ndarray, grad_norms: np.ndarray) -> None:
        """Gradient norm, weight norm and update-to-weight ratio ‖Δθ‖/‖θ‖ per layer."""
        n_layers = len(self.network.layers)
        weight_norms = self._layer_norms(self._params)
        deltas = {name: self._params[name] - self._backup[name] for name in self._params}
        update_norms = self._layer_norms(deltas)
        offset = len(SCALAR_COLUMNS)
        row[offset : offset + n_layers] = grad_norms
        row[offset + n_layers : offset + 2 * n_layers] = weight_norms
        with np.errstate(divide="ignore", invalid="ignore"):
            row[offset + 2 * n_layers : offset + 3 * n_layers] = np.where(
                weight_norms > 0, update_norms / weight_norms, np.nan
            )

    def _fill_evaluation(self, row: np.ndarray) -> None:
        """Whole-set test loss and train/test accuracy (classification) into ``row``."""
        metrics = self.evaluate()
        row[_TEST_LOSS] = _nan_if_none(metrics["test_loss"])
        row[_TRAIN_ACC] = _nan_if_none(metrics["train_accuracy"])
        row[_TEST_ACC] = _nan_if_none(metrics["test_accuracy"])

    def evaluate(self) -> dict[str, float | None]:
        """Loss and accuracy on the whole train and test sets, without touching backward's caches."""
        metrics: dict[str, float | None] = {}
        for split, X, target in (
            ("train", self.X_train, self.target_train),
            ("test", self.X_test, self.target_test),
        ):
            if len(X) == 0:
                metrics[f"{split}_loss"] = metrics[f"{split}_accuracy"] = None
                continue
            logits, output = self.network.predict_with_logits(X)
            metrics[f"{split}_loss"] = self.loss.evaluate(logits, output, target).value
            metrics[f"{split}_accuracy"] = self._accuracy(output, self._labels[split])
        return metrics

    def _accuracy(self, output: np.ndarray, labels: np.ndarray) -> float | None:
        if self.dataset.task != "classification":
            return None
        return np.count_nonzero(self.predict_classes(output) == labels) / len(labels)

    def predict_classes(self, output: np.ndarray) -> np.ndarray:
        """Class predictions from network outputs: argmax for several outputs, threshold 0.5 for one."""
        if output.shape[1] == 1:
            return (output[:, 0] > 0.5).astype(np.int64)
        return np.argmax(output, axis=1)

    def _diverge(self, step: int, row: np.ndarray, lr: float, loss: float, reason: str) -> None:
        self.diverged = True
        self.message = (
            f"Training diverged at step {step}: {reason}. Try a lower learning rate, then reset or play on."
        )
        row[:] = np.nan
        row[_STEP], row[_EPOCH], row[_LR], row[_TRAIN_LOSS] = step, self.sampler.epoch, lr, loss
        self.metric_history.record(row, diverged=True)
        # NOTE: moment estimates may hold infinities now; continuing needs a fresh optimizer state.
        self.optimizer = self._make_optimizer(self.config)

    def _restore_backup(self) -> None:
        for name, value in self._params.items():
            np.copyto(value, self._backup[name])

    def _weights_finite(self) -> bool:
        return all(np.isfinite(value).all() for value in self._params.values())

    # ------------------------------------------------------------------ live changes

    def apply_config(self, patch: dict[str, Any]) -> bool:
        """Merge ``patch`` (any part of a RunConfig) into the config; True if the network was rebuilt.

        Atomic: everything that can fail is built before anything changes.
        """
        new_config = merge_config(self.config, patch)
        old = self.config.model_dump()
        new = new_config.model_dump()
        changed = {key for key in new if new[key] != old[key]}
        if changed & set(REBUILD_FIELDS):
            self._build(new_config)
            return True
        if "optimizer" in changed:
            hyper = new_config.optimizer.hyperparameters()
            if new["optimizer"]["name"] != old["optimizer"]["name"]:
                self.optimizer = make_optimizer(new_config.optimizer.name, self._params, **hyper)
            else:
                everything = new_config.optimizer.model_dump(exclude={"name"})
                self.optimizer.set_hyperparameters(
                    **{key: value for key, value in everything.items() if key in self.optimizer.defaults}
                )
        make_schedule(new_config.schedule)
        self.config = new_config
        if changed:
            self.diverged = False
            self.message = None
        return False

    def reset(self) -> None:
        """Back to step 0: the same data, initial weights and batch order as when the run was created."""
        self._build(self.config)

    def set_weight(self, layer: int, row: int, col: int, value: float) -> None:
        """Set W[row, col] of ``layer`` (row = from-neuron, col = to-neuron); the optimizer state is kept."""
        target = self._layer(layer).W
        if not (0 <= row < target.shape[0] and 0 <= col < target.shape[1]):
            raise ConfigError(
                "row", f"layer {layer} has W of shape {target.shape}; ({row}, {col}) is outside"
            )
        target[row, col] = _finite_value(value)

    def set_bias(self, layer: int, index: int, value: float) -> None:
        target = self._layer(layer).b
        if not 0 <= index < target.shape[0]:
            raise ConfigError("index", f"layer {layer} has {target.shape[0]} biases; {index} is outside")
        target[index] = _finite_value(value)

    def _layer(self, layer: int):
        if not 0 <= layer < len(self.network.layers):
            raise ConfigError("layer", f"the network has layers 0 to {len(self.network.layers) - 1}")
        return self.network.layers[layer]

    # ------------------------------------------------------------------ views

    def resolved(self) -> dict[str, Any]:
        """What the engine chose where the config left a default (see docs/protocol.md)."""
        lr = make_schedule(self.config.schedule).lr_at(self.step_count, self.optimizer.hyper["lr"])
        return {
            "task": self.dataset.task,
            "num_classes": self.dataset.num_classes,
            "input_size": self.network.sizes[0],
            "raw_input_size": int(self.dataset.X_train.shape[1]),
            "sizes": self.network.sizes,
            "loss": self.loss_name,
            "output_activation": self.output_activation,
            "optimizer": {"name": self.optimizer.name, **_json_safe(self.optimizer.hyper)},
            "lr": lr if math.isfinite(lr) else None,
            "train_size": len(self.X_train),
            "test_size": len(self.X_test),
            "input_names": self.input_names(),
            "extent": list(self.dataset.extent) if self.dataset.extent is not None else None,
        }

    def input_names(self) -> list[str]:
        width = self.dataset.X_train.shape[1]
        if width == 2:
            return list(self.config.features)
        return [f"x{index + 1}" for index in range(width)]

    def latest(self) -> dict[str, Any]:
        """The most recent value of each scalar metric (test metrics from the last evaluation)."""
        latest: dict[str, Any] = {"step": self.step_count, "epoch": self.epoch}
        row = self.metric_history.latest_row()
        if row is not None:
            latest["lr"] = _none_if_nan(row[_LR])
            latest["train_loss"] = _none_if_nan(row[_TRAIN_LOSS])
        evaluated = self.metric_history.stored()
        for index, name in (
            (_TEST_LOSS, "test_loss"),
            (_TRAIN_ACC, "train_accuracy"),
            (_TEST_ACC, "test_accuracy"),
        ):
            values = evaluated[:, index] if len(evaluated) else np.array([])
            finite = values[np.isfinite(values)]
            latest[name] = float(finite[-1]) if len(finite) else None
        return latest

    def history_rows(self, since_step: int = 0, max_points: int | None = None) -> np.ndarray:
        """Stored rows with step > since_step; the full-resolution recent window when it covers them."""
        recent = self.metric_history.recent_since(since_step)
        if len(recent) and recent[0, _STEP] <= since_step + 1:
            rows = recent  # the full-resolution window reaches back to since_step
        else:
            stored = self.metric_history.stored()
            rows = stored[stored[:, _STEP] > since_step]
        return downsample_rows(rows, max_points) if max_points else rows

    def history(self, since_step: int = 0, max_points: int | None = None) -> dict[str, Any]:
        """The protocol's history columns (see docs/protocol.md)."""
        rows = self.history_rows(since_step, max_points)
        columns = rows_to_columns(rows, len(self.network.layers))
        columns["stride"] = self.metric_history.stride
        columns["total_steps"] = self.step_count
        return columns

    def history_csv(self, max_points: int | None = None) -> str:
        rows = self.history_rows(0, max_points)
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(self.metric_history.column_names())
        for row in rows:
            writer.writerow(["" if not math.isfinite(value) else _csv_number(value) for value in row])
        return buffer.getvalue()

    def params(self) -> dict[str, Any]:
        """Weights, biases and their last gradients per layer, JSON-safe."""
        return {
            "layers": [
                {
                    "W": finite_list(layer.W),
                    "b": finite_list(layer.b),
                    "dW": finite_list(layer.grad_W),
                    "db": finite_list(layer.grad_b),
                    "activation": layer.activation.name,
                }
                for layer in self.network.layers
            ]
        }

    def grid(self, resolution: int = 40, neurons: bool = False) -> dict[str, Any] | None:
        """The network's output (and optionally every neuron's) over the input plane; None if not 2-D.

        Rows go from the lowest x2 to the highest, columns from the lowest x1 (docs/protocol.md).
        """
        if self.dataset.X_train.shape[1] != 2 or self.dataset.extent is None:
            return None
        if not 2 <= resolution <= MAX_GRID_RESOLUTION:
            raise ConfigError("resolution", f"must be between 2 and {MAX_GRID_RESOLUTION}")
        x1_min, x1_max, x2_min, x2_max = self.dataset.extent
        xs = np.linspace(x1_min, x1_max, resolution)
        ys = np.linspace(x2_min, x2_max, resolution)
        grid_x, grid_y = np.meshgrid(xs, ys)
        points = np.column_stack([grid_x.ravel(), grid_y.ravel()])
        activations = self.network.hidden_outputs(input_transform(points, self.config.features, 2))
        output = activations[-1]
        result: dict[str, Any] = {"resolution": resolution, "extent": [x1_min, x1_max, x2_min, x2_max]}
        if self.dataset.task == "classification" and output.shape[1] > 1:
            result["output"] = _quantize(output.max(axis=1), 0.0, 1.0)
            result["classes"] = base64.b64encode(
                np.argmax(output, axis=1).astype(np.uint8).tobytes()
            ).decode()
        elif self.dataset.task == "classification":
            result["output"] = _quantize(output[:, 0], 0.0, 1.0)
        else:
            result["output"] = _quantize(output[:, 0])
        if neurons:
            result["neurons"] = [
                [_quantize(layer_out[:, j]) for j in range(layer_out.shape[1])] for layer_out in activations
            ]
        return result

    def points(self) -> dict[str, Any]:
        """The raw training and test points with their targets (for drawing the data)."""
        return {
            "train": {"X": finite_list(self.dataset.X_train), "y": finite_list(self.dataset.y_train)},
            "test": {"X": finite_list(self.dataset.X_test), "y": finite_list(self.dataset.y_test)},
        }

    # ------------------------------------------------------------------ persistence

    def to_bytes(self) -> bytes:
        """Everything needed to continue exactly: config, weights, optimizer, generator, sampler, history."""
        state = {
            "version": STATE_VERSION,
            # Custom data travels as arrays: walking a 2,000 × 784 list in Python costs seconds.
            "config": self.config.model_dump(mode="json", exclude={"dataset": {"X", "y"}}),
            "custom_data": _custom_arrays(self.config),
            "weights": [{"W": layer.W, "b": layer.b} for layer in self.network.layers],
            "grads": [{"W": layer.grad_W, "b": layer.grad_b} for layer in self.network.layers],
            "optimizer": self.optimizer.state_dict(),
            "batch_rng": self.batch_rng.bit_generator.state,
            "sampler": _sampler_state(self.sampler),
            "step_count": self.step_count,
            "diverged": self.diverged,
            "message": self.message,
            "history": self.metric_history.state_dict(),
            "trajectory": self.trajectory.state_dict(),
            "health": self.health.state_dict(),
        }
        return serialize.pack(state)

    @classmethod
    def from_bytes(cls, data: bytes) -> Run:
        state = serialize.unpack(data)
        if state.get("version") != STATE_VERSION:
            raise ConfigError(
                "state", f"saved run has version {state.get('version')}, expected {STATE_VERSION}"
            )
        config = state["config"]
        if state["custom_data"] is not None:
            config["dataset"]["X"] = state["custom_data"]["X"].tolist()
            config["dataset"]["y"] = state["custom_data"]["y"].tolist()
        run = cls(RunConfig.model_validate(config))
        run.network.load_weights(state["weights"])
        for layer, grads in zip(run.network.layers, state["grads"], strict=True):
            layer.grad_W[...] = grads["W"]
            layer.grad_b[...] = grads["b"]
        run.optimizer.load_state_dict(state["optimizer"])
        run.batch_rng.bit_generator.state = state["batch_rng"]
        run.sampler.load_state_dict(state["sampler"])
        run.step_count = int(state["step_count"])
        run.diverged = bool(state["diverged"])
        run.message = state["message"]
        run.metric_history = MetricHistory.from_state_dict(len(run.network.layers), state["history"])
        run.trajectory.load_state_dict(state["trajectory"])
        run.health.load_state_dict(state["health"])
        return run


def _quantize(values: np.ndarray, low: float | None = None, high: float | None = None) -> dict[str, Any]:
    """Values → {"min", "max", "data": base64 uint8}, byte q meaning min + q/255·(max − min)."""
    finite = np.where(np.isfinite(values), values, 0.0)
    low = float(finite.min()) if low is None else low
    high = float(finite.max()) if high is None else high
    span = high - low if high > low else 1.0
    scaled = np.clip(np.round((finite - low) / span * 255.0), 0, 255).astype(np.uint8)
    return {"min": low, "max": high, "data": base64.b64encode(scaled.tobytes()).decode()}


def _custom_arrays(config: RunConfig) -> dict[str, np.ndarray] | None:
    if config.dataset.X is None:
        return None
    return {
        "X": np.asarray(config.dataset.X, dtype=np.float64),
        "y": np.asarray(config.dataset.y, dtype=np.float64),
    }


def _sampler_state(sampler: BatchSampler) -> dict[str, Any]:
    state = sampler.state_dict()
    if state["permutation"] is not None:
        state["permutation"] = np.asarray(state["permutation"], dtype=np.int64)
    return state


def _finite_value(value: float) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise ConfigError("value", "must be a finite number")
    return number


def _nan_if_none(value: float | None) -> float:
    return math.nan if value is None else value


def _none_if_nan(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _csv_number(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(float(value))


def _json_safe(hyper: dict[str, Any]) -> dict[str, Any]:
    safe = {}
    for key, value in hyper.items():
        if isinstance(value, float) and not math.isfinite(value):
            safe[key] = None
        elif isinstance(value, tuple):
            safe[key] = list(value)
        else:
            safe[key] = value
    return safe
