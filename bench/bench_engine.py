"""Training steps per second: the Backprop Lab engine against its peers, measured in the same process.

Two cases (issue 2, "Speed"):

(a) the playground case: a 2-8-8-1 tanh network with a sigmoid/BCE output, batch 10, on the 500
    training points of the circle dataset (1,000 samples, train_fraction 0.5), plain SGD;
(b) a 784-128-64-10 relu network with a softmax/cross-entropy output, batch 64, on 2,000 random rows
    (X standard normal, y integers 0..9, train_fraction 1.0), plain SGD.

Contenders, each on the same data, architecture, batch size and learning rate:

- ours: ``Run(config).step(n)`` with metrics ON, its default (train loss every step, whole-set
  evaluation every 10 steps, per-layer gradient/weight/update norms every 10 steps);
- torch: PyTorch eager in float64 on one thread (``torch.set_num_threads(1)``, as numpy's BLAS here: the
  script pins OPENBLAS/OMP/MKL to one thread before importing either), a plain loop of zero_grad, forward,
  loss, backward, ``optimizer.step()`` (no ``loss.item()``, no DataLoader: the peer at its best);
- sklearn: ``MLPClassifier(solver="sgd", momentum=0, alpha=0).partial_fit`` called once per mini-batch
  (one call = one update);
- minimal: a hand-written numpy loop, forward, backward and SGD update inline with no abstractions and
  no metrics: the floor our abstractions cost against.

Each contender is warmed up, then timed best-of-``--repeats`` with every timing at least ``--seconds``
long. torch and scikit-learn are optional: a missing one leaves its column out with a note.

Targets (issue 10), checked as ratios of rates measured in this same run; the script exits 1 when one is
missed: (a) ours ≥ 0.7× the minimal numpy loop and ≥ 5× torch; (b) ours ≥ 1.0× torch.

    python bench/bench_engine.py            # about a minute
    python bench/bench_engine.py --quick    # shorter timings, for a smoke test
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import time
import warnings
from collections.abc import Callable

# One BLAS thread for numpy and torch alike, set before either is imported (the server runs one too).
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402

from backproplab.engine.config import RunConfig  # noqa: E402
from backproplab.engine.run import Run  # noqa: E402

LR = 0.03  # RunConfig's default learning rate, used by every contender
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
clock = time.perf_counter  # --clock cpu switches to process CPU time (all threads)

try:
    import torch
except ImportError:  # pragma: no cover - depends on the machine
    torch = None
try:
    import sklearn
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
except ImportError:  # pragma: no cover - depends on the machine
    sklearn = None

# ---------------------------------------------------------------------------------------------- cases


class Case:
    """One benchmark case: the engine's config and the data the peers train on (the engine's own arrays)."""

    def __init__(self, key: str, title: str, config: RunConfig, activation: str, targets: dict[str, float]):
        self.key = key
        self.title = title
        self.config = config
        self.activation = activation
        self.targets = targets
        run = Run(config)
        self.sizes = run.network.sizes
        self.batch_size = config.batch_size
        self.X = run.X_train  # float64 (n, d), exactly the engine's training inputs
        self.labels = run._labels["train"]  # int64 (n,)
        self.initial_weights = run.network.weights()  # every contender starts from these
        self.binary = self.sizes[-1] == 1


def playground_case() -> Case:
    config = RunConfig.model_validate(
        {
            "dataset": {"kind": "circle", "samples": 1000, "train_fraction": 0.5},
            "model": {"hidden": [8, 8], "activation": "tanh"},
            "loss": "bce",
            "optimizer": {"name": "sgd", "lr": LR},
            "batch_size": 10,
        }
    )
    return Case(
        "a",
        "(a) playground: 2-8-8-1 tanh, 500 points, batch 10, sgd, bce",
        config,
        "tanh",
        {"minimal": 0.7, "torch": 5.0},
    )


def mnist_like_case() -> Case:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2000, 784))
    y = rng.integers(0, 10, 2000)
    config = RunConfig.model_validate(
        {
            "dataset": {"kind": "custom", "X": X.tolist(), "y": y.tolist(), "train_fraction": 1.0},
            "model": {"hidden": [128, 64], "activation": "relu"},
            "loss": "cross_entropy",
            "optimizer": {"name": "sgd", "lr": LR},
            "batch_size": 64,
        }
    )
    return Case(
        "b",
        "(b) 784-128-64-10 relu, 2,000 random rows, batch 64, sgd, cross-entropy",
        config,
        "relu",
        {"torch": 1.0},
    )


# ---------------------------------------------------------------------------------------- contenders
# Each factory returns ``steps(n)``, a closure doing n training steps (state persists across calls).


def ours(case: Case, eval_every: int | None = None) -> Callable[[int], None]:
    config = case.config
    if eval_every is not None:
        config = config.model_copy(update={"eval_every": eval_every})
    run = Run(config)

    def steps(n: int) -> None:
        done = run.step(n)
        if done != n:
            raise RuntimeError(f"the engine stopped after {done} of {n} steps: {run.message}")

    return steps


def minimal_numpy(case: Case) -> Callable[[int], None]:
    """The floor: the same maths written out inline, per-epoch shuffling, no metrics, no checks."""
    X, labels, batch = case.X, case.labels, case.batch_size
    n_rows = len(X)
    Ws = [layer["W"].copy() for layer in case.initial_weights]
    bs = [layer["b"].copy() for layer in case.initial_weights]
    last = len(Ws) - 1
    relu = case.activation == "relu"
    T = labels.reshape(-1, 1).astype(np.float64) if case.binary else np.eye(case.sizes[-1])[labels]
    rng = np.random.default_rng(0)
    position = {"order": rng.permutation(n_rows), "cursor": 0}

    def steps(n: int) -> None:
        order, cursor = position["order"], position["cursor"]
        for _ in range(n):
            rows = order[cursor : cursor + batch]
            cursor += batch
            if cursor >= n_rows:
                order, cursor = rng.permutation(n_rows), 0
            a = X[rows]
            inputs = []
            for index in range(last):
                inputs.append(a)
                z = a @ Ws[index] + bs[index]
                a = np.maximum(z, 0.0) if relu else np.tanh(z)
            inputs.append(a)
            z = a @ Ws[last] + bs[last]
            if case.binary:
                out = 1.0 / (1.0 + np.exp(-z))
            else:
                out = np.exp(z - z.max(axis=1, keepdims=True))
                out /= out.sum(axis=1, keepdims=True)
            grad_z = (out - T[rows]) / len(rows)
            for index in range(last, -1, -1):
                a_in = inputs[index]
                grad_W = a_in.T @ grad_z
                grad_b = grad_z.sum(axis=0)
                if index:
                    grad_a = grad_z @ Ws[index].T
                    grad_z = grad_a * (a_in > 0) if relu else grad_a * (1.0 - a_in * a_in)
                Ws[index] -= LR * grad_W
                bs[index] -= LR * grad_b
        position["order"], position["cursor"] = order, cursor

    return steps


def torch_eager(case: Case) -> Callable[[int], None]:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    layers: list = []
    for index, layer in enumerate(case.initial_weights):
        linear = torch.nn.Linear(*layer["W"].shape, dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(layer["W"].T.copy()))
            linear.bias.copy_(torch.from_numpy(layer["b"]))
        layers.append(linear)
        if index < len(case.initial_weights) - 1:
            layers.append(torch.nn.ReLU() if case.activation == "relu" else torch.nn.Tanh())
    model = torch.nn.Sequential(*layers)
    X = torch.from_numpy(case.X)
    if case.binary:
        y = torch.from_numpy(case.labels.reshape(-1, 1).astype(np.float64))
        criterion = torch.nn.BCEWithLogitsLoss()
    else:
        y = torch.from_numpy(case.labels)
        criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    n_rows, batch = len(X), case.batch_size
    position = {"order": torch.randperm(n_rows), "cursor": 0}

    def steps(n: int) -> None:
        order, cursor = position["order"], position["cursor"]
        for _ in range(n):
            rows = order[cursor : cursor + batch]
            cursor += batch
            if cursor >= n_rows:
                order, cursor = torch.randperm(n_rows), 0
            optimizer.zero_grad()
            loss = criterion(model(X[rows]), y[rows])
            loss.backward()
            optimizer.step()
        position["order"], position["cursor"] = order, cursor

    return steps


def sklearn_partial_fit(case: Case) -> Callable[[int], None]:
    model = MLPClassifier(
        hidden_layer_sizes=tuple(case.sizes[1:-1]),
        activation=case.activation,
        solver="sgd",
        learning_rate_init=LR,
        momentum=0.0,
        alpha=0.0,
        batch_size=case.batch_size,
        random_state=0,
    )
    classes = np.unique(case.labels)
    X, labels, batch, n_rows = case.X, case.labels, case.batch_size, len(case.X)
    rng = np.random.default_rng(0)
    position = {"order": rng.permutation(n_rows), "cursor": 0}

    def steps(n: int) -> None:
        order, cursor = position["order"], position["cursor"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            # An epoch's last mini-batch may be smaller than batch_size, which sklearn warns about.
            warnings.simplefilter("ignore", UserWarning)
            for _ in range(n):
                rows = order[cursor : cursor + batch]
                cursor += batch
                if cursor >= n_rows:
                    order, cursor = rng.permutation(n_rows), 0
                model.partial_fit(X[rows], labels[rows], classes=classes)
        position["order"], position["cursor"] = order, cursor

    return steps


# ------------------------------------------------------------------------------------------ timing


def calibrate(steps: Callable[[int], None], seconds: float) -> int:
    """Warm up, and return a step count that takes about ``seconds`` (at least 1.1x, to be safe)."""
    n = 1
    while True:
        start = clock()
        steps(n)
        elapsed = clock() - start
        if elapsed >= 0.2:
            return max(1, int(n * seconds * 1.1 / elapsed))
        n *= 4 if elapsed < 0.05 else 2


def best_rates(
    contenders: dict[str, Callable[[int], None]], seconds: float, repeats: int
) -> dict[str, float]:
    """Steps per second of each contender: best of ``repeats`` timings of >= ``seconds``.

    The timings go round-robin (A B C, A B C, ...) rather than contender by contender, so a burst of
    load from another process hits every contender alike instead of sinking one of them.
    """
    counts = {name: calibrate(steps, seconds) for name, steps in contenders.items()}
    best = dict.fromkeys(contenders, 0.0)
    for _ in range(repeats):
        for name, steps in contenders.items():
            start = clock()
            steps(counts[name])
            best[name] = max(best[name], counts[name] / (clock() - start))
    return best


# ------------------------------------------------------------------------------------------ report


def machine_facts() -> list[str]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            cpu = next(line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    facts = [
        f"date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M UTC}",
        f"cpu: {cpu}; nproc {usable} (os.cpu_count {os.cpu_count()})",
        f"python {platform.python_version()} on {platform.system()} {platform.release()}",
        f"numpy {np.__version__}, BLAS: {numpy_blas()}",
        "torch " + (torch.__version__ if torch else "not importable"),
        "scikit-learn " + (sklearn.__version__ if sklearn else "not importable"),
    ]
    return facts


def numpy_blas() -> str:
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        text = f"{blas['name']} {blas.get('version', '')}".strip()
    except Exception:
        return "unknown"
    try:
        from threadpoolctl import threadpool_info

        for pool in threadpool_info():
            if pool.get("user_api") == "blas" and "numpy" in pool.get("filepath", ""):
                text += f" ({pool.get('architecture')}, {pool.get('num_threads')} threads)"
    except ImportError:
        pass
    return text


def ratio(ours_rate: float, other: float | None) -> str:
    return "—" if not other else f"{ours_rate / other:.2f}x"


def load_average() -> str:
    try:
        return ", ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def measure_case(case: Case, seconds: float, repeats: int) -> dict[str, float | None]:
    contenders = {
        "ours": ours(case),
        "ours_light": ours(case, eval_every=1000),
        "minimal": minimal_numpy(case),
    }
    if torch is not None:
        contenders["torch"] = torch_eager(case)
    if sklearn is not None:
        contenders["sklearn"] = sklearn_partial_fit(case)
    rates: dict[str, float | None] = {"torch": None, "sklearn": None}
    rates.update(best_rates(contenders, seconds, repeats))
    return rates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="minimum length of one timing")
    parser.add_argument("--repeats", type=int, default=3, help="timings per contender (best is kept)")
    parser.add_argument("--quick", action="store_true", help="0.3 s timings, best of 2 (smoke test)")
    parser.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        default="wall",
        help="wall: elapsed time (default); cpu: process CPU time of all threads, steadier on a busy "
        "machine but it charges multithreaded peers for every thread, spinning ones included",
    )
    args = parser.parse_args(argv)
    global clock
    clock = CLOCKS[args.clock]
    if args.quick:
        args.seconds, args.repeats = 0.3, 2
    print("# Engine speed: training steps per second\n")
    for fact in machine_facts():
        print(f"- {fact}")
    print(f"- load average (1, 5, 15 min) at start: {load_average()}")
    blas = os.environ["OPENBLAS_NUM_THREADS"]
    print(f"- clock: {args.clock}; numpy BLAS threads (OPENBLAS_NUM_THREADS): {blas}; torch threads: 1")
    notes = []
    if torch is None:
        notes.append("torch is not importable: its column is skipped.")
    if sklearn is None:
        notes.append("scikit-learn is not importable: its column is skipped.")
    print()

    header = "| case | ours (metrics on) | ours (eval every 1000) | torch | sklearn | minimal numpy |"
    header += " ours/torch | ours/minimal | ours/sklearn | targets |"
    rows = [header, "|" + " --- |" * 10]
    verdicts, missed = [], False
    for case in (playground_case(), mnist_like_case()):
        rate = measure_case(case, args.seconds, args.repeats)
        cells = [
            f"{rate[key]:,.0f}" if rate[key] else "—"
            for key in ("ours", "ours_light", "torch", "sklearn", "minimal")
        ]
        target_text = ", ".join(f"{peer} >= {goal:g}x" for peer, goal in case.targets.items())
        rows.append(
            f"| {case.title} | "
            + " | ".join(cells)
            + f" | {ratio(rate['ours'], rate['torch'])} | {ratio(rate['ours'], rate['minimal'])}"
            + f" | {ratio(rate['ours'], rate['sklearn'])} | {target_text} |"
        )
        for peer, goal in case.targets.items():
            if rate[peer] is None:
                verdicts.append(f"({case.key}) ours/{peer} not measured ({peer} is not importable)")
                continue
            achieved = rate["ours"] / rate[peer]
            verdict = "met" if achieved >= goal else "MISSED"
            missed = missed or achieved < goal
            verdicts.append(f"({case.key}) ours/{peer} = {achieved:.2f}x, target >= {goal:g}x: {verdict}")
    print("\n".join(rows))
    print()
    for verdict in verdicts:
        print(f"- {verdict}")
    for note in notes:
        print(f"- note: {note}")
    print(f"- load average at end: {load_average()} (on a busy machine every number above is unreliable)")
    print(
        f"\nBest of {args.repeats} round-robin timings of >= {args.seconds:g} s ({args.clock} clock) each "
        "after a warm-up; "
        "'eval every 1000' is the same engine with whole-set evaluation every 1000 steps instead of its "
        "cost-based default (about 2.5 % of the work: ~220 steps in (a), ~420 in (b))."
    )
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
