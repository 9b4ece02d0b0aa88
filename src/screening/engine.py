"""Run the rules: facts in, fired rules out. Two engines with one small interface.

``DurableEngine`` compiles the rulebook to durable_rules rulesets and runs them in a Host
that the library owns, following the tested recipe in durable-rules-notes.md §7: the
background dispatcher is off; facts never carry a field named ``id``; a start fact guarantees
one action per session so ``delete_state`` cannot crash; a count-sink rule keeps unmatched
facts from raising; any error fails the screening closed; each screening has its own session
id, and its state is deleted afterwards. Rulesets are built once per process and cached.
For speed, no Python callback runs per fired rule: the host reads the triggered rules'
frames straight from the engine's action queue (``ScreeningHost.assert_facts``), and the
facts are encoded as JSON once per screening, not once per ruleset.

Rules are partitioned by (substance, format) so the substance and duo guards need no engine
test, and each partition is split into rulesets that stay under the engine's limit of 64
alpha tests matching one fact (checked when rules compile, not discovered as error 303).

``PythonEngine`` evaluates the same conditions directly (:func:`conditions.evaluate`). It is
the reference in differential tests and the fallback where durable_rules does not import
(Python 3.13+).
"""

from __future__ import annotations

import copy
import itertools
import json
import os
import re
import sys
import threading
import uuid
import warnings
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any, Literal, Protocol

from . import conditions
from .conditions import Branch, Condition, Values
from .errors import EngineError, RulebookError, Problem
from .facts import FACT_TYPE, to_fact
from .rulebook import Rule, Rulebook

__all__ = [
    "Firing",
    "Engine",
    "EngineName",
    "PythonEngine",
    "DurableEngine",
    "CrossCheckedEngine",
    "FallbackEngineWarning",
    "durable_available",
    "durable_unavailable_reason",
    "get_engine",
    "fact_text",
]

EngineName = Literal["auto", "cross-check", "durable", "python"]
ENGINE_NAMES: tuple[str, ...] = ("auto", "cross-check", "durable", "python")


class FallbackEngineWarning(UserWarning):
    """engine='auto' ran the reference evaluator alone because durable_rules cannot be used."""


# durable_rules fails with error 303 when more than 64 tests under one node of its alpha network
# match one fact (probed: 64 matching children of one node pass, 65 fail; identical tests under
# the same node are shared; 16 nodes with 60 matching children each pass). Every node's children
# are distinct tests, so a ruleset with at most ALPHA_BUDGET distinct tests can never reach the
# limit, whatever the intake and however durable orders its network. 8 tests of margin.
ALPHA_BUDGET = 56
START_TYPE = "$screening"
ACK_RULE = "$ack"  # fires once per participant fact: proof that the engine read the fact


def _number(value: float) -> str:
    """A float as plain decimal digits: durable_rules' parser silently drops a fact holding a
    number in exponent form (5e-05), and every fact after it in the batch (issue 11)."""
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("a fact cannot hold a number that is not finite")
    text = format(Decimal(repr(value)), "f")
    return text if "." in text else text + ".0"


# One encoder, built once: json.dumps with keyword arguments builds a new one per call. NaN and
# infinities raise (a fact never holds them); the output is json.dumps' default spelling.
_encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False, check_circular=False).encode


def fact_text(fact: dict[str, Any]) -> str:
    """One fact as JSON that durable_rules parses exactly: strings and integers as json writes
    them, floats in fixed-point notation, nothing else (a fact has no lists, bools or nulls)."""
    for value in fact.values():
        kind = type(value)
        if kind is str or kind is int:
            continue
        if kind is float and _plain_float(value):
            continue  # json writes it as repr() does: fixed-point digits, as _number would
        return _fact_text_slowly(fact)
    return _encode(fact)


def _plain_float(value: float) -> bool:
    """A float whose repr() is already fixed-point (no exponent, not inf or nan)."""
    text = repr(value)
    return "e" not in text and "n" not in text


def _fact_text_slowly(fact: dict[str, Any]) -> str:
    """fact_text, value by value: floats through _number, wrong types raised as TypeError."""
    parts = []
    for key, value in fact.items():
        if isinstance(value, bool) or value is None:
            raise TypeError(f"fact field {key} holds a {type(value).__name__}, which the engine reads loosely")
        if isinstance(value, float):
            text = _number(value)
        elif isinstance(value, (int, str)):
            text = _encode(value)
        else:
            raise TypeError(f"fact field {key} holds a {type(value).__name__}")
        parts.append(_encode(key) + ": " + text)
    return "{" + ", ".join(parts) + "}"


@dataclass(frozen=True, order=True)
class Firing:
    rule_id: str
    pid: str
    other: str | None = None  # the other participant, for pair rules


class Engine(Protocol):
    name: str

    def fire(self, participants: list[Values], substance: str, is_duo: bool) -> set[Firing]: ...


def _ordered_pairs(participants: list[Values]):
    return itertools.permutations(participants, 2)


class PythonEngine:
    """The reference: each rule's guarded condition (substance and duo guards included),
    compiled once per rulebook into a Python function and called rule by rule."""

    name = "python"

    def __init__(self, rulebook: Rulebook):
        self.rules = rulebook.active
        self._participant = conditions.compile_conditions(
            [(rule.id, rule.guarded) for rule in self.rules if rule.meta.applies_to != "pair"]
        )
        pair = [(rule.id, rule.guarded) for rule in self.rules if rule.meta.applies_to == "pair"]
        self._pair = conditions.compile_conditions(pair, pair=True) if pair else None

    def fire(self, participants: list[Values], substance: str, is_duo: bool) -> set[Firing]:
        fired = {Firing(rule_id, values.pid) for values in participants for rule_id in self._participant(values)}
        if self._pair is not None:
            for me, peer in _ordered_pairs(participants):
                fired.update(Firing(rule_id, me.pid, peer.pid) for rule_id in self._pair(me, peer))
        return fired


class TreeEngine(PythonEngine):
    """The same rules walked as trees by :func:`conditions.evaluate`: the plainest statement
    of the semantics, kept for the tests that hold the compiled evaluator to it."""

    name = "python-tree"

    def __init__(self, rulebook: Rulebook):
        self.rules = rulebook.active

    def fire(self, participants: list[Values], substance: str, is_duo: bool) -> set[Firing]:
        fired = set()
        for rule in self.rules:
            if rule.meta.applies_to == "pair":
                for me, peer in _ordered_pairs(participants):
                    if conditions.evaluate(rule.guarded, {None: me, "self": me, "other": peer}):
                        fired.add(Firing(rule.id, me.pid, peer.pid))
            else:
                for values in participants:
                    if conditions.evaluate(rule.guarded, {None: values}):
                        fired.add(Firing(rule.id, values.pid))
        return fired


# ---------------------------------------------------------------------------- durable_rules


@cache
def durable_unavailable_reason() -> str | None:
    """Why durable_rules cannot be used here, in one line; None when it imports (tried once)."""
    try:
        import durable.engine  # noqa: F401
    except Exception as error:  # ImportError, or the undefined-symbol error on Python 3.13+
        version = ".".join(map(str, sys.version_info[:3]))
        found = "not installed" if isinstance(error, ModuleNotFoundError) else f"does not import ({type(error).__name__})"
        if sys.version_info >= (3, 13):
            return f"durable_rules is {found} on Python {version} (its 2.0.28 release supports Python up to 3.12)"
        return f"durable_rules is {found} on Python {version} (installing it compiles C code: see README, Troubleshooting)"
    return None


def durable_available() -> bool:
    return durable_unavailable_reason() is None


def _alpha_cost(expr: Any) -> tuple[int, int]:
    """(conjunctive terms, alpha tests) of a pattern once durable_rules expands $or."""
    if isinstance(expr, dict) and len(expr) == 1 and next(iter(expr)) in ("$and", "$or"):
        op, items = next(iter(expr.items()))
        costs = [_alpha_cost(item) for item in items]
        if op == "$or":
            return sum(t for t, _ in costs), sum(n for _, n in costs)
        terms = 1
        for t, _ in costs:
            terms *= t
        tests = sum(n * terms // t for t, n in costs)
        return terms, tests
    return 1, 1


def _pattern(condition: Condition, *extra: dict) -> dict:
    parts = [{"type": FACT_TYPE}, *extra, conditions.to_durable(condition)]
    return {"$and": parts}


def _pair_sides(condition: Condition) -> tuple[Condition | None, Condition | None]:
    items = condition.items if isinstance(condition, Branch) and condition.op == "all" else (condition,)
    mine = [i for i in items if conditions.sides_read(i) <= {"self"}]
    theirs = [i for i in items if conditions.sides_read(i) == {"other"}]

    def join(parts: list[Condition]) -> Condition | None:
        return None if not parts else parts[0] if len(parts) == 1 else Branch("all", tuple(parts))

    return join(mine), join(theirs)


def compile_rule(rule: Rule, index: int) -> dict:
    """The durable_rules definition of one rule (without its substance and duo guards)."""
    action = f"flag:{index}"
    if rule.meta.applies_to != "pair":  # participant and session rules read one participant's facts
        return {"all": [{"p": _pattern(rule.condition)}], "run": action}
    mine, theirs = _pair_sides(rule.condition)
    me = _pattern(mine) if mine else {"type": FACT_TYPE}
    not_me = {"$neq": {"pid": {"me": "pid"}}}
    peer = _pattern(theirs, not_me) if theirs else {"$and": [{"type": FACT_TYPE}, not_me]}
    return {"all": [{"me": me}, {"peer": peer}], "run": action}


def _rule_cost(definition: dict) -> int:
    return sum(_alpha_cost(next(iter(p.values())))[1] for p in definition["all"])


def _tests(expr: Any) -> set[str]:
    """The distinct alpha tests in a pattern (each leaf test, as canonical JSON)."""
    if isinstance(expr, dict) and len(expr) == 1 and next(iter(expr)) in ("$and", "$or"):
        return set().union(*(_tests(item) for item in next(iter(expr.values()))))
    return {json.dumps(expr, sort_keys=True)}


def _rule_tests(definition: dict) -> set[str]:
    return set().union(*(_tests(next(iter(p.values()))) for p in definition["all"]))


def limit_problems(rules: list[Rule], definitions: list[dict] | None = None) -> list[Problem]:
    """Rules too complex for durable_rules (more alpha tests than one ruleset allows), with
    file and line; pure Python, so `screening rules check` can run it without the engine."""
    if definitions is None:
        definitions = [compile_rule(rule, i) for i, rule in enumerate(rules)]
    problems = []
    for rule, definition in zip(rules, definitions):
        cost = _rule_cost(definition)
        if cost > ALPHA_BUDGET:
            problems.append(
                Problem(
                    rule.path,
                    rule.line_of.get("when"),
                    f"compiles to {cost} engine tests, more than {ALPHA_BUDGET} (durable_rules fails past 64); "
                    "split it into simpler rules",
                )
            )
    return problems


class _Host:
    """A durable_rules Host subclass, created lazily so importing screening never needs it."""

    @staticmethod
    def create():
        from durable import engine as durable_engine

        native = durable_engine.durable_rules_engine

        def noop(c) -> None:
            pass

        class ScreeningHost(durable_engine.Host):
            def _run(self) -> None:  # the dispatcher threads race with callers and segfault
                pass

            def get_action(self, action_name: str):
                return noop  # never called: assert_facts below reads the triggered rules itself

            def assert_facts(self, ruleset_name, facts, complete=None, read_known=None):
                """Assert facts (a list, or the list already encoded as JSON); return
                [(rule name, frame)] for every rule they trigger. ``read_known`` may read a
                message without decoding it (None when it does not know it: then JSON).

                The same native calls as durable_rules' own action loop (start the session's
                actions, update the state, complete and start the next) but without building
                a Closure and running a Python callback per fired rule, which cost most of
                the time (durable-rules-notes §4b). Every action is started and completed,
                so the session is in the same state as after the normal path.
                """
                rules = self.get_ruleset(ruleset_name)
                text = facts if isinstance(facts, str) else json.dumps(facts, ensure_ascii=False)
                # raises on a message not handled or only observed; 0 when nothing is pending
                state_handle = rules._handle_result(native.assert_facts(rules._handle, text), facts)
                result = native.start_action_for_state(rules._handle, state_handle)
                fired: list[tuple[str, Any]] = []
                if not result:
                    return fired
                state, message = result[0], result[1]
                while message:
                    known = read_known(message) if read_known else None
                    fired.extend(known if known is not None else json.loads(message).items())
                    native.update_state(rules._handle, state)
                    message = native.complete_and_start_action(rules._handle, state_handle)
                return fired

        return ScreeningHost()


class DurableEngine:
    """The rulebook compiled into durable_rules, one ruleset group per (substance, format)."""

    name = "durable_rules"

    def __init__(self, rulebook: Rulebook):
        import durable  # noqa: F401  (fail here, not mid-screening, when it cannot import)

        warnings.filterwarnings("ignore", category=DeprecationWarning, module="durable")
        self.rules = rulebook.active
        self.rulebook_sha = rulebook.sha256
        self._lock = threading.Lock()
        self._definitions = [compile_rule(rule, i) for i, rule in enumerate(self.rules)]
        self._check_limits()
        self._host = _Host.create()
        self._partitions: dict[tuple[str, bool], list[str]] = {}
        self._serial = itertools.count()

    def _check_limits(self) -> None:
        problems = limit_problems(self.rules, self._definitions)
        if problems:
            raise RulebookError(problems)

    def _rulesets_for(self, substance: str, is_duo: bool) -> list[str]:
        key = (substance, is_duo)
        if key not in self._partitions:
            chosen = [(i, d) for i, (rule, d) in enumerate(zip(self.rules, self._definitions)) if rule.applies(substance, is_duo)]
            # Pack rules into as few rulesets as the limit allows: each ruleset holds at most
            # ALPHA_BUDGET distinct tests (one assert_facts call per ruleset per screening).
            groups: list[dict] = []
            budget = ALPHA_BUDGET - 2  # the $start and $sink tests
            used: set[str] = set()
            for index, definition in chosen:
                tests = _rule_tests(definition)
                if not groups or len(used | tests) > budget:
                    groups.append({})
                    used = set()
                groups[-1][f"r{index}"] = definition
                used |= tests
            names = []
            for group in groups or [{}]:
                name = f"screening-{next(self._serial)}"
                group["$start"] = {"all": [{"m": {"type": START_TYPE}}], "run": "noop"}
                group[ACK_RULE] = {"all": [{"p": {"type": FACT_TYPE}}], "run": "noop"}
                group["$sink"] = {"count": 65535, "all": [{"m": {"$ex": {"type": 1}}}], "run": "noop"}
                self._host.set_rulesets({name: copy.deepcopy(group)})
                names.append(name)
            self._partitions[key] = names
        return self._partitions[key]

    def _firings(self, triggered: list[tuple[str, Any]], sid: str, pids: set[str]) -> list[Firing]:
        """Firings from the engine's frames. Fails closed when a frame is from another
        session, or when the engine did not confirm reading the start fact and every
        participant's fact (it drops a fact it cannot parse without saying so)."""
        found = []
        started = False
        acknowledged: set[str] = set()
        for name, frame in triggered:
            if name == "$start":
                started = True
                continue
            if name == ACK_RULE:
                if frame["p"]["sid"] != sid:
                    raise _EngineFault("a frame from another session")
                acknowledged.add(frame["p"]["pid"])
                continue
            if not name.startswith("r"):  # $sink
                continue
            rule = self.rules[int(name[1:])]
            if rule.meta.applies_to == "pair":
                me, peer = frame["me"], frame["peer"]
                if me["sid"] != sid or peer["sid"] != sid:
                    raise _EngineFault("a frame from another session")
                found.append(Firing(rule.id, me["pid"], peer["pid"]))
            else:
                if frame["p"]["sid"] != sid:
                    raise _EngineFault("a frame from another session")
                found.append(Firing(rule.id, frame["p"]["pid"]))
        if not started or acknowledged != pids:
            raise _EngineFault("the engine did not confirm that it read every fact")
        return found

    def fire(self, participants: list[Values], substance: str, is_duo: bool) -> set[Firing]:
        facts = [to_fact(v) for v in participants]
        with self._lock:
            rulesets = self._rulesets_for(substance, is_duo)
            sid = uuid.uuid4().hex
            fired: set[Firing] = set()
            try:
                texts = [(f["pid"], fact_text(dict(f, sid=sid))) for f in facts]
            except (TypeError, ValueError) as error:
                raise EngineError(
                    f"the facts could not be encoded for the rule engine ({error}); no result was produced"
                ) from None
            start = json.dumps({"sid": sid, "type": START_TYPE})
            batch = "[" + ", ".join([start, *(text for _, text in texts)]) + "]"
            read_known = _frame_reader(texts, sid)
            pids = {pid for pid, _ in texts}
            for ruleset in rulesets:
                try:
                    triggered = self._host.assert_facts(ruleset, batch, read_known=read_known)
                    fired.update(self._firings(triggered, sid, pids))
                except Exception as error:
                    # durable's exception text quotes the whole fact batch: never pass it on
                    raise EngineError(f"the rule engine failed ({_describe(error)}); no result was produced") from None
                finally:
                    try:
                        self._host.delete_state(ruleset, sid)
                    except Exception:
                        pass
            return fired


class _EngineFault(RuntimeError):
    """An inconsistency the host found in the engine's results (never holds intake data)."""


def _describe(error: BaseException) -> str:
    """What went wrong, without the message text (durable's messages quote the facts): the
    exception's class and, where durable gave one, its numeric error code."""
    if isinstance(error, _EngineFault):
        return str(error)
    code = re.search(r"error code: (\d+)", str(error))
    return type(error).__name__ + (f", durable_rules error {code.group(1)}" if code else "")


class CrossCheckedEngine:
    """Two diverse channels: durable_rules and the reference evaluator run on every screening
    and must fire exactly the same rules for the same participants; any difference fails the
    screening closed. Neither alone can then miss a flag silently (durable_rules has dropped
    facts without an error; the reference evaluator is independent code over the same rules)."""

    name = "durable_rules, cross-checked"

    def __init__(self, durable: "DurableEngine", reference: PythonEngine):
        self.durable = durable
        self.reference = reference

    def fire(self, participants: list[Values], substance: str, is_duo: bool) -> set[Firing]:
        expected = self.reference.fire(participants, substance, is_duo)
        found = self.durable.fire(participants, substance, is_duo)
        if found != expected:
            differ = sorted({f.rule_id for f in found ^ expected})
            raise EngineError(
                "the two engines disagree on " + ", ".join(differ) + "; the screening failed closed and no result was produced"
            )
        return found


def _frame_reader(texts: list[tuple[str, str]], sid: str):
    """Read a triggered rule's message without decoding its JSON, when it is exactly
    ``{"<rule>":{"p":<fact>}}`` or ``{"<rule>":{"me":<fact>,"peer":<fact>}}`` for facts this
    screening asserted (durable_rules returns each stored fact's text as it was sent). A fact's
    text holds the screening's sid, so an exact match is also the same-session check. Decoding
    each frame cost most of fire() when many rules matched; anything else is decoded as before.
    """
    known: dict[str, dict] = {}
    for i, (pid, text) in enumerate(texts):
        known['{"p":' + text + "}}"] = {"p": {"pid": pid, "sid": sid}}
        for j, (other, other_text) in enumerate(texts):
            if i != j:
                known['{"me":' + text + ',"peer":' + other_text + "}}"] = {
                    "me": {"pid": pid, "sid": sid},
                    "peer": {"pid": other, "sid": sid},
                }

    def read(message: str) -> list[tuple[str, dict]] | None:
        end = message.find('":', 2)
        if not message.startswith('{"') or end < 0:
            return None
        frame = known.get(message[end + 2 :])
        return None if frame is None else [(message[2:end], frame)]

    return read


_ENGINES: dict[tuple[str, str], Engine] = {}
_ENGINES_LOCK = threading.Lock()


def _reset_after_fork() -> None:
    """A child forked while another thread held a lock (or was inside the engine) would
    deadlock or read half-updated engine state: it starts with fresh locks and no engines."""
    global _ENGINES_LOCK
    _ENGINES_LOCK = threading.Lock()
    _ENGINES.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


def resolve_engine_name(name: str) -> str:
    """'auto' is the cross-check where durable_rules imports, else the reference evaluator."""
    if name not in ENGINE_NAMES:
        raise ValueError(f"unknown engine {name!r}: use {', '.join(ENGINE_NAMES)}")
    if name == "auto":
        return "cross-check" if durable_available() else "python"  # screen() says why in the report
    return name


def get_engine(rulebook: Rulebook, name: str = "auto") -> Engine:
    """The engine for a rulebook, built once per process: 'auto' (the default: the cross-check
    where durable_rules imports, the reference evaluator alone elsewhere), 'cross-check'
    (both, and they must agree), 'durable' or 'python' (one engine alone)."""
    name = resolve_engine_name(name)
    key = (rulebook.sha256 + str(id(rulebook)), name)
    with _ENGINES_LOCK:
        if key not in _ENGINES:
            _ENGINES[key] = _build(rulebook, name)
        return _ENGINES[key]


def _build(rulebook: Rulebook, name: str) -> Engine:
    if name in ("durable", "cross-check") and not durable_available():
        raise EngineError(f"{durable_unavailable_reason()}; use engine='python'")
    if name == "python":
        return _cached(rulebook, "python", lambda: PythonEngine(rulebook))
    durable = _cached(rulebook, "durable", lambda: DurableEngine(rulebook))
    if name == "durable":
        return durable
    reference = _cached(rulebook, "python", lambda: PythonEngine(rulebook))
    return CrossCheckedEngine(durable, reference)  # type: ignore[arg-type]


def _cached(rulebook: Rulebook, name: str, make):
    """One engine of each kind per rulebook, shared by the cross-check and the single modes
    (the caller holds _ENGINES_LOCK)."""
    key = (rulebook.sha256 + str(id(rulebook)), name)
    if key not in _ENGINES:
        _ENGINES[key] = make()
    return _ENGINES[key]
