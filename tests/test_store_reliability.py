"""The store under load and failure: concurrent writers lose and duplicate nothing, a killed
writer leaves only whole records and a chain that verifies, and a locked or full database gives
a clear error with nothing partial written. On SQLite and on a real PostgreSQL server."""

import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml
from conftest import EXAMPLES, ROOT
from sqlalchemy import event
from store_support import TODAY, raw_sql, store_url  # noqa: F401 (fixture)

from screening import screen
from screening.decisions.model import make_decision
from screening.decisions.store import StoreError, open_store

WRITER = Path(__file__).with_name("store_writer.py")
THREADS, PROCESSES, EACH = 8, 2, 1000


@pytest.fixture(scope="module")
def report():
    return screen(yaml.safe_load((EXAMPLES / "duo-mdma.yaml").read_text()), today=TODAY)


@pytest.fixture
def report_file(report, tmp_path):
    path = tmp_path / "report.json"
    path.write_text(report.to_json())
    return path


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


def _writer(url, report_file, name, count):
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    return subprocess.Popen(
        [sys.executable, str(WRITER), url, str(report_file), name, str(count)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_8_threads_and_2_processes_writing_1000_decisions_each_lose_and_duplicate_nothing(store_url, report, report_file):
    store = open_store(store_url)
    store.add_report(report)
    processes = [_writer(store_url, report_file, f"process-{p}", EACH) for p in range(PROCESSES)]
    errors = []

    def write(name):
        try:
            for i in range(EACH):
                store.record_decision(_decision(report, i, name))
        except Exception as error:  # noqa: BLE001 (reported below)
            errors.append(repr(error))

    threads = [threading.Thread(target=write, args=(f"thread-{t}",)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outputs = [p.communicate(timeout=900) for p in processes]
    assert not errors, errors[:3]
    assert all(p.returncode == 0 for p in processes), [err[-500:] for _, err in outputs]
    records = store.audit_log()
    total = (THREADS + PROCESSES) * EACH
    assert len(records) == total
    assert [r.seq for r in records] == list(range(1, total + 1))
    written = {(r.reviewer, r.note) for r in records}
    expected = {(f"thread-{t}", str(i)) for t in range(THREADS) for i in range(EACH)}
    expected |= {(f"process-{p}", str(i)) for p in range(PROCESSES) for i in range(EACH)}
    assert written == expected  # nothing lost, nothing twice
    printed = {line for out, _ in outputs for line in out.split()}
    assert printed <= {r.decision_id for r in records} and len(printed) == PROCESSES * EACH
    result = store.verify()
    assert result.ok, result.problems[:5]
    store.close()


def test_a_writer_killed_mid_write_loses_no_committed_record_and_the_store_verifies(store_url, report, report_file):
    open_store(store_url).close()
    writer = _writer(store_url, report_file, "killed", 0)
    committed = []
    for line in writer.stdout:
        committed.append(line.strip())
        if len(committed) == 300:
            break
    os.kill(writer.pid, signal.SIGKILL)  # most likely inside a transaction: it writes without pause
    rest, _ = writer.communicate(timeout=60)
    committed += rest.split()
    assert writer.returncode == -signal.SIGKILL
    with open_store(store_url) as store:
        stored = [r.decision_id for r in store.audit_log()]
        assert set(committed) <= set(stored)
        assert len(stored) - len(committed) in (0, 1)  # at most the one committed just before its print
        assert store.verify().ok
        store.record_decision(_decision(report, 0, "after"))  # and the store goes on working
        assert store.verify().records == len(stored) + 1


def _hold_write_lock(url):
    """Another client holding the lock the store needs, until release() is called."""
    if url.startswith("postgresql"):
        import psycopg

        conn = psycopg.connect(url)
        conn.execute("LOCK TABLE screening_decisions IN ACCESS EXCLUSIVE MODE")
        return conn.rollback, conn.close
    import sqlite3

    conn = sqlite3.connect(url, isolation_level=None)
    conn.execute("BEGIN EXCLUSIVE")
    return lambda: conn.execute("ROLLBACK"), conn.close


def test_a_locked_database_gives_a_clear_error_and_records_nothing(store_url, report):
    with open_store(store_url, lock_timeout=0.5) as store:
        store.add_report(report)
        store.record_decision(_decision(report, 0, "before"))
        release, close = _hold_write_lock(store_url)
        try:
            with pytest.raises(StoreError) as caught:
                store.record_decision(_decision(report, 1, "while-locked").model_copy(update={"note": "SECRET-NOTE-123"}))
        finally:
            release()
            close()
        message = str(caught.value)
        assert "locked by another writer" in message and "nothing was recorded" in message
        assert "SECRET-NOTE-123" not in message and "INSERT" not in message
        assert caught.value.__cause__ is None and caught.value.__suppress_context__
        assert [r.reviewer for r in store.audit_log()] == ["before"]
        assert store.verify().ok
        store.record_decision(_decision(report, 2, "after"))
        assert store.verify().records == 2


def _fill_until_full(store, report):
    written = []
    with pytest.raises(StoreError) as caught:
        for i in range(100_000):
            written.append(store.record_decision(_decision(report, i, "filler")).decision_id)
    return written, str(caught.value)


def test_a_full_sqlite_database_gives_a_clear_error_and_no_partial_record(tmp_path, report):
    # SQLite's own size limit raises the same SQLITE_FULL error as a full disk
    store = open_store(str(tmp_path / "full.sqlite"))
    store.add_report(report)
    pages = raw_sql(str(tmp_path / "full.sqlite"), ["PRAGMA page_count"])[0][0][0]

    @event.listens_for(store.engine, "connect")
    def _limit(dbapi, _record):
        dbapi.execute(f"PRAGMA max_page_count = {pages + 8}")

    store.engine.dispose()
    written, message = _fill_until_full(store, report)
    assert "no space left" in message and "nothing was recorded" in message
    assert written and [r.decision_id for r in store.audit_log()] == written
    assert store.verify().ok
    store.close()


def _mount_tmpfs(path: Path, size: str) -> bool:
    path.mkdir()
    try:
        return (
            subprocess.run(
                ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True, timeout=30
            ).returncode
            == 0
        )
    except (OSError, subprocess.SubprocessError):
        return False


def test_a_full_disk_gives_a_clear_error_and_no_partial_record(tmp_path, report):
    disk = tmp_path / "disk"
    if not _mount_tmpfs(disk, "320k"):  # the reports chain (schema 2) needs a few pages more
        pytest.skip("cannot mount a small tmpfs here (needs root): the full-disk case is covered by SQLite's size limit above")
    try:
        store = open_store(str(disk / "decisions.sqlite"))
        store.add_report(report)
        written, message = _fill_until_full(store, report)
        assert "no space left" in message and "nothing was recorded" in message
        assert written and [r.decision_id for r in store.audit_log()] == written
        assert store.verify().ok
        store.close()
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True, timeout=30)


@pytest.mark.skipif(
    not os.environ.get("SCREENING_TEST_POSTGRES_URL"),
    reason="PostgreSQL store tests NOT RUN: SCREENING_TEST_POSTGRES_URL is not set",
)
def test_a_full_disk_under_postgresql_gives_a_clear_error_and_no_partial_record(tmp_path, report):
    import tempfile

    from store_support import fresh_url

    disk = Path(tempfile.mkdtemp(prefix="screening-pgdisk-")) / "disk"  # the server's user must reach it
    disk.parent.chmod(0o755)
    if not _mount_tmpfs(disk, "1m"):
        shutil.rmtree(disk.parent)
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    url, drop = fresh_url("postgresql", tmp_path)
    try:
        subprocess.run(["chown", "postgres", str(disk)], capture_output=True, timeout=30)
        space = "small_" + Path(url).name
        raw_sql(
            url,
            [
                f"CREATE TABLESPACE {space} LOCATION '{disk}'",
                f'ALTER DATABASE "{Path(url).name}" SET default_tablespace = {space}',
            ],
        )
        store = open_store(url)  # its tables now live on the 1 MB disk
        store.add_report(report)
        written, message = _fill_until_full(store, report)
        assert "no space left" in message and "nothing was recorded" in message
        assert written and [r.decision_id for r in store.audit_log()] == written
        assert store.verify().ok
        store.close()
        drop()
        raw_sql(os.environ["SCREENING_TEST_POSTGRES_URL"], [f"DROP TABLESPACE {space}"])
    finally:
        drop()
        subprocess.run(["umount", "-l", str(disk)], capture_output=True, timeout=30)
        shutil.rmtree(disk.parent)


def test_a_store_on_a_disk_that_fills_up_between_uses_says_no_space(tmp_path, report):
    """Issue 27, 10a: whatever SQLite calls it (often "disk I/O error"), a full disk is "no space"."""
    disk = tmp_path / "disk"
    if not _mount_tmpfs(disk, "256k"):
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        open_store(str(disk / "decisions.sqlite")).close()
        fd = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT)
        try:
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError:
            pass
        finally:
            os.close(fd)
        for attempt in (lambda: open_store(str(disk / "decisions.sqlite")).add_report(report),):
            with pytest.raises(StoreError) as caught:
                attempt()
            assert "no space left" in str(caught.value) and "nothing was recorded" in str(caught.value)
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True, timeout=30)


def test_a_read_only_store_can_be_listed_and_verified(tmp_path, report):
    """Issue 27, 10b: a store that needs no migration opens without writing, so a read-only mount lists and verifies."""
    from screening.decisions.model import make_decision

    disk = tmp_path / "disk"
    if not _mount_tmpfs(disk, "4m"):
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        path = disk / "decisions.sqlite"
        with open_store(str(path)) as store:
            store.add_report(report)
            flag = report.flags[0]
            store.record_decision(
                make_decision(
                    report_id=report.report_id,
                    rule_id=flag.rule_id,
                    participant=flag.participant,
                    outcome="noted",
                    reviewer="dr.kim",
                )
            )
        remount = subprocess.run(["mount", "-o", "remount,ro", str(disk)], capture_output=True, timeout=30)
        assert remount.returncode == 0, remount.stderr
        with open_store(str(path)) as store:
            assert len(store.audit_log()) == 1 and store.verify().ok
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True, timeout=30)
