"""Batch screening: many intakes, one report (or error record) each, in input order.

Worker processes each load the rulebook and build their engine once, then screen chunks of
lines; the parent keeps a bounded window of chunks in flight so memory stays flat however
long the input is, and yields results strictly in input order. A bad line never stops the
batch: it becomes an error record (the message names fields, never answers). If a worker
process dies, the lines of its chunk become error records (fail closed) and the pool is rebuilt
for the rest.

Every input line gives exactly one output record, with its line number, so no report can be
paired with the wrong person: ``{"line": n, "report": {...}}`` or ``{"line": n, "error": "...",
"kind": "intake" | "engine" | "blank"}``. The command line ends with one more record saying
whether the run is complete: ``{"batch": "complete" | "incomplete", "lines": ..., ...}``.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, TypeAlias

from ..errors import EngineError, ScreeningError
from ..report.model import Report

if TYPE_CHECKING:
    from ..engines.engine import EngineName
    from ..rulebook.loading import Rulebook

__all__ = ["screen_many", "BatchError", "CHUNK"]

CHUNK = 64  # intakes per task: large enough to hide inter-process overhead, small enough to stream
ErrorKind: TypeAlias = Literal["intake", "blank", "engine"]


class Line(NamedTuple):
    """One output record of the JSON path, worked out in the worker so that the parent never
    parses a report again: its text, "report" or the error kind, and the report's highest
    severity (SEVERITY_ORDER; -1 without flags or for an error)."""

    text: str
    kind: Literal["report", "intake", "blank", "engine"]
    top: int = -1


@dataclass(frozen=True)
class BatchError:
    """One input that produced no report: its 1-based line (or item) number, why, and what
    kind of failure: 'intake' (the line is not a valid intake), 'blank' (an empty line) or
    'engine' (the screening itself failed and failed closed)."""

    line: int
    error: str
    kind: ErrorKind = "intake"

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "error": self.error, "kind": self.kind}

    def to_json(self) -> str:
        return json.dumps(self.to_dict())


# ------------------------------------------------------------------------- worker side

Item: TypeAlias = Mapping[str, Any] | str | bytes
Result: TypeAlias = Report | BatchError | Line
_WORKER: dict[str, Any] = {}


def _init(
    rules: str | None, engine: EngineName, today: dt.date | None, program: str | None = None, loaded: Rulebook | None = None
) -> None:
    """Build the rulebook (compiled for the program) and engine once per process (also used in-process for jobs=1).

    ``loaded``: the rulebook the parent already read and checked, used rather than reading a
    rules folder again (a second or so from YAML).
    """
    from ..engines import engine as engine_module

    if multiprocessing.parent_process() is not None:
        # Ctrl-C reaches the whole process group: the parent alone stops the run, tidily
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        engine_module.forget_engines()  # a forked child must not share the parent's engine state
    _, book = _ready(rules, engine, program, loaded)
    _WORKER.update(book=book, engine=engine, today=today)


def _error(error: BatchError, as_json: bool) -> Result:
    return Line(error.to_json(), error.kind) if as_json else error


def _one(number: int, item: Item, as_json: bool) -> Result:
    from ..rulebook.loading import SEVERITY_ORDER
    from .screener import _screen, parse_intake, parse_intake_text

    if isinstance(item, (str, bytes)) and not item.strip():
        return _error(BatchError(number, "a blank line: no intake to screen", "blank"), as_json)
    try:
        if isinstance(item, (str, bytes)):
            raw = item.encode("utf-8") if isinstance(item, str) else item
            intake = parse_intake_text(raw, f"line {number}", today=_WORKER["today"])
        else:
            intake = parse_intake(item, f"item {number}", today=_WORKER["today"])
        # the report and its compact JSON from one serialisation (the one its id is computed over)
        report, text = _screen(intake, _WORKER["book"], _WORKER["engine"], _WORKER["today"], None)
    except EngineError as error:
        return _error(BatchError(number, str(error), "engine"), as_json)
    except ScreeningError as error:
        return _error(BatchError(number, str(error)), as_json)
    except Exception as error:  # anything else still fails closed for this line only  # noqa: BLE001
        return _error(BatchError(number, f"screening failed ({type(error).__name__}); no report was produced", "engine"), as_json)
    if not as_json:
        return report
    top = max((SEVERITY_ORDER[flag.severity] for flag in report.flags), default=-1)
    return Line(f'{{"line": {number}, "report": {text.decode("utf-8")}}}', "report", top)


def _chunk(items: list[tuple[int, Item]], as_json: bool) -> list[Result]:
    return [_one(number, item, as_json) for number, item in items]


# ------------------------------------------------------------------------- parent side


class _Args(NamedTuple):
    """What each worker's :func:`_init` is given."""

    rules: str | None
    engine: EngineName
    today: dt.date | None
    program: str | None
    loaded: Rulebook | None


_Pending: TypeAlias = collections.deque[tuple[list[tuple[int, Item]], "Future[list[Result]]"]]


def _numbered(items: Iterable[Item]) -> Iterator[tuple[int, Item]]:
    """Number the inputs from 1 (a blank line too: it gets a record saying so)."""
    return enumerate(items, 1)


def _chunks(items: Iterable[Item], size: int) -> Iterator[list[tuple[int, Item]]]:
    chunk: list[tuple[int, Item]] = []
    for pair in _numbered(items):
        chunk.append(pair)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _pool(jobs: int, args: _Args) -> ProcessPoolExecutor:
    # fork starts workers in milliseconds and hands them the parent's rulebook as it is; the
    # initializer discards any inherited engine. A spawned worker reads the rules itself.
    fork = sys.platform.startswith("linux")
    context = multiprocessing.get_context("fork" if fork else "spawn")
    initargs = args if fork else args._replace(loaded=None)
    return ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_init, initargs=initargs)


def _ready(
    rules: str | Path | None, engine: EngineName, program: str | None, loaded: Rulebook | None = None
) -> tuple[Rulebook, Rulebook]:
    """The rulebook as read (``loaded``, or from ``rules``) and compiled for the program, its
    engine built. In the parent first: a broken rules folder, an unknown program or an engine
    that cannot run fails there, once and with its own message, before any worker starts."""
    from ..engines import engine as engine_module
    from ..rulebook import loading as rulebook
    from ..rulebook import programs

    if loaded is None:
        loaded = rulebook.load(rules) if rules else rulebook.default()
    book, _ = programs.resolve(loaded, program)
    engine_module.get_engine(book, engine)
    return loaded, book


def screened_lines(
    items: Iterable[Item],
    jobs: int | None,
    rules: str | Path | None,
    engine: EngineName,
    today: dt.date | None,
    as_json: bool,
    chunk: int = CHUNK,
    program: str | None = None,
) -> Iterator[Result]:
    """One result per item, in input order: Line records when ``as_json``, else a Report or a
    BatchError. Workers keep their engines; the parent keeps a bounded window of chunks."""
    jobs = bounded_jobs(jobs)
    args = _Args(str(rules) if rules else None, engine, today, program, _ready(rules, engine, program)[0])
    if jobs == 1:
        _init(*args)
        for number, item in _numbered(items):
            yield _one(number, item, as_json)
        return

    window = jobs * 4
    pending: _Pending = collections.deque()
    source = _chunks(items, chunk)
    pool = _pool(jobs, args)
    try:
        for part in source:
            pending.append((part, pool.submit(_chunk, part, as_json)))
            while len(pending) >= window:
                part_done, future = pending.popleft()
                results, pool = _collect(part_done, future, pool, pending, jobs, args, as_json)
                yield from results
        while pending:
            part_done, future = pending.popleft()
            results, pool = _collect(part_done, future, pool, pending, jobs, args, as_json)
            yield from results
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _collect(
    part: list[tuple[int, Item]],
    future: Future[list[Result]],
    pool: ProcessPoolExecutor,
    pending: _Pending,
    jobs: int,
    args: _Args,
    as_json: bool,
) -> tuple[list[Result], ProcessPoolExecutor]:
    """A chunk's results; if its worker died, error records for its lines and a fresh pool."""
    try:
        return future.result(), pool
    except BrokenProcessPool:
        why = "worker process stopped"
        pool.shutdown(wait=False, cancel_futures=True)
        pool = _pool(jobs, args)
        # the chunks still queued were lost with the pool: send them again, in order
        for i, (queued, _) in enumerate(list(pending)):
            pending[i] = (queued, pool.submit(_chunk, queued, as_json))
    except Exception as error:  # noqa: BLE001 (the chunk's lines fail closed, the batch goes on)
        why = type(error).__name__
    return [_failed(number, why, as_json) for number, _ in part], pool


def _failed(number: int, why: str, as_json: bool) -> Result:
    return _error(BatchError(number, f"the screening process failed ({why}); no report was produced", "engine"), as_json)


def bounded_jobs(jobs: int | None) -> int:
    """Worker processes: default all cores, never more than the machine has (each one holds
    its own engines, some 20 MB), never fewer than one."""
    cores = os.cpu_count() or 1
    if jobs is None:
        return cores
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a whole number from 1 to {cores}; got {jobs!r}")
    return min(jobs, cores)


def screen_many(
    intakes: Iterable[Mapping[str, Any] | str | bytes],
    jobs: int | None = None,
    *,
    rules: str | Path | None = None,
    engine: EngineName = "auto",
    today: dt.date | None = None,
    program: str | None = None,
) -> Iterator[Report | BatchError]:
    """Screen many intakes on all cores; yields a Report or a BatchError for each, in order.

    Items are intake mappings or JSON/YAML text (one JSONL line each); every item gives exactly
    one result, a blank line a BatchError of kind 'blank'. ``jobs`` is the number of worker
    processes (default: all cores, at most as many as the machine has; 1 screens in this
    process). ``rules`` is a rules folder instead of the shipped rulebook; ``program`` a
    program in its programs/ folder. Errors carry the item's 1-based number.
    """
    for result in screened_lines(intakes, jobs, rules, engine, today, as_json=False, program=program):
        if isinstance(result, Line):  # never: as_json is off
            raise TypeError("a JSON record where a report was expected")
        yield result


class _Progress:
    """A one-line progress display on stderr, only when stderr is a terminal."""

    def __init__(self) -> None:
        self.on = sys.stderr.isatty()
        self.start = time.perf_counter()
        self.done = self.errors = 0
        self.shown = 0.0

    def step(self, error: bool) -> None:
        self.done += 1
        self.errors += error
        now = time.perf_counter()
        if self.on and now - self.shown > 0.2:
            self.shown = now
            rate = self.done / max(now - self.start, 1e-9)
            sys.stderr.write(f"\rscreened {self.done:,} ({self.errors:,} errors) {rate:,.0f}/s ")
            sys.stderr.flush()

    def close(self) -> None:
        if self.on:
            self.shown = 0.0
            self.step(False)
            self.done -= 1
            sys.stderr.write("\n")


def run_cli(args: Any) -> int:
    """``screening screen --batch FILE [--jobs N]``: JSON lines out, in input order, one per
    input line, then a last record saying whether the run is complete.

    Exit 0; 1 with --fail-on when a report has a flag at or above it; 3 when any line was not a
    valid intake; 4 when any screening failed in the engine (each after every other line was
    screened); 130 when interrupted (Ctrl-C), after a last record saying the run is incomplete.
    """
    from ..rulebook.loading import SEVERITY_ORDER

    threshold = SEVERITY_ORDER[args.fail_on] if args.fail_on else None
    if args.batch == "-":
        source: Any = sys.stdin.buffer
    else:
        try:
            source = open(args.batch, "rb")  # noqa: SIM115
        except OSError as error:
            print(f"screening: cannot read {args.batch}: {error.strerror or type(error).__name__}", file=sys.stderr)
            return 2
    progress = _Progress()
    counts = {"lines": 0, "reports": 0, "intake": 0, "blank": 0, "engine": 0}
    flagged = 0
    interrupted = False
    try:
        for line in screened_lines(source, args.jobs, args.rules, args.engine, args.today, as_json=True, program=args.program):
            if not isinstance(line, Line):  # never: as_json is on
                raise TypeError("a report where a JSON record was expected")
            counts["lines"] += 1
            counts["reports" if line.kind == "report" else line.kind] += 1
            if threshold is not None and line.top >= threshold:
                flagged += 1
            progress.step(line.kind != "report")
            sys.stdout.write(line.text + "\n")
    except KeyboardInterrupt:
        interrupted = True
    except OSError as error:  # a folder given as the batch file, a read error mid-way
        print(f"screening: cannot read {args.batch}: {error.strerror or type(error).__name__}", file=sys.stderr)
        return 2
    finally:
        progress.close()
        if source is not sys.stdin.buffer:
            source.close()
    summary = {
        "batch": "incomplete" if interrupted else "complete",
        "lines": counts["lines"],
        "reports": counts["reports"],
        "invalid": counts["intake"],
        "blank": counts["blank"],
        "engine_failures": counts["engine"],
    }
    sys.stdout.write(json.dumps(summary) + "\n")
    sys.stdout.flush()
    if interrupted:
        print(f"screening: interrupted after {counts['lines']} line(s); the output is incomplete", file=sys.stderr)
        return 130
    failed = counts["intake"]  # a blank line is recorded, but is no intake that failed
    if counts["engine"]:
        print(
            f"screening: {counts['engine']} screening(s) failed in the engine and produced no report; see their error records",
            file=sys.stderr,
        )
        return 4
    if failed:
        print(f"screening: {failed} line(s) could not be screened; see their error records", file=sys.stderr)
        return 3
    return 1 if flagged else 0
