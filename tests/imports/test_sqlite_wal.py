"""Checkpoints of SQLite's write-ahead log from a thread, while another connection writes."""

import sqlite3

from patron.imports import sqlite_wal


def test_it_copies_the_log_into_the_database_while_another_connection_writes(tmp_path, monkeypatch):
    monkeypatch.setattr(sqlite_wal, "INTERVAL", 0.01)
    path = tmp_path / "db.sqlite3"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode = WAL")
    writer.execute("PRAGMA wal_autocheckpoint = 0")  # as the import's connection during a run
    writer.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    empty = path.stat().st_size
    with sqlite_wal.BackgroundCheckpoints(path):
        for _ in range(20):
            writer.execute("BEGIN IMMEDIATE")
            writer.executemany("INSERT INTO t (v) VALUES (?)", [("x" * 200,)] * 500)
            writer.execute("COMMIT")
    # Only a checkpoint writes into the database file itself; the writer never ran one.
    assert path.stat().st_size > empty + 20 * 500 * 200
    assert writer.execute("SELECT count(*) FROM t").fetchone() == (10_000,)
    writer.close()
