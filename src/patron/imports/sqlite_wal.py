"""Copying SQLite's write-ahead log back into the database from a thread, during an import.

In WAL mode each commit appends the changed pages to the log, and by default the committing
connection copies the log back into the database (a checkpoint, ending in two fsyncs) once
it passes 1,000 pages. An import's batches fill that every batch or two, and the copying and
waiting for the disk were about a quarter of the import's time. SQLite lets another
connection checkpoint while the writer goes on (PASSIVE mode never blocks it), so during a
run the import's connection does none and this thread does them; the C library releases
Python's interpreter lock while it works, so the importing thread is not held up.

Nothing is less safe: every commit is in the log before it returns, and a checkpoint only
copies committed pages.
"""

import sqlite3
import threading
from pathlib import Path

# Seconds between checkpoints: often enough that the log stays small (a few batches).
INTERVAL = 0.5


class BackgroundCheckpoints:
    """`with BackgroundCheckpoints(path): ...` checkpoints the database at `path` meanwhile."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoints", daemon=True)

    def __enter__(self) -> "BackgroundCheckpoints":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        database = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            while not self._stop.wait(INTERVAL):
                _checkpoint(database)
            _checkpoint(database)  # so the next writer does not find a long log to copy
        finally:
            database.close()


def _checkpoint(database: sqlite3.Connection) -> None:
    try:
        database.execute("PRAGMA wal_checkpoint(PASSIVE)")
    except sqlite3.OperationalError:
        pass  # busy or locked: the next one copies what this one could not
