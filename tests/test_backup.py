"""``newsbrief backup``: a live SQLite database copied while something keeps writing to it; the
copy is whole, holds everything committed before it began, and ``newsbrief run`` starts on it.
Bad input ends in one clear line and a nonzero exit, leaving nothing behind."""

from __future__ import annotations

import os
import queue
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from jobs.main import main
from newsbrief.records import Message
from newsbrief.store import outbox
from newsbrief.store.db import Database
from tests.servers.feeds import FeedServer

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "config" / "samples"
NOW = datetime(2026, 12, 1, tzinfo=UTC)
NEWSBRIEF = (sys.executable, "-m", "jobs.main")


class Writer(threading.Thread):
    """Queues one outbox message per transaction through the store, as fast as it can, and
    remembers each committed row's id with when its commit returned."""

    def __init__(self, db: Database) -> None:
        super().__init__(daemon=True)
        self.db = db
        self.committed: list[tuple[float, int]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            with self.db.session() as session:
                outbox.enqueue_to(session, "telegram", "42", f"live{n}", [Message("x" * 500)], NOW)
            self.committed.append((time.monotonic(), n))


def newsbrief(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*NEWSBRIEF, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def fill(db: Database, rows: int) -> None:
    """Some bulk, so the copy takes a while: ``rows`` messages of 1 KB."""
    with db.session() as session:
        outbox.insert_deliveries(
            session,
            [
                {
                    "key": f"old{i}:0",
                    "platform": "telegram",
                    "chat_id": "7",
                    "thread_id": 0,
                    "text": f"{i} " + "y" * 1000,
                    "payload": None,
                    "parse_mode": None,
                    "disable_preview": True,
                    "priority": 0,
                    "status": "sent",
                    "attempts": 1,
                    "due_at": NOW,
                    "created_at": NOW,
                }
                for i in range(rows)
            ],
        )


def test_a_database_being_written_is_backed_up_whole_and_runs(tmp_path: Path) -> None:
    live = tmp_path / "live.db"
    db = Database(f"sqlite:///{live}")
    db.upgrade()
    fill(db, 30_000)
    writer = Writer(db)
    writer.start()
    try:
        while len(writer.committed) < 50:  # writing in earnest
            time.sleep(0.01)
        copy = tmp_path / "backups" / "copy.db"
        copy.parent.mkdir()
        env = {**os.environ, "NEWSBRIEF_DATABASE_URL": f"sqlite:///{live}"}
        began = time.monotonic()
        done = newsbrief("--no-config", "backup", str(copy), env=env)
        ended = time.monotonic()
    finally:
        writer.stop.set()
        writer.join(timeout=30)
        db.dispose()
    assert done.returncode == 0, done.stderr
    before = {n for when, n in writer.committed if when < began}
    during = [n for when, n in writer.committed if began <= when < ended]
    assert len(during) > 10, "the writer was held up by the backup"
    assert f"{copy}: " in done.stdout and "integrity ok" in done.stdout
    assert "deliveries" in done.stdout

    with sqlite3.connect(copy) as backup:
        assert backup.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert backup.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        keys = [k for (k,) in backup.execute("SELECT key FROM deliveries WHERE key LIKE 'live%'")]
        old = backup.execute("SELECT count(*) FROM deliveries WHERE key LIKE 'old%'").fetchone()
    copied = {int(k[4:].split(":")[0]) for k in keys}
    assert before <= copied
    # One moment's snapshot: a prefix of the writer's commits, no gaps.
    assert copied == set(range(1, max(copied) + 1))
    assert old == (30_000,)
    assert copy.stat().st_mode & 0o777 == 0o600  # as private as the database
    assert [p.name for p in copy.parent.iterdir()] == ["copy.db"]  # no temporary left

    assert_run_starts_on(copy, tmp_path)


def assert_run_starts_on(database: Path, tmp_path: Path) -> None:
    """``newsbrief run --role poll`` on the bundled sample feeds and taxonomy, with ``database``:
    it starts, polls into it and stops cleanly on SIGTERM."""
    with FeedServer() as feeds:
        for xml in SAMPLES.glob("*.xml"):
            kind = "application/atom+xml" if "<feed" in xml.read_text() else "application/rss+xml"
            feeds.set(f"/{xml.name}", xml.read_bytes(), kind)
        site = tmp_path / "site"
        site.mkdir()
        shutil.copy(ROOT / "config" / "topics.yaml", site / "topics.yaml")
        listing = (SAMPLES / "feeds.yaml").read_text(encoding="utf-8")
        (site / "newsbrief.yaml").write_text(
            f"database_url: sqlite:///{database}\n"
            "topics_file: topics.yaml\n"
            "fetch: {allow_private_networks: true}\n"
            "scheduler: {poll: 0.5}\n"
            "server: {port: 0}\n"
            "feeds:\n" + listing.replace("{base}", feeds.base_url),
            encoding="utf-8",
        )
        proc = subprocess.Popen(
            [*NEWSBRIEF, "--config", str(site / "newsbrief.yaml"), "run", "--role", "poll"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(
            target=lambda: [lines.put(line) for line in proc.stderr or ()], daemon=True
        ).start()
        try:
            seen = wait_for(lines, "newsbrief running", 60)
            assert seen, "no startup line"
            deadline = time.monotonic() + 30
            while entries(database) < 9 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert entries(database) == 9  # the three sample feeds' items, polled into it
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        assert proc.returncode == 0


def wait_for(lines: queue.Queue[str], text: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if text in lines.get(timeout=0.2):
                return True
        except queue.Empty:
            continue
    return False


def entries(database: Path) -> int:
    with sqlite3.connect(database, timeout=10) as connection:
        return int(connection.execute("SELECT count(*) FROM entries").fetchone()[0])


@pytest.fixture
def sqlite_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "nb.db"
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    fill(db, 10)
    db.dispose()
    monkeypatch.setenv("NEWSBRIEF_DATABASE_URL", f"sqlite:///{path}")
    return path


def backup(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["--no-config", "backup", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_an_existing_file_is_replaced_only_when_asked(
    sqlite_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "b.db"
    target.write_text("precious")
    code, out, err = backup(capsys, str(target))
    assert (code, out) == (1, "")
    assert err == f"newsbrief backup: {target} exists; pass --force to replace it\n"
    assert target.read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.db", "nb.db"]  # no temporary

    code, out, _ = backup(capsys, str(target), "--force")
    assert code == 0 and out.startswith(f"{target}: ") and "  deliveries " in out
    with sqlite3.connect(target) as copy:
        assert copy.execute("SELECT count(*) FROM deliveries").fetchone() == (10,)

    code, _, err = backup(capsys, str(sqlite_db), "--force")  # never over the database itself
    assert code == 1 and "is the database itself" in err


def test_bad_targets_and_databases_are_one_line_each(
    sqlite_db: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    missing_folder = tmp_path / "no" / "such" / "b.db"
    code, out, err = backup(capsys, str(missing_folder))
    assert (code, out) == (1, "")
    assert (
        err
        == f"newsbrief backup: {missing_folder}: the folder {missing_folder.parent} does not exist\n"
    )

    code, _, err = backup(capsys, str(tmp_path))
    assert code == 1 and err.endswith("is a folder; give the backup file's name\n")

    # A database that is not there: exit 3, and no empty database made in its place.
    gone = tmp_path / "gone.db"
    monkeypatch.setenv("NEWSBRIEF_DATABASE_URL", f"sqlite:///{gone}")
    code, _, err = backup(capsys, str(tmp_path / "b.db"))
    assert (code, err) == (3, f"newsbrief backup: database {gone} does not exist\n")
    assert not gone.exists() and not (tmp_path / "b.db").exists()

    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    monkeypatch.setenv("NEWSBRIEF_DATABASE_URL", f"sqlite:///{junk}")
    code, _, err = backup(capsys, str(tmp_path / "b.db"))
    assert code == 3 and err.count("\n") == 1
    assert err.startswith(f"newsbrief backup: database {junk} cannot be read: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junk.db", "nb.db"]


def test_postgresql_gets_the_pg_dump_line_without_its_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = "postgresql+psycopg://news:hunter2@db.internal:5433/newsbrief?sslmode=require"
    monkeypatch.setenv("NEWSBRIEF_DATABASE_URL", url)
    target = tmp_path / "nightly dump.pgc"
    code, out, err = backup(capsys, str(target))
    assert (code, out) == (2, "")
    assert "hunter2" not in err and err.count("\n") == 1
    assert "the database is PostgreSQL" in err
    line = err.split("back it up with ", 1)[1]
    assert line.startswith(f"pg_dump -Fc -f '{target}' 'postgresql://news:")
    assert "@db.internal:5433/newsbrief?sslmode=require'" in line
    assert not target.exists()
