"""Screen many generated intakes in one process and print resident memory as it goes.

Resident memory should stay flat: the engine keeps no state per screening, and durable_rules
sessions are deleted after each one. Run: .venv/bin/python benchmarks/memory.py [COUNT] [ENGINE]
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from strategies import TODAY, random_intake

from screening import screen
from screening.engines.engine import durable_available


def rss_mb() -> float:
    """VmRSS from /proc/self/status, in MiB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    engine = sys.argv[2] if len(sys.argv) > 2 else ("durable" if durable_available() else "python")
    rng = random.Random(100)
    pool = [random_intake(rng) for _ in range(1000)]  # varied intakes, generated once
    screen(pool[0], engine=engine, today=TODAY)  # build the engine before the first reading
    print(f"engine {engine}; before: {rss_mb():.1f} MiB", flush=True)
    started = time.perf_counter()
    flags = 0
    for n in range(1, count + 1):
        flags += len(screen(pool[n % len(pool)], engine=engine, today=TODAY).flags)
        if n % 10_000 == 0:
            print(f"{n:>7} screened  {rss_mb():7.1f} MiB  {time.perf_counter() - started:6.1f} s", flush=True)
    print(f"after: {rss_mb():.1f} MiB; {flags} flags in all")


if __name__ == "__main__":
    main()
