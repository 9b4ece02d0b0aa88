"""Screening from many threads or processes at once gives exactly the results of screening one
by one: no crash, no cross-talk between screenings, and no per-screening state left behind."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest

from screening import rulebook, screen
from screening.engine import durable_available, get_engine

from strategies import TODAY, random_intake

needs_durable = pytest.mark.skipif(not durable_available(), reason="durable_rules does not import here")
THREADS = 8
PER_THREAD = 200  # 1,600 screenings at once, and 1,600 one by one


def _result(intake: dict, engine: str) -> str:
    """Everything a user sees, engine name aside: the report's JSON."""
    return screen(intake, engine=engine, today=TODAY).to_json()


def _cases(count: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    return [random_intake(rng) for _ in range(count)]


@needs_durable
def test_eight_threads_screening_different_intakes_get_exactly_the_serial_results():
    cases = _cases(THREADS * PER_THREAD, seed=8)
    expected = [_result(intake, "durable") for intake in cases]
    barrier = threading.Barrier(THREADS)

    def work(start: int) -> list[tuple[int, str]]:
        barrier.wait()  # all threads start together
        return [(i, _result(cases[i], "durable")) for i in range(start, len(cases), THREADS)]

    with ThreadPoolExecutor(THREADS) as pool:
        done = [pair for chunk in pool.map(work, range(THREADS)) for pair in chunk]
    assert len(done) == len(cases)
    mismatched = [i for i, got in done if got != expected[i]]
    assert not mismatched, f"{len(mismatched)} screenings differ from the serial run, first {mismatched[:5]}"
    engine = get_engine(rulebook.default(), "durable")
    assert engine._results == {} and engine._errors == {}


def test_eight_threads_with_the_python_engine_match_the_serial_results():
    cases = _cases(800, seed=9)
    expected = [_result(intake, "python") for intake in cases]
    with ThreadPoolExecutor(THREADS) as pool:
        got = list(pool.map(lambda intake: _result(intake, "python"), cases))
    assert got == expected


def _screen_chunk(args: tuple[int, int, str]) -> list[str]:
    seed, count, engine = args
    return [_result(intake, engine) for intake in _cases(count, seed)]


def test_two_worker_processes_give_the_serial_results():
    engine = "durable" if durable_available() else "python"
    jobs = [(seed, 150, engine) for seed in (21, 22, 23, 24)]
    expected = [_screen_chunk(job) for job in jobs]
    with ProcessPoolExecutor(2) as pool:
        got = list(pool.map(_screen_chunk, jobs))
    assert got == expected
