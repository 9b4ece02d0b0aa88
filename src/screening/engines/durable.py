"""The durable_rules host.

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
test. Each partition is packed into as few rulesets as the engine's limits allow (usually
one), in groups below a test that always holds, so that no fact can take the engine's stack
of 64 alpha nodes past its limit: the host rebuilds the engine's network in Python and bounds
the stack before it creates a ruleset (``_Network``), so error 303 is never met at run time.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import sys
import threading
import uuid
import warnings
from collections.abc import Callable
from decimal import Decimal
from functools import cache, partial
from typing import Any, Protocol, TypeAlias

from ..errors import EngineError, Problem, RulebookError
from ..rulebook import conditions
from ..rulebook.conditions import Branch, Condition, Values
from ..rulebook.loading import Rule, Rulebook
from .base import Firing
from .facts import FACT_TYPE, to_fact

__all__ = [
    "DurableEngine",
    "durable_available",
    "durable_unavailable_reason",
    "compile_rule",
    "limit_problems",
    "fact_text",
    "frame_reader",
    "ALPHA_BUDGET",
]


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
    if not math.isfinite(value):
        raise ValueError("a fact cannot hold a number that is not finite")
    text = format(Decimal(repr(value)), "f")
    return text if "." in text else text + ".0"


# One encoder, built once: json.dumps with keyword arguments builds a new one per call. NaN and
# infinities raise (a fact never holds them); the output is json.dumps' default spelling.
_encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False, check_circular=False).encode


def fact_text(fact: dict[str, Any]) -> str:
    """One fact as JSON that durable_rules parses exactly: strings and integers as json writes
    them, floats in fixed-point notation, nothing else (a fact has no lists, bools or nulls)."""
    kinds = set(map(type, fact.values()))  # one pass in C: most facts hold text and integers alone
    if kinds <= _TEXT_AND_INTEGERS or (
        kinds <= _PLAIN_KINDS and all(_plain_float(v) for v in fact.values() if type(v) is float)
    ):  # json writes a plain float as repr() does: fixed-point digits, as _number would
        return _encode(fact)
    return _fact_text_slowly(fact)


_TEXT_AND_INTEGERS = frozenset({str, int})
_PLAIN_KINDS = frozenset({str, int, float})


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


@cache
def durable_unavailable_reason() -> str | None:
    """Why durable_rules cannot be used here, in one line; None when it imports (tried once)."""
    try:
        import durable.engine  # noqa: F401
    except Exception as error:  # noqa: BLE001 (ImportError, the undefined symbol on 3.13+, or whatever else stops it)
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


def _pattern(condition: Condition, *extra: dict[str, Any]) -> dict[str, Any]:
    parts = [{"type": FACT_TYPE}, *extra, conditions.to_durable(condition)]
    return {"$and": parts}


def _pair_sides(condition: Condition) -> tuple[Condition | None, Condition | None]:
    items = condition.items if isinstance(condition, Branch) and condition.op == "all" else (condition,)
    mine = [i for i in items if conditions.sides_read(i) <= {"self"}]
    theirs = [i for i in items if conditions.sides_read(i) == {"other"}]

    def join(parts: list[Condition]) -> Condition | None:
        return None if not parts else parts[0] if len(parts) == 1 else Branch("all", tuple(parts))

    return join(mine), join(theirs)


def compile_rule(rule: Rule, index: int) -> dict[str, Any]:
    """The durable_rules definition of one rule (without its substance and duo guards)."""
    action = f"flag:{index}"
    if rule.meta.applies_to != "pair":  # participant and session rules read one participant's facts
        return {"all": [{"p": _pattern(rule.condition)}], "run": action}
    mine, theirs = _pair_sides(rule.condition)
    me = _pattern(mine) if mine else {"type": FACT_TYPE}
    not_me = {"$neq": {"pid": {"me": "pid"}}}
    peer = _pattern(theirs, not_me) if theirs else {"$and": [{"type": FACT_TYPE}, not_me]}
    return {"all": [{"me": me}, {"peer": peer}], "run": action}


def _rule_cost(definition: dict[str, Any]) -> int:
    return sum(_alpha_cost(next(iter(p.values())))[1] for p in definition["all"])


def limit_problems(rules: list[Rule], definitions: list[dict[str, Any]] | None = None) -> list[Problem]:
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
        elif not _fits_alone(definition):
            problems.append(_too_complex(rule))
    return problems


def _fits_alone(definition: dict[str, Any]) -> bool:
    """Whether the rule fits a ruleset of its own (the packing never needs more)."""
    network = _Network(list(_FIXED_RULES.values()))
    network.add(_grouped(definition, 0))
    return network.fits()


# ------------------------------------------------------------------ the engine's stack, bounded


# durable_rules walks its alpha network depth first with a stack of 64 entries per fact
# (events.c, handleAlpha: error 303 when full). Popping a node pushes every child the fact
# matches; an `$or` joins its branches in a "forward" node that each matching branch pushes
# again; identical tests under one parent share a node (findAlpha), tests against another
# pattern's field (`{"me": "pid"}`) never do. _Network rebuilds that network in Python, exactly
# as createAlpha does, to bound the stack height any fact can reach: a ruleset is packed only
# while the bound stays within STACK_BUDGET, so no intake can reach error 303.
STACK_BUDGET = 56  # of 64: 8 entries of margin
GROUP_BUDGET = 40  # the stack one group may take, leaving room for the other groups of its ruleset
BETA_BUDGET = 200  # rules ending on one node: 256 segfaulted, 257 gave error 108
NEX_BUDGET = 100  # `$nex` tests under one node: 129 gave error 107
HASH_BUDGET = 400  # tests under one node: 512 loop for ever
GROUP_KEY = "grp__{}"  # a field no fact holds: `$nex` on it always holds (see _grouped)
_TESTS = ("$eq", "$neq", "$lt", "$lte", "$gt", "$gte", "$ex", "$nex")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # strings the engine cannot read as numbers or booleans


class _Node:
    """One alpha node: its test, its children, the rules ending on it, and its peak (the
    stack height reached below it once popped; None until worked out)."""

    __slots__ = ("betas", "key", "kind", "peak", "shared", "unshared")

    def __init__(self, key: str, kind: str) -> None:
        self.key = key
        self.kind = kind  # "$nex", "$eq-text" (equal to a plain string), another test, or "$forward"
        self.shared: dict[tuple[str, str, str], _Node] = {}  # found again by findAlpha
        self.unshared: list[_Node] = []  # forward nodes and tests against another pattern
        self.betas = 0
        self.peak: int | None = None

    def children(self) -> list[_Node]:
        return [*self.shared.values(), *self.unshared]

    def pushes(self) -> int:
        """The most children one fact can push when this node is popped: per field, either
        its `$nex` tests (the field is absent) or its other tests (present), and of tests for
        equality with distinct plain strings at most one; the unshared ones always."""
        nex: dict[str, int] = {}
        present: dict[str, int] = {}
        texts: set[str] = set()
        for child in self.shared.values():
            if child.kind == "$nex":
                nex[child.key] = nex.get(child.key, 0) + 1
            elif child.kind == "$eq-text":
                texts.add(child.key)
            else:
                present[child.key] = present.get(child.key, 0) + 1
        fields = set(nex) | set(present) | texts
        return len(self.unshared) + sum(max(nex.get(k, 0), present.get(k, 0) + (k in texts)) for k in fields)

    def within_limits(self) -> bool:
        nex = sum(child.kind == "$nex" for child in self.shared.values())
        return self.betas <= BETA_BUDGET and nex <= NEX_BUDGET and len(self.shared) + len(self.unshared) <= HASH_BUDGET


class _Network:
    """One ruleset's alpha network as durable_rules builds it, and the bound on its stack.

    Rules are added one at a time and the last one can be taken out again; a node's peak is
    worked out again only when a rule passed through it (every ancestor of a changed node is
    on that rule's path: a shared node has one parent, and unshared nodes are the rule's own)."""

    def __init__(self, definitions: list[dict[str, Any]]) -> None:
        self.root = _Node("type", "$type")
        self.undo: list[Callable[[], object]] = []
        self.touched: list[_Node] = []
        for definition in definitions:
            self.add(definition)

    def add(self, definition: dict[str, Any]) -> None:
        self.undo, self.touched = [], []
        for pattern in definition["all"]:
            end = self._pattern(self.root, next(iter(pattern.values())))
            end.betas += 1
            self.undo.append(partial(setattr, end, "betas", end.betas - 1))

    def remove_last(self) -> None:
        """Take the last added rule out again: its nodes and links, in reverse order."""
        while self.undo:
            self.undo.pop()()
        for node in self.touched:
            node.peak = None

    def fits(self) -> bool:
        """Whether no fact can take the stack past STACK_BUDGET, and no node past its limits."""
        for node in self.touched:
            node.peak = None
        return self._peak(self.root) <= STACK_BUDGET and all(node.within_limits() for node in self.touched)

    def group_peak(self, group: int) -> int:
        facts = self.root.shared[("type", "$eq", "str:" + json.dumps(FACT_TYPE))]
        return self._peak(facts.shared[(GROUP_KEY.format(group), "$nex", "int:1")])

    def _peak(self, node: _Node) -> int:
        if node.peak is None:
            children = node.children()
            pushed = node.pushes()
            node.peak = max([pushed] + [pushed - 1 + self._peak(child) for child in children]) if children else 0
        return node.peak

    def _pattern(self, parent: _Node, expr: dict[str, Any]) -> _Node:
        """The node a pattern ends on, its tests added under ``parent`` as createAlpha does."""
        self.touched.append(parent)
        if len(expr) == 1 and "$and" in expr:
            node = parent
            for item in expr["$and"]:
                node = self._pattern(node, item)
            return node
        if len(expr) == 1 and "$or" in expr:
            forward = _Node("$forward", "$forward")  # never shared
            self.touched.append(forward)
            for item in expr["$or"]:
                end = self._pattern(parent, item)
                end.unshared.append(forward)
                self.undo.append(end.unshared.pop)
            return forward
        return self._test(parent, expr)

    def _test(self, parent: _Node, expr: dict[str, Any]) -> _Node:
        (op, body), *more = expr.items()
        if op.startswith("$"):
            if more or op not in _TESTS or not isinstance(body, dict) or len(body) != 1:
                raise ValueError(f"the stack bound does not know this test ({op})")
            ((key, value),) = body.items()
        elif more:
            raise ValueError("a compiled test reads one field")
        else:
            op, key, value = "$eq", op, body
        if isinstance(value, dict):  # against another pattern's field: never shared
            node = _Node(key, op)
            parent.unshared.append(node)
            self.undo.append(parent.unshared.pop)
        else:
            share = (key, op, type(value).__name__ + ":" + json.dumps(value))
            if share not in parent.shared:
                plain_text = op == "$eq" and isinstance(value, str) and _WORD.fullmatch(value) and value not in ("true", "false")
                parent.shared[share] = _Node(key, "$eq-text" if plain_text else op)
                self.undo.append(partial(parent.shared.pop, share))
            node = parent.shared[share]
        self.touched.append(node)
        return node


# In every ruleset: a start fact that guarantees one action per session (delete_state crashes
# without one), the acknowledgement of each participant fact, and a sink for every fact.
_FIXED_RULES: dict[str, dict[str, Any]] = {
    "$start": {"all": [{"m": {"type": START_TYPE}}], "run": "noop"},
    ACK_RULE: {"all": [{"p": {"type": FACT_TYPE}}], "run": "noop"},
    "$sink": {"count": 65535, "all": [{"m": {"$ex": {"type": 1}}}], "run": "noop"},
}


def _fields_tested(expr: dict[str, Any]) -> set[str]:
    """The fact fields a compiled pattern tests (``{"me": "pid"}`` reads the other's pid)."""
    found: set[str] = set()
    for op, body in expr.items():
        if op in ("$and", "$or"):
            for item in body:
                found |= _fields_tested(item)
        elif op.startswith("$"):
            found |= set(body)
        else:
            found.add(op)
    return found


def _grouped(definition: dict[str, Any], group: int) -> dict[str, Any]:
    """The rule with a test that always holds (no fact has the field) right after each
    pattern's type test: the rules of one group hang below one node, so the engine's stack
    holds one group's tests at a time, and many groups share one ruleset."""
    test = {"$nex": {GROUP_KEY.format(group): 1}}
    patterns = []
    for pattern in definition["all"]:
        ((alias, expr),) = pattern.items()
        items = expr["$and"] if set(expr) == {"$and"} else [expr]
        if items[0] != {"type": FACT_TYPE}:
            raise ValueError("a compiled pattern starts with its type test")
        patterns.append({alias: {"$and": [items[0], test, *items[1:]]}})
    return {**definition, "all": patterns}


def _pack(chosen: list[tuple[int, dict[str, Any]]], rules: list[Rule]) -> list[dict[str, dict[str, Any]]]:
    """The chosen rules in as few rulesets as the engine's limits allow (one assert_facts call
    per ruleset per screening): a rule joins the current group while the bounds hold, else a
    new group of the same ruleset, else a new ruleset."""
    packed: list[dict[str, dict[str, Any]]] = []
    current: dict[str, dict[str, Any]] = {}
    network = _Network(list(_FIXED_RULES.values()))
    group, members = 0, 0
    for index, definition in chosen:
        for attempt in ("this group", "a new group", "a new ruleset"):
            if attempt == "a new group":
                if not members:
                    continue
                group, members = group + 1, 0
            elif attempt == "a new ruleset":
                if not current:
                    raise RulebookError([_too_complex(rules[index])])
                packed.append(current)
                current, network, group, members = {}, _Network(list(_FIXED_RULES.values())), 0, 0
            grouped = _grouped(definition, group)
            network.add(grouped)
            # GROUP_BUDGET leaves room for more groups; a rule alone in its group may take more
            if network.fits() and (not members or network.group_peak(group) <= GROUP_BUDGET):
                current[f"r{index}"] = grouped
                members += 1
                break
            network.remove_last()
    if current or not packed:
        packed.append(current)
    return packed


def _too_complex(rule: Rule) -> Problem:
    return Problem(
        rule.path,
        rule.line_of.get("when"),
        "compiles to more engine tests than one ruleset allows (durable_rules fails past 64); split it into simpler rules",
    )


Frame: TypeAlias = dict[str, Any]  # a triggered rule's facts by pattern alias: {"p": {...}}
FrameReader: TypeAlias = Callable[[str], list[tuple[str, Frame]] | None]


class _ScreeningHost(Protocol):
    """What the engine uses of its durable_rules Host (durable_rules has no type information)."""

    def set_rulesets(self, ruleset_definitions: dict[str, Any]) -> None: ...

    def get_ruleset(self, ruleset_name: str) -> Any: ...

    def assert_facts(
        self, ruleset_name: str, facts: str | list[dict[str, Any]], complete: None = None, read_known: FrameReader | None = None
    ) -> list[tuple[str, Frame]]: ...

    def delete_state(self, ruleset_name: str, sid: str | None = None) -> None: ...


class _Host:
    """A durable_rules Host subclass, created lazily so importing screening never needs it."""

    @staticmethod
    def create() -> _ScreeningHost:
        from durable import engine as durable_engine

        native = durable_engine.durable_rules_engine

        def noop(c: object) -> None:
            pass

        # durable_rules ships no type information: its Host is Any to mypy
        class ScreeningHost(durable_engine.Host):  # type: ignore[misc]
            def _run(self) -> None:  # the dispatcher threads race with callers and segfault
                pass

            def get_action(self, action_name: str) -> Callable[[object], None]:
                return noop  # never called: assert_facts below reads the triggered rules itself

            def assert_facts(
                self,
                ruleset_name: str,
                facts: str | list[dict[str, Any]],
                complete: None = None,
                read_known: FrameReader | None = None,
            ) -> list[tuple[str, Frame]]:
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
                fired: list[tuple[str, Frame]] = []
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
        # each flag rule's name in the engine -> (rule id, whether it is a pair rule)
        self._flags = {f"r{i}": (rule.id, rule.meta.applies_to == "pair") for i, rule in enumerate(self.rules)}
        self._check_limits()
        self._host = _Host.create()
        self._partitions: dict[tuple[str, bool], list[str]] = {}
        self._reads: dict[tuple[str, bool], frozenset[str]] = {}  # the fact fields its rules read
        self._serial = itertools.count()

    def _check_limits(self) -> None:
        problems = limit_problems(self.rules, self._definitions)
        if problems:
            raise RulebookError(problems)

    def _rulesets_for(self, substance: str, is_duo: bool) -> list[str]:
        key = (substance, is_duo)
        if key not in self._partitions:
            chosen = [(i, d) for i, (rule, d) in enumerate(zip(self.rules, self._definitions)) if rule.applies(substance, is_duo)]
            names = []
            reads = {"type", "pid", "sid"}
            for packed in _pack(chosen, self.rules):
                for definition in packed.values():
                    for pattern in definition["all"]:
                        reads |= _fields_tested(next(iter(pattern.values())))
                name = f"screening-{next(self._serial)}"
                # a deep copy (set_rulesets deletes "run" from what it is given), the quick way: it is JSON
                self._host.set_rulesets({name: json.loads(json.dumps({**packed, **_FIXED_RULES}))})
                names.append(name)
            # the fields a fact carries; never a group's field, which no fact may hold
            self._reads[key] = frozenset(k for k in reads if not k.startswith(GROUP_KEY.format("")))
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
            flag = self._flags.get(name)
            if flag is not None:
                rule_id, pair = flag
                if pair:
                    me, peer = frame["me"], frame["peer"]
                    if me["sid"] != sid or peer["sid"] != sid:
                        raise _EngineFault("a frame from another session")
                    found.append(Firing(rule_id, me["pid"], peer["pid"]))
                else:
                    if frame["p"]["sid"] != sid:
                        raise _EngineFault("a frame from another session")
                    found.append(Firing(rule_id, frame["p"]["pid"]))
            elif name == ACK_RULE:
                if frame["p"]["sid"] != sid:
                    raise _EngineFault("a frame from another session")
                acknowledged.add(frame["p"]["pid"])
            elif name == "$start":
                started = True
            else:
                raise _EngineFault("a frame from a rule the host does not know")
        if not started or acknowledged != pids:
            raise _EngineFault("the engine did not confirm that it read every fact")
        return found

    def fire(self, participants: list[Values], substance: str, is_duo: bool) -> set[Firing]:
        with self._lock:
            rulesets = self._rulesets_for(substance, is_duo)
            # only what the rules read: a field no test reads changes no outcome, costs parsing
            reads = self._reads[(substance, is_duo)]
            facts = [to_fact(values, reads) for values in participants]
            sid = uuid.uuid4().hex
            fired: set[Firing] = set()
            try:
                texts = [(f["pid"], fact_text({**f, "sid": sid})) for f in facts]
            except (TypeError, ValueError) as error:
                raise EngineError(
                    f"the facts could not be encoded for the rule engine ({error}); no result was produced"
                ) from None
            start = json.dumps({"sid": sid, "type": START_TYPE})
            batch = "[" + ", ".join([start, *(text for _, text in texts)]) + "]"
            read_known = frame_reader(texts, sid)
            pids = {pid for pid, _ in texts}
            for ruleset in rulesets:
                try:
                    triggered = self._host.assert_facts(ruleset, batch, read_known=read_known)
                    fired.update(self._firings(triggered, sid, pids))
                except Exception as error:  # noqa: BLE001 (durable_rules raises bare Exceptions: each fails closed)
                    # durable's exception text quotes the whole fact batch: never pass it on
                    raise EngineError(f"the rule engine failed ({_describe(error)}); no result was produced") from None
                finally:
                    try:
                        self._host.delete_state(ruleset, sid)
                    except Exception:  # noqa: BLE001, S110 (the screening's own error, if any, is the one raised)
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


def frame_reader(texts: list[tuple[str, str]], sid: str) -> FrameReader:
    """Read a triggered rule's message without decoding its JSON, when it is exactly
    ``{"<rule>":{"p":<fact>}}`` or ``{"<rule>":{"me":<fact>,"peer":<fact>}}`` for facts this
    screening asserted (durable_rules returns each stored fact's text as it was sent). A fact's
    text holds the screening's sid, so an exact match is also the same-session check. Decoding
    each frame cost most of fire() when many rules matched; anything else is decoded as before.
    """
    known: dict[str, Frame] = {}
    for i, (pid, text) in enumerate(texts):
        known['{"p":' + text + "}}"] = {"p": {"pid": pid, "sid": sid}}
        for j, (other, other_text) in enumerate(texts):
            if i != j:
                known['{"me":' + text + ',"peer":' + other_text + "}}"] = {
                    "me": {"pid": pid, "sid": sid},
                    "peer": {"pid": other, "sid": sid},
                }

    def read(message: str) -> list[tuple[str, Frame]] | None:
        end = message.find('":', 2)
        if not message.startswith('{"') or end < 0:
            return None
        frame = known.get(message[end + 2 :])
        return None if frame is None else [(message[2:end], frame)]

    return read
