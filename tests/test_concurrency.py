"""Screening from many threads or processes at once gives exactly the results of screening one
by one: no crash, no cross-talk between screenings, and no per-screening state left behind."""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest
from strategies import TODAY, random_intake

from screening import screen
from screening.engines.engine import durable_available, get_engine
from screening.rulebook import loading as rulebook

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


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_child_forked_while_other_threads_screen_can_screen_itself():
    """The engine lock and engines are process-wide: a fork taken while another thread holds
    the lock must not leave the child deadlocked (os.register_at_fork resets them)."""
    cases = _cases(50, seed=31)
    expected = _result(cases[0], "auto")
    get_engine(rulebook.default(), "auto")
    stop = threading.Event()

    def busy() -> None:
        while not stop.is_set():
            for intake in cases:
                _result(intake, "auto")

    threads = [threading.Thread(target=busy) for _ in range(3)]
    for thread in threads:
        thread.start()
    time.sleep(0.2)
    results = []
    try:
        for _ in range(5):
            read, write = os.pipe()
            pid = os.fork()
            if pid == 0:  # the child: screen once and report through the pipe
                try:
                    os.write(write, _result(cases[0], "auto").encode())
                finally:
                    os._exit(0)
            os.close(write)
            deadline = time.monotonic() + 30
            while True:
                done, _status = os.waitpid(pid, os.WNOHANG)
                if done or time.monotonic() > deadline:
                    break
                time.sleep(0.01)
            if not done:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            with os.fdopen(read, "rb") as pipe:
                results.append(pipe.read().decode())
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert results == [expected] * 5
