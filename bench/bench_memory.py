"""Peak memory of a 1,000,000-step run of the playground case, with the engine alone (no peers imported).

The case is bench_engine.py's (a): a 2-8-8-1 tanh network, bce, plain SGD, batch 10, on the 500 training
points of the circle dataset, metrics on (the default). Target (issue 2): peak memory under 100 MB.

Three passes, in this one process:

1. untraced: ``Run.step`` in chunks, printing the current RSS and the size of every bounded record
   (MetricHistory rows and stride, the parameter trajectory, the health log) after each chunk, then
   the process's RSS high-water mark (``resource.getrusage(RUSAGE_SELF).ru_maxrss``) and steps/s;
2. traced: a fresh run of the same length under ``tracemalloc``, whose peak counts every Python and
   numpy allocation made during the run (tracing slows the engine about 3x, so this pass is the long one);
3. checkpoints: a fresh run checkpointed incrementally every 100 steps for 50,000 steps (issue 13,
   "checkpoints that scale"); bytes and milliseconds of the checkpoint at 1,000 and at 50,000 steps and
   averaged over the 10,000 steps before each, next to a full ``to_bytes`` at the same age. Target: the
   bytes per checkpoint at 50,000 steps ≤ 1.1x those at 1,000 (amortised over the window).

    python bench/bench_memory.py                      # about 5 minutes
    python bench/bench_memory.py --steps 100000       # a shorter check
    python bench/bench_memory.py --skip-tracemalloc   # passes 1 and 3, about 1.5 minutes
    python bench/bench_memory.py --checkpoints-only   # pass 3, about 10 seconds

The script exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import resource
import statistics
import sys
import time
import tracemalloc

import numpy as np

from backproplab.engine.config import RunConfig
from backproplab.engine.run import Run

TARGET_MB = 100.0
MB = 1024 * 1024


def playground_config() -> RunConfig:
    return RunConfig.model_validate(
        {
            "dataset": {"kind": "circle", "samples": 1000, "train_fraction": 0.5},
            "model": {"hidden": [8, 8], "activation": "tanh"},
            "loss": "bce",
            "optimizer": {"name": "sgd", "lr": 0.03},
            "batch_size": 10,
        }
    )


def current_rss_mb() -> float | None:
    """Resident set size now, from /proc (Linux); None elsewhere."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / MB
    except (OSError, ValueError, IndexError):
        return None


def peak_rss_mb() -> float:
    """The process's RSS high-water mark: ru_maxrss is in KiB on Linux, in bytes on macOS."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / MB if sys.platform == "darwin" else peak / 1024


def load_average() -> str:
    try:
        return ", ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def bounded_records(run: Run) -> str:
    history = run.metric_history
    parts = [
        f"history {history.size:,}/{history.capacity:,} rows, stride {history.stride}",
        f"recent ring {min(history.recent_count, len(history.recent)):,}",
    ]
    trajectory = getattr(run, "trajectory", None)
    if trajectory is not None:
        parts.append(f"trajectory {trajectory.count:,} points, stride {trajectory.stride}")
    health = getattr(run, "health", None)
    if health is not None and hasattr(health, "snapshots"):
        parts.append(f"health {len(health.snapshots)} snapshots, every {health.every}")
    return "; ".join(parts)


def run_in_chunks(run: Run, steps: int, chunks: int, report: bool) -> float:
    """Step ``run`` ``steps`` times; print a table row per chunk if ``report``. Returns steps/s."""
    chunk = max(1, steps // chunks)
    done, elapsed = 0, 0.0
    while done < steps:
        todo = min(chunk, steps - done)
        start = time.perf_counter()
        stepped = run.step(todo)
        elapsed += time.perf_counter() - start
        if stepped != todo:
            raise RuntimeError(f"the run stopped after {done + stepped} steps: {run.message}")
        done += todo
        if report:
            rss = current_rss_mb()
            rss_text = "n/a" if rss is None else f"{rss:.1f}"
            print(f"| {done:,} | {rss_text} | {bounded_records(run)} |")
    return steps / elapsed


CHECKPOINT_EVERY = 100
CHECKPOINT_STEPS = 50_000
CHECKPOINT_AGES = (1_000, 50_000)
CHECKPOINT_WINDOW = 10_000


def checkpoint_costs(config: RunConfig) -> bool:
    """Pass 3: incremental checkpoints against full states as a run ages. True if the target is met."""
    run = Run(config)
    mark = None
    log: list[tuple[int, int, float]] = []  # (step, bytes, seconds) of each incremental checkpoint
    full: dict[int, tuple[int, float]] = {}
    while run.step_count < CHECKPOINT_STEPS:
        run.step(CHECKPOINT_EVERY)
        start = time.perf_counter()
        checkpoint = run.checkpoint(mark)
        seconds = time.perf_counter() - start
        mark = checkpoint.mark
        size = len(checkpoint.core) + sum(len(chunk) for chunk in checkpoint.logs.values())
        log.append((run.step_count, size, seconds))
        if run.step_count in CHECKPOINT_AGES:
            start = time.perf_counter()
            blob = run.to_bytes()
            full[run.step_count] = (len(blob), time.perf_counter() - start)
    print(f"Pass 3, checkpoints every {CHECKPOINT_EVERY} steps (incremental: core + new log chunks):\n")
    print("| age (steps) | this checkpoint | last 10,000 steps: mean bytes, median time | full to_bytes |")
    print("| --- | --- | --- | --- |")
    means = {}
    for age in CHECKPOINT_AGES:
        this = next(entry for entry in log if entry[0] == age)
        window = [entry for entry in log if age - CHECKPOINT_WINDOW < entry[0] <= age]
        mean_bytes = sum(entry[1] for entry in window) / len(window)
        median_ms = 1e3 * statistics.median(entry[2] for entry in window)
        means[age] = mean_bytes
        full_bytes, full_seconds = full[age]
        print(
            f"| {age:,} | {this[1] / 1024:.1f} KiB, {1e3 * this[2]:.2f} ms | {mean_bytes / 1024:.1f} KiB, "
            f"{median_ms:.2f} ms | {full_bytes / 1024:.1f} KiB, {1e3 * full_seconds:.2f} ms |"
        )
    met = means[CHECKPOINT_AGES[-1]] <= 1.1 * means[CHECKPOINT_AGES[0]]
    print(
        f"\n- target: mean bytes per checkpoint at {CHECKPOINT_AGES[-1]:,} steps <= 1.1x at "
        f"{CHECKPOINT_AGES[0]:,}: {'met' if met else 'MISSED'} "
        f"({means[CHECKPOINT_AGES[-1]] / means[CHECKPOINT_AGES[0]]:.2f}x)"
    )
    return met


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--chunks", type=int, default=10, help="progress rows in the untraced pass")
    parser.add_argument("--skip-tracemalloc", action="store_true", help="skip the traced pass")
    parser.add_argument("--checkpoints-only", action="store_true", help="only the checkpoint pass")
    args = parser.parse_args(argv)
    if args.checkpoints_only:
        return 0 if checkpoint_costs(playground_config()) else 1

    print("# Engine memory: a long run of the playground case\n")
    print(f"- date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M UTC}")
    print(f"- python {platform.python_version()}, numpy {np.__version__}, {platform.system()}")
    print(f"- load average (1, 5, 15 min) at start: {load_average()}")
    print(f"- steps: {args.steps:,}; case (a): 2-8-8-1 tanh, 500 points, batch 10, sgd, bce, metrics on")
    config = playground_config()
    baseline = current_rss_mb()
    print(f"- RSS after imports, before the run: {baseline:.1f} MB" if baseline else "- RSS: n/a")
    print()

    print("Pass 1, untraced:\n")
    print("| step | RSS now (MB) | bounded records |")
    print("| --- | --- | --- |")
    run = Run(config)
    rate = run_in_chunks(run, args.steps, args.chunks, report=True)
    peak_rss = peak_rss_mb()
    final_loss = run.metric_history.latest_row()[3]
    print()
    print(f"- steps/s: {rate:,.0f} (metrics on, {args.steps:,} steps); final train loss {final_loss:.4f}")
    print(f"- peak RSS (ru_maxrss, whole process): {peak_rss:.1f} MB")
    del run

    traced_peak = None
    if not args.skip_tracemalloc:
        print("\nPass 2, under tracemalloc (a fresh run of the same length):\n")
        tracemalloc.start()
        run = Run(config)
        traced_rate = run_in_chunks(run, args.steps, 1, report=False)
        current, traced_peak_bytes = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        traced_peak = traced_peak_bytes / MB
        print(f"- tracemalloc peak of Python/numpy allocations: {traced_peak:.1f} MB")
        print(f"- still allocated at the end: {current / MB:.1f} MB; {bounded_records(run)}")
        print(f"- steps/s under tracing: {traced_rate:,.0f} (tracing overhead, not the engine's speed)")

    verdict = "met" if peak_rss < TARGET_MB else "MISSED"
    print(f"\n- target: peak memory < {TARGET_MB:.0f} MB: {verdict} (peak RSS {peak_rss:.1f} MB", end="")
    print(")" if traced_peak is None else f", traced peak {traced_peak:.1f} MB)")
    print()
    checkpoints_met = checkpoint_costs(config)
    print(f"- load average at end: {load_average()}")
    return 0 if peak_rss < TARGET_MB and checkpoints_met else 1


if __name__ == "__main__":
    raise SystemExit(main())
