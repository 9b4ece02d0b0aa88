"""The validated-rulebook cache (rulebook.load_cached): a rulebook is taken from the cache only
when every byte it was validated from is the same; anything else loads from YAML."""

from __future__ import annotations

import os
import shutil

import pytest

from screening.errors import RulebookError
from screening.rulebook import conditions
from screening.rulebook import loading as rulebook


@pytest.fixture
def rules(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv(rulebook.CACHE_ENV, str(folder))
    root = tmp_path / "rules"
    shutil.copytree(rulebook.default_rules_dir(), root)
    return root


def _cached_files(root):
    return sorted((root.parent / "cache").glob("rulebook-*.pickle"))


def _same(a: rulebook.Rulebook, b: rulebook.Rulebook) -> None:
    assert a.sha256 == b.sha256 and a.version == b.version
    assert [(r.id, r.condition, r.guarded, r.meta) for r in a.rules] == [(r.id, r.condition, r.guarded, r.meta) for r in b.rules]
    assert a.baseline == b.baseline and a.named == b.named
    assert a.vocabulary.classes == b.vocabulary.classes


def test_a_second_load_comes_from_the_cache_and_is_the_same_rulebook(rules, monkeypatch):
    first = rulebook.load_cached(rules)
    assert len(_cached_files(rules)) == 1

    def no_yaml(root=None):
        raise AssertionError("loaded from YAML although the cache holds this rulebook")

    monkeypatch.setattr(rulebook, "load", no_yaml)
    second = rulebook.load_cached(rules)
    _same(first, second)


def test_one_changed_byte_in_a_rule_file_loads_from_yaml_again(rules):
    rulebook.load_cached(rules)
    path = next(p for p in sorted(rules.rglob("*.yaml")) if p.parent.name == "pregnancy")
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("summary:", "summary: XX", 1), encoding="utf-8")
    book = rulebook.load_cached(rules)
    changed = next(r for r in book.rules if r.path == path.relative_to(rules).as_posix())
    assert changed.meta.summary.startswith("XX")
    assert len(_cached_files(rules)) == 2


def test_a_rule_file_made_invalid_is_reported_not_taken_from_the_cache(rules):
    rulebook.load_cached(rules)
    path = next(p for p in sorted(rules.rglob("*.yaml")) if p.parent.name == "pregnancy")
    path.write_text(path.read_text(encoding="utf-8").replace("severity:", "severity: loud\nx_severity:", 1), encoding="utf-8")
    with pytest.raises(RulebookError):
        rulebook.load_cached(rules)


def test_a_new_file_in_the_rules_folder_is_a_different_key(rules):
    rulebook.load_cached(rules)
    (rules / "notes.txt").write_text("a reviewer's note", encoding="utf-8")
    rulebook.load_cached(rules)
    assert len(_cached_files(rules)) == 2


def test_a_damaged_cache_file_loads_from_yaml(rules):
    first = rulebook.load_cached(rules)
    (cached,) = _cached_files(rules)
    cached.write_bytes(b"not a pickle")
    os.chmod(cached, 0o600)
    _same(first, rulebook.load_cached(rules))


def test_a_cache_file_others_may_write_is_not_trusted(rules, monkeypatch):
    rulebook.load_cached(rules)
    (cached,) = _cached_files(rules)
    os.chmod(cached, 0o666)
    calls = []
    real = rulebook.load
    monkeypatch.setattr(rulebook, "load", lambda root=None: calls.append(root) or real(root))
    rulebook.load_cached(rules)
    assert calls == [rules]


def test_the_cache_can_be_switched_off(rules, monkeypatch):
    monkeypatch.setenv(rulebook.CACHE_ENV, "off")
    rulebook.load_cached(rules)
    assert not (rules.parent / "cache").exists()


def test_a_rulebook_from_the_cache_registers_the_counts_its_rules_read(rules, monkeypatch):
    book = rulebook.load_cached(rules)
    expected = {
        conditions.count_key(leaf)
        for rule in book.rules
        for leaf in conditions.walk(rule.condition)
        if leaf.op == conditions.COUNT
    }
    assert expected  # the shipped rules count medications
    monkeypatch.setattr(conditions, "COUNTS", {})
    import screening.engines.facts

    monkeypatch.setattr(screening.engines.facts, "COUNTS", conditions.COUNTS)
    again = rulebook.load_cached(rules)
    assert again is not book
    assert expected <= set(conditions.COUNTS)


class _Planted:
    """A pickle that leaves a mark when it is loaded: what another user would plant."""

    def __init__(self, mark):
        self.mark = str(mark)

    def __reduce__(self):
        return (open, (self.mark, "w"))


def _plant(target, mark):
    import pickle

    target.write_bytes(pickle.dumps(_Planted(mark)))


def test_a_symlink_in_the_cache_is_never_followed(rules, tmp_path, monkeypatch):
    """Issue 27, 8: another user's symlink rulebook-<key>.pickle -> a file the victim owns."""
    rulebook.load_cached(rules)
    (cached,) = _cached_files(rules)
    victim_file = tmp_path / "victims-own.pickle"
    mark = tmp_path / "unpickled"
    _plant(victim_file, mark)
    cached.unlink()
    cached.symlink_to(victim_file)
    book = rulebook.load_cached(rules)
    assert not mark.exists() and book.rules


def test_a_cache_folder_others_may_write_is_skipped_with_one_line(rules, tmp_path, monkeypatch, capsys):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    monkeypatch.setenv(rulebook.CACHE_ENV, str(shared))
    rulebook.load_cached(rules)
    assert not list(shared.glob("rulebook-*.pickle"))  # nothing written there either
    mark = tmp_path / "unpickled"
    monkeypatch.setattr(rulebook, "_write_cache", lambda *a: None)
    os.chmod(shared, 0o700)  # find the key the cache would use, then share the folder again
    key = rulebook._cache_key(rules)
    os.chmod(shared, 0o1777)
    _plant(shared / f"rulebook-{key}.pickle", mark)
    book = rulebook.load_cached(rules)
    assert not mark.exists() and book.rules
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "rulebook cache" in err and "skipped" in err
