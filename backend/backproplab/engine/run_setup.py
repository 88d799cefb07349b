"""What a RunConfig builds from its seed: data, input features, loss, targets, the initial network and
its optimizer.

Everything here is made before a live Run changes anything, so a bad config fails without side effects.
Three generators are spawned from the seed: data, initial weights and batch order.
"""

from __future__ import annotations

import numpy as np

from .config import RunConfig
from .custom_data import CustomData, resolve_custom_data
from .datasets import Dataset, make_dataset
from .errors import ConfigError
from .features import input_transform
from .losses import Loss, get_loss
from .network import Network
from .optimizers import build_optimizer
from .schedules import make_scheduler


class RunParts:
    """Everything a config builds from its seed, made before anything in a live Run changes."""

    def __init__(self, config: RunConfig, data: CustomData | None = None):
        config, self.custom_data = resolve_custom_data(config, data)
        self.config = config
        data_rng, init_rng, self.batch_rng = (
            np.random.default_rng(seed) for seed in np.random.SeedSequence(config.seed).spawn(3)
        )
        self.dataset = make_dataset(config.dataset, data_rng, self.custom_data)
        raw_width = self.dataset.X_train.shape[1]
        self.X_train = input_transform(self.dataset.X_train, config.features, raw_width)
        self.X_test = input_transform(self.dataset.X_test, config.features, raw_width)
        self.loss_name = resolve_loss(config, self.dataset)
        self.loss = get_loss(self.loss_name)
        output_width, self.target_train, self.target_test = targets_for(self.loss_name, self.dataset)
        self.output_activation = resolve_output_activation(config, self.loss, self.dataset)
        sizes = [self.X_train.shape[1], *config.model.hidden, output_width]
        self.network = Network.build(
            sizes,
            config.model.activation,
            self.output_activation,
            config.model.init,
            init_rng,
            None if config.model.weights is None else [layer.model_dump() for layer in config.model.weights],
        )
        self.optimizer = build_optimizer(config.optimizer, self.network)
        self.scheduler = make_scheduler(config.schedule, self.optimizer.hyper["lr"])
        self.scheduler.apply(self.optimizer)


def resolve_loss(config: RunConfig, dataset: Dataset) -> str:
    """The config's loss, or bce / cross_entropy / mse from the data; errors for impossible pairs."""
    if config.loss is None:
        if dataset.task == "regression":
            return "mse"
        return "bce" if dataset.num_classes == 2 else "cross_entropy"
    if config.loss in ("bce", "cross_entropy") and dataset.task == "regression":
        raise ConfigError(
            "loss", f"{config.loss} needs class labels; this dataset is a regression task (use mse)"
        )
    if config.loss == "bce" and dataset.num_classes > 2:
        raise ConfigError(
            "loss", f"bce is for two classes; this dataset has {dataset.num_classes} (use cross_entropy)"
        )
    return config.loss


def targets_for(loss_name: str, dataset: Dataset) -> tuple[int, np.ndarray, np.ndarray]:
    """Output width and the targets in the shape the loss reads."""
    y_train, y_test = dataset.y_train, dataset.y_test
    if loss_name == "cross_entropy":
        return dataset.num_classes, y_train.astype(np.int64), y_test.astype(np.int64)
    if dataset.task == "classification" and dataset.num_classes > 2:
        eye = np.eye(dataset.num_classes)
        return dataset.num_classes, eye[y_train.astype(np.int64)], eye[y_test.astype(np.int64)]
    return 1, y_train.reshape(-1, 1), y_test.reshape(-1, 1)


def resolve_output_activation(config: RunConfig, loss: Loss, dataset: Dataset) -> str:
    chosen = config.model.output_activation
    if loss.fused_activation is not None:
        if chosen not in (None, loss.fused_activation):
            raise ConfigError(
                "model.output_activation",
                f"{loss.name} includes a {loss.fused_activation} output; choose {loss.fused_activation} or leave it empty",
            )
        return loss.fused_activation
    if chosen is not None:
        if chosen == "softmax" and dataset.task == "regression":
            raise ConfigError(
                "model.output_activation", "softmax needs class outputs; use linear for regression"
            )
        return chosen
    if dataset.task == "regression":
        return "linear"
    return "sigmoid" if dataset.num_classes == 2 else "softmax"


def class_labels(target: np.ndarray) -> np.ndarray:
    """Integer class labels from targets shaped for the loss: (n,) labels, (n, 1) 0/1, or (n, K) one-hot."""
    if target.ndim == 1:
        return target.astype(np.int64)
    if target.shape[1] == 1:
        return target[:, 0].astype(np.int64)
    labels: np.ndarray = np.argmax(target, axis=1)
    return labels
