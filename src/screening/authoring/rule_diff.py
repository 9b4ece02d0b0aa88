"""What changed in the rules between two versions, in the parts a reviewer signs off.

Used by ``screening docs diff --since REF`` (a git ref, or a rulebook version found in the
history of ``rules/rulebook.yaml``) and by ``screening rules review RULE`` (the content
stored with the last approval against the rule now). Rules are compared as data, so a
re-wrapped line is no change and a moved threshold is.
"""

from __future__ import annotations

import difflib
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from ..errors import Problem, RulebookError

__all__ = ["PARTS", "Part", "compare", "RuleChange", "diff_since", "render"]

Part = Literal["logic", "severity", "text", "sources", "examples"]

# Each part a reviewer reads, and the rule-file fields it is made of.
PARTS: dict[Part, tuple[str, ...]] = {
    "logic": ("when", "named_conditions", "parameters", "applies_to", "substances", "category", "participant_copy"),
    "severity": ("severity",),
    "text": ("title", "summary", "explanation", "clinician_action", "participant_text", "limitations", "override_reasons"),
    "sources": ("references",),
    "examples": ("examples",),
}


def _normal(value: Any) -> Any:
    """Whitespace inside texts is layout, not content."""
    if isinstance(value, str):
        return " ".join(value.split())
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    return value


def _dump(value: Any) -> list[str]:
    return yaml.safe_dump(_normal(value), sort_keys=False, allow_unicode=True, width=100).splitlines()


def compare(old: dict[str, Any], new: dict[str, Any]) -> dict[Part, list[str]]:
    """For each part that differs: a unified diff of its fields (old -> new)."""
    changes: dict[Part, list[str]] = {}
    for part, keys in PARTS.items():
        before = {k: old[k] for k in keys if old.get(k) not in (None, [], "")}
        after = {k: new[k] for k in keys if new.get(k) not in (None, [], "")}
        if _normal(before) != _normal(after):
            lines = difflib.unified_diff(_dump(before), _dump(after), "before", "after", lineterm="", n=1)
            changes[part] = [line for line in lines if not line.startswith(("---", "+++"))]
    return changes


@dataclass(frozen=True)
class RuleChange:
    rule_id: str
    kind: Literal["added", "removed", "changed"]
    parts: dict[Part, list[str]]


def _git(repo: Path, *args: str) -> str:
    result = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RulebookError([Problem(str(repo), None, f"git {' '.join(args[:2])}: {result.stderr.strip() or 'failed'}")])
    return result.stdout


def _resolve(repo: Path, prefix: str, since: str) -> str:
    """A commit for ``since``: a git ref, else the last commit whose rulebook.yaml had that version."""
    found = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", f"{since}^{{commit}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if found.returncode == 0:
        return found.stdout.strip()
    meta = f"{prefix}rulebook.yaml"
    for commit in _git(repo, "log", "--format=%H", "--", meta).split():
        try:
            data = yaml.safe_load(_git(repo, "show", f"{commit}:{meta}"))
        except (RulebookError, yaml.YAMLError):
            continue
        if isinstance(data, dict) and str(data.get("version")) == since:
            return commit
    raise RulebookError([Problem(since, None, "neither a git ref nor a rulebook version in the history of rules/rulebook.yaml")])


def _load(text: str) -> dict[str, Any] | None:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    return data if isinstance(data, dict) and isinstance(data.get("id"), str) else None


def _rules_at(repo: Path, prefix: str, commit: str) -> dict[str, dict[str, Any]]:
    names = _git(repo, "ls-tree", "-r", "--name-only", commit, "--", prefix).split("\n")
    found = {}
    for name in names:
        rel = name[len(prefix) :]
        if not name.endswith(".yaml") or "/" not in rel or rel.startswith(("vocabularies/", "programs/")):
            continue
        data = _load(_git(repo, "show", f"{commit}:{name}"))
        if data:
            found[data["id"]] = data
    return found


def _rules_now(root: Path) -> dict[str, dict[str, Any]]:
    found = {}
    for path in sorted(root.rglob("*.yaml")):
        rel = path.relative_to(root).as_posix()
        if "/" not in rel or rel.startswith(("vocabularies/", "programs/")):
            continue
        data = _load(path.read_text(encoding="utf-8"))
        if data:
            found[data["id"]] = data
    return found


def _resolved(root: Path) -> dict[str, dict[str, Any]] | None:
    """Each rule as a review covers it (parameters and named conditions filled in), or None
    when the folder does not load."""
    from ..rulebook import review
    from ..rulebook.loading import load

    try:
        book = load(root)
    except RulebookError:
        return None
    return {rule.id: review.content(rule, book) for rule in book.rules}


def _resolved_at(top: Path, prefix: str, commit: str) -> dict[str, dict[str, Any]] | None:
    import io
    import tarfile
    import tempfile

    archive = subprocess.run(
        ["git", "-C", str(top), "archive", "--format=tar", commit, "--", prefix], capture_output=True, check=False
    )
    if archive.returncode != 0:
        return None
    with tempfile.TemporaryDirectory() as folder, tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(folder, filter="data")
        return _resolved(Path(folder) / prefix)


def diff_since(root: Path, since: str) -> tuple[str, list[RuleChange]]:
    """(commit, changes) between the rules at ``since`` and the rules folder as it is now: the
    rules as a review covers them (so a parameter or named condition changed elsewhere shows in
    each rule that reads it), else, when either side does not load, the rule files as written."""
    root = root.resolve()
    top = Path(_git(root, "rev-parse", "--show-toplevel").strip())
    prefix = root.relative_to(top).as_posix() + "/"
    commit = _resolve(top, prefix, since)
    resolved_old, resolved_new = _resolved_at(top, prefix, commit), _resolved(root)
    if resolved_old is not None and resolved_new is not None:
        old, new = resolved_old, resolved_new
    else:
        old, new = _rules_at(top, prefix, commit), _rules_now(root)
    changes: list[RuleChange] = []
    for rule_id in sorted(set(old) | set(new)):
        if rule_id not in old:
            changes.append(RuleChange(rule_id, "added", {}))
        elif rule_id not in new:
            changes.append(RuleChange(rule_id, "removed", {}))
        else:
            parts = compare(old[rule_id], new[rule_id])
            if parts:
                changes.append(RuleChange(rule_id, "changed", parts))
    return commit, changes


def render(since: str, commit: str, changes: list[RuleChange]) -> str:
    out = [
        (
            f"Rules changed since {since} ({commit[:12]}): "
            f"{sum(c.kind == 'added' for c in changes)} added, {sum(c.kind == 'removed' for c in changes)} removed, "
            f"{sum(c.kind == 'changed' for c in changes)} changed"
        )
    ]
    for change in changes:
        if change.kind != "changed":
            out.append(f"\n{change.kind}: {change.rule_id}")
            continue
        out.append(f"\nchanged: {change.rule_id} ({', '.join(change.parts)})")
        for part, lines in change.parts.items():
            out.append(f"  {part}:")
            out += [f"    {line}" for line in lines]
    return "\n".join(out) + "\n"
