"""Soak (issue 13): a server left playing for half an hour must not grow or slow down as its runs age.

    python bench/bench_soak.py [--minutes 30] [--runs 20] [--warmup 0.2]

20 runs play, each watched by one WebSocket client at 30 fps asking for params (as the dashboard does);
checkpoints at the default interval. Every sample window the script records the resident memory of the
server (the web process and its trainers), frames per client per second, total training steps per
second and the bytes the server wrote to disk per second. After the warm-up (a share of the run), the
first third of the remaining samples is compared with the last third — each side is measured in the same
run, so a busy machine moves both:

- RSS flat: last-third median <= first-third median x 1.10 + 20 MB;
- frames per client steady: last >= 0.9x first;
- steps/s steady: last >= 0.8x first (runs that are older must not train slower: checkpoints whose cost
  grows with a run's age would show here);
- disk writes: the last third's <= 1.5x the first tenth's + 1 MB/s, warm-up included: runs a few seconds
  old against the same runs half an hour old (checkpoints that rewrite a growing run would show here).

Prints a markdown table (and every sample with --verbose) and exits non-zero when a target is missed.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from live_harness import Crowd, Server, Watcher, descendants, server, steps


@dataclass(frozen=True)
class Sample:
    minute: float
    rss_mb: float
    frames_per_client: float
    steps_per_second: float
    written_mb_per_second: float


def written_bytes(srv: Server) -> int:
    """Bytes the server's processes caused to be written to storage so far (/proc/<pid>/io)."""
    total = 0
    for pid in [srv.pid, *descendants(srv.pid)]:
        with contextlib.suppress(OSError, ValueError):
            for line in Path(f"/proc/{pid}/io").read_text().splitlines():
                if line.startswith("write_bytes:"):
                    total += int(line.split()[1])
    return total


def playing_runs(url: str, count: int) -> list[str]:
    """``count`` runs of one identity (its token changes them), all playing."""
    with httpx.Client(base_url=url, timeout=60) as http:
        token = http.post("/api/identities").json()["token"]
        http.headers["Authorization"] = f"Bearer {token}"
        ids = [http.post("/api/runs", json={"seed": seed}).json()["id"] for seed in range(count)]
        for run_id in ids:
            http.post(f"/api/runs/{run_id}/play").raise_for_status()
    return ids


def soak(minutes: float, runs: int, window: float, verbose: bool) -> list[Sample]:
    samples: list[Sample] = []
    with server() as srv:
        ids = playing_runs(srv.url, runs)
        watchers = [Watcher(srv.url, run_id) for run_id in ids]
        with Crowd(watchers) as crowd:
            crowd.count(True)
            started = time.monotonic()
            end = started + 60 * minutes
            while time.monotonic() + window <= end + 1e-6:
                frames, stepped, written = (
                    sum(w.frames for w in watchers),
                    steps(srv.url, ids),
                    written_bytes(srv),
                )
                window_start = time.monotonic()
                time.sleep(window)
                elapsed = time.monotonic() - window_start
                sample = Sample(
                    minute=(time.monotonic() - started) / 60,
                    rss_mb=srv.rss_mb(),
                    frames_per_client=(sum(w.frames for w in watchers) - frames) / len(watchers) / elapsed,
                    steps_per_second=(steps(srv.url, ids) - stepped) / elapsed,
                    written_mb_per_second=(written_bytes(srv) - written) / elapsed / 1e6,
                )
                samples.append(sample)
                if verbose:
                    print(
                        f"{sample.minute:6.1f} min  RSS {sample.rss_mb:7.1f} MB  "
                        f"{sample.frames_per_client:5.1f} frames/s per client  "
                        f"{sample.steps_per_second:9,.0f} steps/s  {sample.written_mb_per_second:6.2f} MB/s written",
                        flush=True,
                    )
    return samples


def judge(samples: list[Sample], warmup: float) -> list[tuple[str, str, str, bool]]:
    kept = [sample for sample in samples if sample.minute > warmup * samples[-1].minute]
    third = max(1, len(kept) // 3)
    first, last = kept[:third], kept[-third:]
    young = samples[: max(1, len(samples) // 10)]

    def median(part: list[Sample], name: str) -> float:
        return statistics.median(getattr(sample, name) for sample in part)

    rss = median(first, "rss_mb"), median(last, "rss_mb")
    fps = median(first, "frames_per_client"), median(last, "frames_per_client")
    rate = median(first, "steps_per_second"), median(last, "steps_per_second")
    disk = median(young, "written_mb_per_second"), median(last, "written_mb_per_second")
    return [
        (
            "RSS of the server, first vs last third after warm-up",
            f"{rss[0]:.0f} MB -> {rss[1]:.0f} MB",
            "<= 1.10x + 20 MB",
            rss[1] <= 1.10 * rss[0] + 20,
        ),
        (
            "frames/s per client",
            f"{fps[0]:.1f} -> {fps[1]:.1f} = {fps[1] / fps[0]:.2f}x",
            ">= 0.9x",
            fps[1] >= 0.9 * fps[0],
        ),
        (
            "total training steps/s",
            f"{rate[0]:,.0f} -> {rate[1]:,.0f} = {rate[1] / rate[0]:.2f}x",
            ">= 0.8x",
            rate[1] >= 0.8 * rate[0],
        ),
        (
            "disk writes (checkpoints), young runs vs the last third",
            f"{disk[0]:.2f} -> {disk[1]:.2f} MB/s",
            "<= 1.5x + 1 MB/s",
            disk[1] <= 1.5 * disk[0] + 1,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="how long to soak (default 30)")
    parser.add_argument("--runs", type=int, default=20, help="playing runs, one watcher each (default 20)")
    parser.add_argument("--warmup", type=float, default=0.2, help="share of the soak left out (default 0.2)")
    parser.add_argument("--window", type=float, help="seconds per sample (default: minutes*2, 5..30)")
    parser.add_argument("--verbose", action="store_true", help="print every sample")
    args = parser.parse_args()
    window = args.window or min(30.0, max(5.0, args.minutes * 2))
    samples = soak(args.minutes, args.runs, window, args.verbose)
    if len(samples) < 4:
        sys.exit(f"only {len(samples)} samples: soak longer or use a shorter --window")
    rows = judge(samples, args.warmup)
    print(
        f"\nSoak: {args.runs} playing runs x 1 client at 30 fps, {args.minutes:g} min, {len(samples)} samples\n"
    )
    print("| measure | result | target | |")
    print("| --- | --- | --- | --- |")
    for name, result, target, passed in rows:
        print(f"| {name} | {result} | {target} | {'pass' if passed else 'FAIL'} |")
    if not all(passed for *_, passed in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
