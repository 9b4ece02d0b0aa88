"""Decisions-store throughput and latency: one writer, then 8 threads, on SQLite and (with
SCREENING_TEST_POSTGRES_URL or --postgres URL) PostgreSQL; and the cost of the report binding.

    .venv/bin/python benchmarks/store.py [--n 500] [--postgres URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from screening import screen
from screening.decisions.model import make_decision
from screening.decisions.store import open_store
from screening.pipeline.screener import parse_intake
from screening.report.model import compute_report_id, intake_sha256


def _decision(report, i, name):
    flag = report.flags[i % len(report.flags)]
    return make_decision(
        report_id=report.report_id,
        rule_id=flag.rule_id,
        participant=flag.participant,
        outcome="noted",
        reviewer=name,
        note=str(i),
    )


def _one_writer(store, report, n):
    times = []
    for i in range(n):
        start = time.perf_counter()
        store.record_decision(_decision(report, i, "bench"))
        times.append(time.perf_counter() - start)
    return times


def _threads(store, report, n, count=8):
    def write(t):
        for i in range(n):
            store.record_decision(_decision(report, i, f"t{t}"))

    threads = [threading.Thread(target=write, args=(t,)) for t in range(count)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start


def _row(name, store, report, n):
    store.add_report(report)
    times = _one_writer(store, report, n)
    elapsed = _threads(store, report, n // 4)
    start = time.perf_counter()
    result = store.verify()
    verify_s = time.perf_counter() - start
    ms = sorted(t * 1000 for t in times)
    print(
        f"| {name} | {statistics.median(ms):.1f} / {ms[int(len(ms) * 0.99) - 1]:.1f} | {n / sum(times):,.0f} "
        f"| {8 * (n // 4) / elapsed:,.0f} | {result.records:,} in {verify_s:.2f} s |"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--postgres", default=os.environ.get("SCREENING_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    intake = parse_intake(yaml.safe_load((ROOT / "examples" / "duo-mdma.yaml").read_text()))
    report = screen(intake, today=dt.date(2026, 11, 20))
    for label, fn in (
        ("screen() (all of it)", lambda: screen(intake, today=dt.date(2026, 11, 20))),
        ("intake_sha256", lambda: intake_sha256(intake)),
        ("report_id", lambda: compute_report_id(report)),
    ):
        times = []
        for _ in range(300):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        print(f"{label} of the example duo, median: {statistics.median(times) * 1e6:,.0f} µs")
    print()
    print("| store | one writer, ms per decision, median / p99 | one writer, decisions/s | 8 threads, decisions/s | verify |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder, open_store(str(Path(folder) / "bench.sqlite")) as store:
        _row("SQLite file (WAL, synchronous=FULL)", store, report, args.n)
    if args.postgres:
        import psycopg

        name = "bench_" + uuid.uuid4().hex[:8]
        with psycopg.connect(args.postgres, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            with open_store(args.postgres.rpartition("/")[0] + "/" + name) as store:
                _row("PostgreSQL on 127.0.0.1", store, report, args.n)
        finally:
            with psycopg.connect(args.postgres, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    else:
        print("(PostgreSQL not measured: no URL)")


if __name__ == "__main__":
    main()
