"""Benchmarks: durable_rules engine against the direct (python) evaluator, in the same run.

    .venv/bin/python benchmarks/run.py            # full run (a few minutes on 2 cores)
    .venv/bin/python benchmarks/run.py --quick    # smaller corpus and rulebooks, for a smoke check

Prints a Markdown table. Sections: per-screening latency (median, p99) for individuals and
duos on a seeded realistic corpus and a worst case, for ``screen()`` end to end, for
``screen_json()`` (the screening and its report's compact JSON, as batch output writes it) and
for ``engine.fire()`` alone; what the report contract alone costs (its hashes and JSON, whatever
builds the report) and durable_rules' fire(); scaling with synthetic rulebooks of 100 / 1,000 / 5,000 rules over
real intake fields; cold start in a fresh process; batch throughput on all cores; RSS.
Figures vary between runs and machines (up to ~2x on a shared VM).
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from screening import screen
from screening.engines import facts
from screening.engines.engine import durable_available, get_engine
from screening.pipeline.batch import screened_lines
from screening.pipeline.screener import _rules_json, asked_fields, parse_intake, screen_json
from screening.rulebook import loading as rulebook_module

SUBSTANCES = ["psilocybin", "mdma", "ketamine", "lsd", "ayahuasca", "dmt"]
TODAY = dt.date(2026, 11, 1)
# How people write medications: names the vocabulary knows, misspellings, and things it does not list.
WRITTEN = [
    "sertraline 50mg",
    "Zoloft",
    "Lexapro 10 mg",
    "fluoxetine",
    "lithium",
    "Lithobid 300mg",
    "ibuprofen",
    "vitamin D",
    "weed",
    "sertaline",
    "metoprolol 25mg",
    "birth control pill",
    "melatonin",
    "prozac 20",
    "paracetamol",
    "omeprazole",
    "adderall",
    "tramadol",
    "St John's wort",
    "levothyroxine",
]
TRI = ("yes", "no", "unknown")


# ------------------------------------------------------------------------- corpus


def _answer_paths(participant: dict, relationship: bool) -> list[tuple[str, str]]:
    sections = [s for s in participant if isinstance(participant[s], dict)]
    paths = [(s, k) for s in sections for k, v in participant[s].items() if v in TRI]
    if relationship:
        paths = [p for p in paths if p[0] != "relationship"]
    return paths


def _person(book, rng: random.Random, pid: str, duo: bool, changes: int, meds: int) -> dict:
    person = copy.deepcopy(book.baseline["participant"])
    person["participant_id"] = pid
    if duo:
        person["relationship"] = copy.deepcopy(book.baseline["relationship"])
    paths = [(s, k) for s in person if isinstance(person[s], dict) for k, v in person[s].items() if v in TRI]
    for section, key in rng.sample(paths, min(changes, len(paths))):
        old = person[section][key]
        person[section][key] = "unknown" if rng.random() < 0.25 else ("yes" if old == "no" else "no")
    if changes and rng.random() < 0.3:
        person["physical"]["systolic_bp"] = rng.randint(135, 175)
    person["person"]["age"] = rng.randint(21, 75)
    person["medications"] = []
    for name in rng.sample(WRITTEN, meds):
        if rng.random() < 0.7:
            person["medications"].append({"name": name, "status": "current"})
        else:
            last = TODAY - dt.timedelta(days=rng.randint(1, 90))
            person["medications"].append(
                {"name": name, "status": "stopped", "last_taken": last.isoformat(), "stopped_with_prescriber": rng.choice(TRI)}
            )
    return person


def _how_many(rng: random.Random) -> int:
    """Answers that differ from a no-findings intake: most people none or few, some many."""
    roll = rng.random()
    return 0 if roll < 0.5 else rng.randint(1, 2) if roll < 0.8 else rng.randint(3, 6) if roll < 0.95 else rng.randint(10, 30)


def corpus(book, n: int, duo: bool, seed: int = 1) -> list[dict]:
    rng = random.Random(seed * 2 + duo)
    intakes = []
    for _ in range(n):
        session = copy.deepcopy(book.baseline["session"])
        session.update(substance=rng.choice(SUBSTANCES), format="duo" if duo else "individual")
        people = [
            _person(book, rng, pid, duo, _how_many(rng), rng.choice([0, 0, 0, 1, 1, 2, 3, 5]))
            for pid in (["A", "B"] if duo else ["A"])
        ]
        intakes.append({"session": session, "participants": people})
    return intakes


def worst_case(book, duo: bool) -> dict:
    """Every answer turned away from the no-findings intake, and a long medication list."""
    session = copy.deepcopy(book.baseline["session"])
    session.update(substance="mdma", format="duo" if duo else "individual", sober_facilitators=0)
    people = []
    for pid in ["A", "B"] if duo else ["A"]:
        person = _person(book, random.Random(7), pid, duo, 0, len(WRITTEN))
        for section in person:
            if isinstance(person[section], dict):
                for key, value in person[section].items():
                    if value in TRI:
                        person[section][key] = "yes" if value == "no" else "no" if value == "yes" else value
        person["physical"].update(systolic_bp=180, diastolic_bp=110)
        people.append(person)
    return {"session": session, "participants": people}


# ------------------------------------------------------------------------- measuring


def _stats(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered) * 1e6, ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1e6


def _fire_inputs(book, intake: dict):
    parsed = parse_intake(intake)
    substance, is_duo = parsed.session.substance.value, parsed.is_duo
    asked, _ = asked_fields(book, substance, is_duo)
    values = [pf.values for pf in facts.build(parsed, book.vocabulary, parsed.session.planned_date or TODAY, asked)]
    return values, substance, is_duo


def latency(
    book, intakes: list[dict], engines: list[str], rounds: int = 1, json_out: bool = False
) -> dict[str, dict[str, list[float]]]:
    """Per-intake times of screen() and engine.fire() (and, with ``json_out``, of screen_json():
    the screening with its report's compact JSON, as batch output writes it); engines
    interleaved intake by intake."""
    times = {e: {"screen": [], "fire": [], "screen_json": []} for e in engines}
    runners = {e: get_engine(book, e) for e in engines}
    inputs = [_fire_inputs(book, i) for i in intakes]
    for e in engines:  # warm each partition once
        for i in intakes[:50]:
            screen(i, rulebook=book, engine=e, today=TODAY)
    for _ in range(rounds):
        for intake, (values, substance, is_duo) in zip(intakes, inputs):
            for e in engines:
                t = time.perf_counter()
                screen(intake, rulebook=book, engine=e, today=TODAY)
                times[e]["screen"].append(time.perf_counter() - t)
                t = time.perf_counter()
                runners[e].fire(values, substance, is_duo)
                times[e]["fire"].append(time.perf_counter() - t)
                if json_out:
                    t = time.perf_counter()
                    screen_json(intake, rulebook=book, engine=e, today=TODAY)
                    times[e]["screen_json"].append(time.perf_counter() - t)
    return times


def _latency_row(label: str, measure: str, floor: float, blocks: dict[str, list[list[float]]]) -> str:
    """A row of the latency table: each engine's median (its quietest block's) and p99 (over all
    blocks), then each median over the floor."""
    cells = {e: (min(_stats(b)[0] for b in bs), _stats([t for b in bs for t in b])[1]) for e, bs in blocks.items()}
    return (
        f"| {label} | `{measure}()` | {floor:,.0f} | "
        + " | ".join(f"{median:,.0f} / {p99:,.0f}" for median, p99 in cells.values())
        + " | "
        + " | ".join(f"{median / floor:.1f}x" for median, _ in cells.values())
        + " |"
    )


def _forget(book) -> None:
    """Forget what screenings remember (a tree from before ``forget_remembered`` remembers nothing)."""
    from screening.pipeline import screener

    getattr(screener, "forget_remembered", lambda book: None)(book)


def first_time_latency(book, intake: dict, engines: list[str], count: int) -> dict[str, list[float]]:
    """screen() of an intake as if never seen: before each screening, everything remembered
    across screenings (flags, questions left open, medication readings) is forgotten."""
    times: dict[str, list[float]] = {e: [] for e in engines}
    for _ in range(count):
        for e in engines:
            _forget(book)
            t = time.perf_counter()
            screen(intake, rulebook=book, engine=e, today=TODAY)
            times[e].append(time.perf_counter() - t)
    return times


def program_latency(book, intakes: list[dict], engines: list[str], programs: list[str]) -> dict[tuple[str, str], list[float]]:
    """screen() per (program, engine). A process screens under one program, so each program is
    timed in its own block (engines interleaved intake by intake), the blocks run forwards and
    then backwards so that drift on a shared machine hits every program alike."""
    times: dict[tuple[str, str], list[float]] = {(p, e): [] for p in programs for e in engines}
    for p in programs:  # compile each program and warm each partition once
        for e in engines:
            for i in intakes[:50]:
                screen(i, rulebook=book, engine=e, today=TODAY, program=p)
    for p in programs + programs[::-1]:
        for i, intake in enumerate(intakes):
            for e in engines[i % len(engines) :] + engines[: i % len(engines)]:
                t = time.perf_counter()
                screen(intake, rulebook=book, engine=e, today=TODAY, program=p)
                times[(p, e)].append(time.perf_counter() - t)
    return times


def validation_times(intakes: list[dict]) -> list[float]:
    """The floor: validating each intake with pydantic, as screen() does first (seconds)."""
    from screening.intake.models import Intake

    times = []
    for intake in intakes:
        t = time.perf_counter()
        Intake.model_validate(intake)
        times.append(time.perf_counter() - t)
    return times


def contract_floor(book, intakes: list[dict], rounds: int) -> dict[str, float]:
    """What the report contract itself costs per intake (median µs, each its quietest block's),
    whatever builds the report: validating the intake (the floor the ratios divide by), the
    intake's hash, the report's JSON and its id (the rules' texts excluded, as ``screen()`` writes
    them once per rulebook), each participant's view id, and (apart) durable_rules' fire() and the
    facts both engines read. Each is timed on a report already screened: nothing else is built.
    The ids are defined over pydantic's compact JSON, so these are pydantic's serialisations."""
    import hashlib

    from screening.intake.models import Intake
    from screening.report.model import compact_json, fast_view_id, intake_sha256

    parsed = [Intake.model_validate(i) for i in intakes]
    reports = [screen(i, rulebook=book, engine="python", today=TODAY) for i in intakes]
    without_rules = [r.model_copy(update={"rules": {}}) for r in reports]
    rules_json = [_rules_json(book, list(r.rules)) for r in reports]  # written once per rulebook, as screen() does
    inputs = [_fire_inputs(book, i) for i in intakes]
    asked = [asked_fields(book, p.session.substance.value, p.is_duo)[0] for p in parsed]
    parts = {
        "validation": lambda k: Intake.model_validate(intakes[k]),
        "intake hash": lambda k: intake_sha256(parsed[k]),
        "report JSON and id": lambda k: hashlib.sha256(compact_json(without_rules[k]) + rules_json[k]).hexdigest(),
        "view ids": lambda k: [fast_view_id(reports[k], p) for p in reports[k].participants],
        "facts": lambda k: facts.build(parsed[k], book.vocabulary, parsed[k].session.planned_date or TODAY, asked[k]),
    }
    if durable_available():
        durable = get_engine(book, "durable")
        parts["durable_rules fire()"] = lambda k: durable.fire(*inputs[k])
    best: dict[str, float] = {}
    for _ in range(rounds):
        for name, part in parts.items():
            times = []
            for k in range(len(intakes)):
                t = time.perf_counter()
                part(k)
                times.append(time.perf_counter() - t)
            best[name] = min(best.get(name, float("inf")), _stats(times)[0])
    return best


def _floor_rows(label: str, best: dict[str, float]) -> list[str]:
    """Rows of the contract-floor table: each part over validation, and the sums the targets meet."""
    floor = best["validation"]
    fixed = sum(best[p] for p in ("validation", "intake hash", "report JSON and id", "view ids"))
    rows = [f"| {label} | {name} | {us:,.0f} | {us / floor:.2f}x |" for name, us in best.items()]
    rows.append(
        f"| {label} | **the contract alone** (validation, hashes, JSON, view ids) | {fixed:,.0f} | {fixed / floor:.2f}x |"
    )
    if "durable_rules fire()" in best:
        both = fixed + best["durable_rules fire()"] + best["facts"]
        rows.append(
            f"| {label} | **+ facts and durable_rules' fire()** (the cross-check's part) | {both:,.0f} | {both / floor:.2f}x |"
        )
    return rows


def check_agree(book, intakes: list[dict]) -> int:
    """Intakes on which the two engines fire different rules (should be 0)."""
    d, p = get_engine(book, "durable"), get_engine(book, "python")
    return sum(d.fire(*args) != p.fire(*args) for args in (_fire_inputs(book, i) for i in intakes))


def _rss_kb(key: str = "VmRSS") -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


# ------------------------------------------------------------------------- synthetic rulebooks


def synthetic_rules(book, count: int, folder: Path, seed: int = 3) -> Path:
    """A rules folder with `count` generated rules over real answer and number fields.

    Each rule reads one to three fields in the shapes the real rules use (is / in / any / all /
    a threshold), for a random subset of substances; about a tenth are pair rules. The
    baseline intake fires none of them, so examples and scaling stay comparable.
    """
    rng = random.Random(seed)
    root = folder / f"rules-{count}"
    if root.exists():
        shutil.rmtree(root)
    source = rulebook_module.default_rules_dir() if book is None else Path(book.root)
    root.mkdir(parents=True)
    shutil.copy(source / "rulebook.yaml", root)
    shutil.copy(source / "baseline.yaml", root)
    shutil.copytree(source / "vocabularies", root / "vocabularies")
    base = rulebook_module.default().baseline if book is None else book.baseline
    answers = [
        (s, k, v) for s, d in base["participant"].items() if isinstance(d, dict) for k, v in d.items() if v in ("yes", "no")
    ]
    relationship = [("relationship", k, v) for k, v in base["relationship"].items() if v in ("yes", "no")]
    numbers = [("physical", "systolic_bp", 140), ("physical", "diastolic_bp", 90), ("person", "age", 70)]
    (root / "other-medical").mkdir()

    def away(value: str) -> str:
        return "yes" if value == "no" else "no"

    def leaf(section: str, key: str, value: str) -> dict:
        field = f"{section}.{key}"
        return {"is": {field: away(value)}} if rng.random() < 0.6 else {"in": {field: [away(value), "unknown"]}}

    def answers_of(items) -> dict:
        changed: dict = {}
        for section, key, value in items:
            changed.setdefault(section, {})[key] = value
        return changed

    for n in range(count):
        pair = rng.random() < 0.1
        shape = rng.random()
        other = None
        if pair:
            s1, k1, v1 = rng.choice(relationship)
            s2, k2, v2 = rng.choice(answers)
            when = {"all": [{"is": {f"self.{s1}.{k1}": away(v1)}}, {"is": {f"other.{s2}.{k2}": away(v2)}}]}
            mine, other = answers_of([(s1, k1, away(v1))]), answers_of([(s2, k2, away(v2))])
        elif shape < 0.5:
            picked = rng.choice(answers)
            when, mine = leaf(*picked), answers_of([(picked[0], picked[1], away(picked[2]))])
        elif shape < 0.7:
            picked = rng.sample(answers, 2)
            when, mine = {"any": [leaf(*a) for a in picked]}, answers_of([(picked[0][0], picked[0][1], away(picked[0][2]))])
        elif shape < 0.9:
            picked = rng.sample(answers, rng.randint(2, 3))
            when, mine = {"all": [leaf(*a) for a in picked]}, answers_of([(a[0], a[1], away(a[2])) for a in picked])
        else:
            section, key, limit = rng.choice(numbers)
            limit += rng.randint(0, 30)
            when, mine = {"at_least": {f"{section}.{key}": limit}}, answers_of([(section, key, limit)])
        flag_example = {"name": "the answers it reads", "expect": "flag", "participant": mine}
        if other is not None:
            flag_example["other"] = other
        rule = {
            "id": f"synthetic.rule-{n}",
            "title": f"Synthetic rule {n}",
            "category": "other-medical",
            "status": "draft",
            "severity": rng.choice(["info", "warning", "critical"]),
            "applies_to": "pair" if pair else "participant",
            "substances": ["all"] if rng.random() < 0.5 else rng.sample(SUBSTANCES, rng.randint(1, 3)),
            "when": when,
            "summary": "A generated rule for benchmarks.",
            "participant_text": "One of your answers matched a generated benchmark rule.",
            "explanation": "Generated to measure how the engines scale.",
            "clinician_action": "Consider reviewing the answers.",
            "limitations": ["Not a clinical rule."],
            "references": [{"title": "Benchmark", "url": "https://example.org", "says": "Nothing clinical."}],
            "written": "2026-11-22",
            "examples": [flag_example, {"name": "no findings", "expect": "no-flag"}],
        }
        (root / "other-medical" / f"synthetic-{n}.yaml").write_text(json.dumps(rule))
    return root


# ------------------------------------------------------------------------- sections


COLD = r"""
import time, json, sys
t0 = time.perf_counter()
import screening
from screening import screen
from screening.rulebook import loading as rulebook
from screening.engines.engine import get_engine
t1 = time.perf_counter()
book = rulebook.load(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1] else rulebook.default()
t2 = time.perf_counter()
get_engine(book, sys.argv[2])
t3 = time.perf_counter()
intake = {"session": dict(book.baseline["session"], format="duo"), "participants": [
    dict(book.baseline["participant"], relationship=book.baseline["relationship"]),
    dict(book.baseline["participant"], participant_id="B", relationship=book.baseline["relationship"])]}
screen(intake, rulebook=book, engine=sys.argv[2])
t4 = time.perf_counter()
print(json.dumps([t1 - t0, t2 - t1, t3 - t2, t4 - t3]))
"""


def cold_start(rules: str | None, engine: str, runs: int, cache: bool = True) -> tuple[list[float], float]:
    """Median phase times inside a fresh process, and the median wall time of the whole process.
    With ``cache``, the validated-rulebook cache is filled first (as after any earlier run);
    without, every process validates the rulebook from YAML."""
    # as an installed wheel runs: its bytecode compiled (pip compiles it at install; a tree with
    # PYTHONDONTWRITEBYTECODE set would otherwise compile every module in every process)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(
        [sys.executable, "-c", "import screening.cli.commands, screening.pipeline.batch"],
        capture_output=True,
        env=env,
        check=True,
    )
    if not cache:
        env[rulebook_module.CACHE_ENV] = "off"
    else:
        subprocess.run([sys.executable, "-c", COLD, rules or "", engine], capture_output=True, env=env, check=True)
    phases, walls = [], []
    for _ in range(runs):
        t = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", COLD, rules or "", engine], capture_output=True, text=True, check=True, env=env
        )
        walls.append(time.perf_counter() - t)
        phases.append(json.loads(out.stdout))
    return [statistics.median(p[i] for p in phases) * 1e3 for i in range(4)], statistics.median(walls) * 1e3


def throughput(rules: str | None, intakes: list[dict], engine: str, jobs: int) -> tuple[float, float]:
    """Screenings per second through the batch path (JSON text in, JSON text out), and with pool start-up."""
    lines = [json.dumps(i) for i in intakes]
    for _ in screened_lines(lines[: jobs * 64], jobs, rules, engine, TODAY, as_json=True):
        pass  # warm the page cache and imports
    t = time.perf_counter()
    count = sum(1 for _ in screened_lines(lines, jobs, rules, engine, TODAY, as_json=True))
    return count / (time.perf_counter() - t), count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small corpus and rulebooks (about half a minute)")
    parser.add_argument("--rules", help="a rules folder instead of the shipped rulebook")
    parser.add_argument("--n", type=int, help="intakes per format in the latency corpus")
    parser.add_argument("--sizes", default=None, help="synthetic rulebook sizes, comma-separated (default 100,1000,5000)")
    parser.add_argument(
        "--rounds", type=int, help="alternating blocks of the floor and the latency timings (default 3; --quick 1)"
    )
    parser.add_argument(
        "--skip", default="", help="comma-separated sections to skip: latency,floor,programs,scaling,cold,batch,memory"
    )
    args = parser.parse_args()
    n = args.n or (200 if args.quick else 1000)
    args.rounds = args.rounds or (1 if args.quick else 3)
    sizes = [int(s) for s in (args.sizes or ("100,1000" if args.quick else "100,1000,5000")).split(",")]
    skip = set(args.skip.split(","))
    book = rulebook_module.load(args.rules) if args.rules else rulebook_module.default()
    engines = ["cross-check", "durable", "python"] if durable_available() else ["python"]
    rows: list[str] = []
    out = rows.append

    print(
        f"screening benchmarks: {len(book.active)} rules, {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
        f"corpus {n} individuals + {n} duos (seed 1)\n"
    )
    individuals, duos = corpus(book, n, False), corpus(book, n, True)
    if "durable" in engines:
        print(f"engines disagree on {check_agree(book, individuals + duos)} of {2 * n} corpus intakes\n")

    if "latency" not in skip:
        # the default engine (cross-check), each engine alone, and the floor: validating the
        # same intake with pydantic, which every screening does first
        names = [e for e in ("cross-check", "durable", "python") if e in engines]
        out(
            "| workload | measure | validation floor (µs) | "
            + " | ".join(f"{e} median / p99 (µs)" for e in names)
            + " | "
            + " | ".join(f"{e} / floor" for e in names)
            + " |"
        )
        out("|---|---|---|" + "---|" * (2 * len(names)))
        cases = [
            ("individual, corpus", individuals),
            ("duo, corpus", duos),
            ("individual, worst case", [worst_case(book, False)] * 200),
            ("duo, worst case", [worst_case(book, True)] * 200),
        ]
        for label, intakes in cases:
            # blocks of the floor and of the screenings alternate; each median is its quietest
            # block's, so a busy moment of a shared machine moves neither side alone
            floors, blocks = [], []
            for _ in range(args.rounds):
                floors.append(_stats(validation_times(intakes))[0])
                blocks.append(latency(book, intakes, names, json_out=True))
            for measure in ("screen", "screen_json", "fire"):
                out(_latency_row(label, measure, min(floors), {e: [b[e][measure] for b in blocks] for e in names}))
        worst = worst_case(book, True)
        floors, blocks = [], []
        for _ in range(args.rounds):
            floors.append(_stats(validation_times([worst] * 100))[0])
            blocks.append(first_time_latency(book, worst, names, 100))
        label = "duo, worst case, first time (nothing remembered)"
        out(_latency_row(label, "screen", min(floors), {e: [b[e] for b in blocks] for e in names}))
        print("\n".join(rows) + "\n")
        rows.clear()

    if "floor" not in skip:
        # what any report builder pays for the contract (ids over pydantic's JSON) and the engines
        out("| workload | part | median (µs) | over validation |")
        out("|---|---|---|---|")
        for label, intakes in (("duo, corpus", duos[: min(300, n)]), ("duo, worst case", [worst_case(book, True)] * 100)):
            rows.extend(_floor_rows(label, contract_floor(book, intakes, args.rounds)))
        print("\n".join(rows) + "\n")
        rows.clear()

    if "programs" not in skip:
        from screening.rulebook.programs import compile_program, load_programs, resolve

        fresh = rulebook_module.load(args.rules) if args.rules else rulebook_module.load()
        t = time.perf_counter()
        found = load_programs(fresh)
        loaded = (time.perf_counter() - t) * 1e3
        t = time.perf_counter()
        for program in found.values():
            compile_program(fresh, program)
        compiled = (time.perf_counter() - t) * 1e3 / len(found)
        print(
            f"programs: validate all {len(found)} (rules check) {loaded:,.0f} ms; compile one {compiled:,.1f} ms, once per rulebook\n"
        )
        modes = engines
        out(
            "| program | rules that run | "
            + " | ".join(f"{m} duo `screen()` median / p99 (µs)" for m in modes)
            + " | "
            + f"{modes[0]} median vs default |"
        )
        out("|---|---|" + "---|" * len(modes) + "---|")
        names = list(found)
        times = program_latency(book, duos[: min(300, n)], modes, names)
        base = _stats(times[("default", modes[0])])[0]
        for name in names:
            cells = [_stats(times[(name, m)]) for m in modes]
            compiled_book = resolve(book, name)[0]
            applicable = sum(r.applies("psilocybin", True) for r in compiled_book.active)
            rulesets = len(get_engine(compiled_book, "durable")._rulesets_for("psilocybin", True)) if "durable" in engines else 0
            out(
                f"| {name} | {len(compiled_book.active)} ({applicable} for a psilocybin duo, {rulesets} durable rulesets) | "
                + " | ".join(f"{c[0]:,.0f} / {c[1]:,.0f}" for c in cells)
                + f" | {cells[0][0] / base:.2f}x |"
            )
        print("\n".join(rows) + "\n")
        rows.clear()

    if "scaling" not in skip:
        out(
            "| synthetic rules | load+validate (ms) | durable compile (ms) | durable duo `screen()` median (µs) | python duo `screen()` median (µs) | ratio |"
        )
        out("|---|---|---|---|---|---|")
        with tempfile.TemporaryDirectory() as tmp:
            sample = duos[: min(200, n)]
            for size in sizes:
                root = synthetic_rules(book, size, Path(tmp))
                t = time.perf_counter()
                big = rulebook_module.load(root)
                loaded = (time.perf_counter() - t) * 1e3
                compiled, note = float("nan"), ""
                if "durable" in engines:
                    t = time.perf_counter()
                    try:
                        get_engine(big, "durable")
                        for s in SUBSTANCES:  # rulesets are built per (substance, format) on first use
                            for duo in (False, True):
                                get_engine(big, "durable")._rulesets_for(s, duo)
                        compiled = (time.perf_counter() - t) * 1e3
                    except Exception as error:  # noqa: BLE001 (durable_rules raises bare Exceptions: report which limit stopped it)
                        note = f" (durable failed: {type(error).__name__}: {str(error)[:80]})"
                usable = [e for e in engines if not (e in ("durable", "cross-check") and note)]
                times = latency(big, sample, usable)
                med = {e: statistics.median(times[e]["screen"]) * 1e6 for e in usable}
                d = med.get("durable", float("nan"))
                out(
                    f"| {size:,} | {loaded:,.0f} | {compiled:,.0f}{note} | {d:,.0f} | {med['python']:,.0f} | {d / med['python']:.1f}x |"
                )
                print(rows[-1], file=sys.stderr)
        print("\n".join(rows) + "\n")
        rows.clear()

    if "cold" not in skip:
        out(
            "| cold start, fresh process, shipped rulebook | rulebook cache | import (ms) | load+validate (ms) | compile (ms) | first duo screening (ms) | total in process (ms) | process wall incl. interpreter (ms) |"
        )
        out("|---|---|---|---|---|---|---|---|")
        for engine in engines:
            for cache in (True, False):
                phases, wall = cold_start(args.rules, engine, 3 if args.quick else 7, cache)
                out(
                    f"| {engine} | {'warm' if cache else 'off'} | "
                    + " | ".join(f"{p:,.0f}" for p in phases)
                    + f" | {sum(phases):,.0f} | {wall:,.0f} |"
                )
        print("\n".join(rows) + "\n")
        rows.clear()

    if "batch" not in skip:
        jobs = os.cpu_count() or 1
        out("| batch (`screen --batch` path, JSON in and out) | engine | jobs | screenings/s |")
        out("|---|---|---|---|")
        lots = duos * max(1, (4000 if args.quick else 20000) // len(duos))
        for engine in engines:
            for j in sorted({1, jobs}):
                rate, count = throughput(args.rules, lots, engine, j)
                out(f"| {count:,} duos | {engine} | {j} | {rate:,.0f} |")
        print("\n".join(rows) + "\n")
        rows.clear()

    if "memory" not in skip:
        engine = engines[0]
        mixed = individuals + duos
        for i in mixed[:200]:
            screen(i, rulebook=book, engine=engine, today=TODAY)
        first = _rss_kb()
        for _ in range(5 if args.quick else 20):
            for i in mixed:
                screen(i, rulebook=book, engine=engine, today=TODAY)
        steady = _rss_kb()
        out(
            f"| memory ({engine}, this process) | RSS after warm-up | RSS after {len(mixed) * (5 if args.quick else 20):,} more screenings | peak RSS |"
        )
        out("|---|---|---|---|")
        out(f"| | {first / 1024:,.1f} MB | {steady / 1024:,.1f} MB | {_rss_kb('VmHWM') / 1024:,.1f} MB |")
        print("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
