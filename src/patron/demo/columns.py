"""Small vectorised helpers shared by the demo generator: ids, numbers, times, segments.

A table is a dict of equally long numpy arrays keyed by database column name. Text columns are
fixed-width unicode arrays (gathering them is a memory copy, unlike variable-width strings);
"" in an `..._id` column means NULL; money is int64 cents (-1 is NULL); times are
datetime64[s] in UTC (NaT is NULL); dates are datetime64[D].
"""

from dataclasses import dataclass

import numpy as np

Table = dict[str, np.ndarray]
STR = np.dtype("U")  # fixed width, chosen per array
SECOND = np.timedelta64(1, "s")
NAT = np.datetime64("NaT", "s")


def new_ids(rng: np.random.Generator, n: int, first: int | None = None) -> np.ndarray:
    """`n` UUIDs as 32 hex digits (the form both PostgreSQL and SQLite take).

    Random (version 4) by default. With `first`, ordered: the version-7 layout with the
    48-bit time field counting up from `first` and 74 random bits, so that rows written in
    order append to their B-tree indexes instead of landing on random pages, which is what
    makes bulk loads of millions of rows slow (and WAL-heavy) on PostgreSQL.
    """
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    if first is None:
        raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    else:
        sequence = np.arange(first, first + n, dtype=np.uint64).astype(">u8")
        raw[:, :6] = sequence.view(np.uint8).reshape(n, 8)[:, 2:]
        raw[:, 6] = (raw[:, 6] & 0x0F) | 0x70
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    return np.frombuffer(raw.tobytes().hex().encode(), dtype="S32").astype(STR)


@dataclass(frozen=True)
class Ids:
    """Ordered ids for one chunk: every table of the chunk counts up from `first`."""

    rng: np.random.Generator
    first: int

    def new(self, n: int) -> np.ndarray:
        return new_ids(self.rng, n, self.first)


def numbered(prefix: str, first: int, n: int, width: int) -> np.ndarray:
    """Human-readable numbers `prefix` + zero-padded `first`, `first + 1`, ..."""
    digits = np.arange(first, first + n, dtype=np.int64).astype(STR)
    return np.strings.add(prefix, np.strings.zfill(digits, width))


def random_text(rng: np.random.Generator, n: int, length: int, alphabet: str) -> np.ndarray:
    """`n` random strings of `length` characters drawn from an ASCII `alphabet`."""
    letters = np.frombuffer(alphabet.encode(), dtype=np.uint8)
    codes = letters[rng.integers(0, len(letters), size=(n, length))]
    return np.frombuffer(codes.tobytes(), dtype=f"S{length}").astype(STR)


def digits(rng: np.random.Generator, n: int, length: int) -> np.ndarray:
    return random_text(rng, n, length, "0123456789")


def pick(
    rng: np.random.Generator, pool: np.ndarray, n: int, p: np.ndarray | None = None
) -> np.ndarray:
    return pool[rng.choice(len(pool), size=n, p=p)]


def where(mask: np.ndarray, a: np.ndarray | str, b: np.ndarray | str) -> np.ndarray:
    """np.where for text columns, keeping the StringDType."""
    return np.where(mask, np.asarray(a, dtype=STR), np.asarray(b, dtype=STR)).astype(STR)


def blank(n: int, width: int = 32) -> np.ndarray:
    """Empty text wide enough for values written in later (32: a hex id)."""
    return np.full(n, "", dtype=f"U{width}")


@dataclass(frozen=True)
class Clock:
    """Converts 'days before the start of today' into UTC instants in the organisation's zone.

    `end` is local midnight at the start of `today`: everything in the past happens before it,
    so a task due "today" is simply `end` plus some hours.
    """

    end: np.datetime64  # datetime64[s], UTC

    @classmethod
    def for_day(cls, today: np.datetime64, utc_offset_hours: int) -> "Clock":
        start = np.datetime64(today, "D").astype("datetime64[s]")
        return cls(end=start - np.timedelta64(utc_offset_hours, "h").astype("timedelta64[s]"))

    def ago(self, days: np.ndarray) -> np.ndarray:
        """The instant `days` (fractional) before the end."""
        return self.end - np.round(np.asarray(days) * 86400).astype(np.int64) * SECOND

    def ago_in_hours(self, rng: np.random.Generator, days: np.ndarray) -> np.ndarray:
        """Some time between 09:00 and 21:00 local on the day `days` before today (days >= 0)."""
        whole = np.ceil(np.maximum(np.asarray(days, dtype=float), 1e-6))
        seconds = rng.integers(9 * 3600, 21 * 3600, size=whole.shape)
        return self.end - whole.astype(np.int64) * 86400 * SECOND + seconds * SECOND

    def ahead_in_hours(self, rng: np.random.Generator, days: np.ndarray) -> np.ndarray:
        """Some time between 09:00 and 18:00 local, `days` (whole, >= 0) days from today."""
        seconds = rng.integers(9 * 3600, 18 * 3600, size=np.shape(days))
        return self.end + (np.asarray(days, dtype=np.int64) * 86400 + seconds) * SECOND

    def days_before(self, instants: np.ndarray) -> np.ndarray:
        return (self.end - instants) / np.timedelta64(1, "D")


def segments(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For groups of sizes `counts`: each item's group, its rank in the group, group starts."""
    counts = np.asarray(counts, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    group = np.repeat(np.arange(len(counts)), counts)
    rank = np.arange(counts.sum()) - np.repeat(starts, counts)
    return group, rank, starts


def group_max(group: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Latest instant per group (NaT where a group has none)."""
    as_int = values.astype("datetime64[s]").astype(np.int64)
    out = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(out, group, as_int)
    result = out.astype("datetime64[s]")
    result[out == np.iinfo(np.int64).min] = NAT
    return result


def group_min(group: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Earliest instant per group (NaT where a group has none)."""
    as_int = values.astype("datetime64[s]").astype(np.int64)
    out = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(out, group, as_int)
    result = out.astype("datetime64[s]")
    result[out == np.iinfo(np.int64).max] = NAT
    return result


def take_rows(table: Table, index: np.ndarray) -> Table:
    return {name: column[index] for name, column in table.items()}
