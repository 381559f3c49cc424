"""Listening tests kept in SQLite: naturalness (1-5, a MOS) and "type what you heard" (its WER
against the reference), each rater's clips in a seeded random order.

Durability: every rating is its own committed transaction, so a process killed in the middle of a
session loses at most the rating being entered. The database runs in WAL mode with a busy
timeout, so two sessions in two processes can rate at the same time and both keep their rows.
Ratings are append-only: rating a clip again adds a row, and the latest one counts.
"""

from __future__ import annotations

import csv
import io
import math
import random
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from lab.audio import Audio
from lab.errors import LabError

MAX_RATER_CHARS = 100
"""Longest rater name or code."""
MAX_HEARD_CHARS = 2_000
"""Longest typed transcript: far more than any clip of a listening test says."""
BUSY_TIMEOUT_S = 10.0
"""How long a write waits for another connection's transaction before giving up."""
NATURALNESS_SCALE = (1, 2, 3, 4, 5)
NATURALNESS_LABELS = {1: "bad", 2: "poor", 3: "fair", 4: "good", 5: "excellent"}
"""The ITU-T P.800 absolute category rating labels."""

CSV_COLUMNS = (
    "session_id",
    "rater",
    "position",
    "clip_id",
    "system",
    "reference",
    "naturalness",
    "heard_text",
    "wer",
    "cer",
    "rated_at",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS clips (
    clip_id TEXT PRIMARY KEY,
    system TEXT NOT NULL,
    reference TEXT NOT NULL,
    wav BLOB NOT NULL,
    added_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    session_id INTEGER PRIMARY KEY AUTOINCREMENT,
    rater TEXT NOT NULL,
    seed INTEGER NOT NULL,
    started_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS session_clips (
    session_id INTEGER NOT NULL REFERENCES sessions(session_id),
    position INTEGER NOT NULL,
    clip_id TEXT NOT NULL REFERENCES clips(clip_id),
    PRIMARY KEY (session_id, position)
);
CREATE TABLE IF NOT EXISTS ratings (
    rating_id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id INTEGER NOT NULL REFERENCES sessions(session_id),
    clip_id TEXT NOT NULL REFERENCES clips(clip_id),
    naturalness INTEGER CHECK (naturalness IS NULL OR naturalness BETWEEN 1 AND 5),
    heard_text TEXT,
    wer REAL,
    cer REAL,
    rated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS ratings_by_session ON ratings (session_id, clip_id);
"""


class ListeningError(LabError, ValueError):
    """A listening-test request that cannot be carried out (unknown clip or session, bad rating)."""


@dataclass(frozen=True, eq=False)
class Clip:
    """One stimulus: audio, the text it should say, and the system (model, condition) that made it."""

    clip_id: str
    audio: Audio
    reference: str
    system: str = ""


@dataclass(frozen=True)
class Session:
    session_id: int
    rater: str
    clip_ids: tuple[str, ...]
    """Clip order this rater hears (shuffled with ``seed``)."""
    seed: int


@dataclass(frozen=True)
class Rating:
    session_id: int
    rater: str
    position: int
    clip_id: str
    system: str
    reference: str
    naturalness: int | None
    heard_text: str | None
    wer: float | None
    """WER of what the rater typed against the reference (None when nothing was typed)."""
    cer: float | None
    rated_at: float


@dataclass(frozen=True)
class SystemSummary:
    system: str
    ratings: int
    mos: float | None
    """Mean naturalness (None when no naturalness was given)."""
    mos_ci95: float | None
    """Half-width of the normal-approximation 95 % interval of the MOS (None below 2 ratings)."""
    wer: float | None
    """Mean WER of the typed transcripts."""


class ListeningStore:
    """A SQLite file of clips, sessions and ratings. One store = one connection; open one per
    process (or per thread) that rates."""

    def __init__(self, path: str | Path, *, busy_timeout_s: float = BUSY_TIMEOUT_S) -> None:
        self.path = Path(path)
        # isolation_level=None: transactions are opened explicitly (BEGIN IMMEDIATE), so a
        # writer takes the write lock up front instead of failing half-way on an upgrade.
        self._conn = sqlite3.connect(
            str(self.path), timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
        )
        self._lock = threading.Lock()
        self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        mode = self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise ListeningError(
                f"The listening-test database {self.path.name} cannot use WAL mode "
                f"(got {mode}): put it on a local disk, not a network share."
            )
        # FULL: a committed rating survives a power cut, not only a killed process.
        self._conn.execute("PRAGMA synchronous = FULL")
        self._conn.execute("PRAGMA foreign_keys = ON")
        with self._write() as conn:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)

    # --- plumbing -------------------------------------------------------------------------
    class _Transaction:
        def __init__(self, store: ListeningStore) -> None:
            self.store = store

        def __enter__(self) -> sqlite3.Connection:
            self.store._lock.acquire()
            try:
                self.store._conn.execute("BEGIN IMMEDIATE")
            except BaseException:
                self.store._lock.release()
                raise
            return self.store._conn

        def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
            try:
                self.store._conn.execute("COMMIT" if exc_type is None else "ROLLBACK")
            finally:
                self.store._lock.release()

    def _write(self) -> ListeningStore._Transaction:
        return ListeningStore._Transaction(self)

    def _read(self, sql: str, params: Sequence[object] = ()) -> list[tuple]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> ListeningStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- clips ----------------------------------------------------------------------------
    def add_clips(self, clips: Iterable[Clip]) -> int:
        """Store clips (audio as 16-bit WAV); a clip id already present keeps its first version,
        so ratings always refer to the audio that was heard. Returns how many were new."""
        rows = [
            (c.clip_id, c.system, c.reference, c.audio.to_wav_bytes(), time.time()) for c in clips
        ]
        for clip_id, _, reference, _, _ in rows:
            if not clip_id or not reference.strip():
                raise ListeningError(
                    f"Clip {clip_id!r} needs a non-empty id and the reference text it should say."
                )
        with self._write() as conn:
            before = conn.total_changes
            conn.executemany(
                "INSERT OR IGNORE INTO clips (clip_id, system, reference, wav, added_at) "
                "VALUES (?, ?, ?, ?, ?)",
                rows,
            )
            return conn.total_changes - before

    def clip_ids(self) -> tuple[str, ...]:
        return tuple(
            r[0] for r in self._read("SELECT clip_id FROM clips ORDER BY added_at, clip_id")
        )

    def clip(self, clip_id: str) -> Clip:
        rows = self._read("SELECT system, reference, wav FROM clips WHERE clip_id = ?", (clip_id,))
        if not rows:
            raise ListeningError(f"No clip {clip_id!r} in {self.path.name}: add it first.")
        system, reference, wav = rows[0]
        return Clip(clip_id, Audio.load(wav), reference, system)

    # --- sessions -------------------------------------------------------------------------
    def start_session(
        self, rater: str, clip_ids: Sequence[str] | None = None, *, seed: int | None = None
    ) -> Session:
        """A new session for ``rater`` over ``clip_ids`` (all clips when None) in a random order;
        the same seed gives the same order."""
        rater = rater.strip()
        if not rater:
            raise ListeningError("Type a rater name (or an anonymous code) before starting.")
        if len(rater) > MAX_RATER_CHARS:
            raise ListeningError(
                f"The rater name has {len(rater):,} characters; the limit is {MAX_RATER_CHARS}: "
                "type a shorter name or code."
            )
        ids = list(self.clip_ids() if clip_ids is None else clip_ids)
        if not ids:
            raise ListeningError(
                "There are no clips to rate: add clips to the listening test first."
            )
        known = set(self.clip_ids())
        missing = [c for c in ids if c not in known]
        if missing:
            raise ListeningError(f"Unknown clip {missing[0]!r}: add it before starting a session.")
        if seed is None:
            seed = random.SystemRandom().randrange(2**31)
        random.Random(seed).shuffle(ids)
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT INTO sessions (rater, seed, started_at) VALUES (?, ?, ?)",
                (rater, seed, time.time()),
            )
            session_id = int(cursor.lastrowid or 0)
            conn.executemany(
                "INSERT INTO session_clips (session_id, position, clip_id) VALUES (?, ?, ?)",
                [(session_id, i, c) for i, c in enumerate(ids)],
            )
        return Session(session_id, rater, tuple(ids), seed)

    def session(self, session_id: int) -> Session:
        rows = self._read("SELECT rater, seed FROM sessions WHERE session_id = ?", (session_id,))
        if not rows:
            raise ListeningError(f"No listening session {session_id} in {self.path.name}.")
        order = self._read(
            "SELECT clip_id FROM session_clips WHERE session_id = ? ORDER BY position",
            (session_id,),
        )
        return Session(session_id, rows[0][0], tuple(r[0] for r in order), int(rows[0][1]))

    def sessions(self) -> tuple[Session, ...]:
        ids = [r[0] for r in self._read("SELECT session_id FROM sessions ORDER BY session_id")]
        return tuple(self.session(i) for i in ids)

    def rated_clip_ids(self, session_id: int) -> set[str]:
        rows = self._read(
            "SELECT DISTINCT clip_id FROM ratings WHERE session_id = ?", (session_id,)
        )
        return {r[0] for r in rows}

    def next_clip_id(self, session_id: int) -> str | None:
        """The first clip of the session's order not rated yet (None when the session is done):
        a session reopened after a crash carries on where it stopped."""
        done = self.rated_clip_ids(session_id)
        return next((c for c in self.session(session_id).clip_ids if c not in done), None)

    def progress(self, session_id: int) -> tuple[int, int]:
        """(clips rated, clips in the session)."""
        return len(self.rated_clip_ids(session_id)), len(self.session(session_id).clip_ids)

    # --- ratings --------------------------------------------------------------------------
    def rate(
        self,
        session_id: int,
        clip_id: str,
        naturalness: int | None,
        heard_text: str | None = None,
    ) -> Rating:
        """Store one rating in its own transaction and return it with the typed text's WER/CER."""
        from lab.metrics import score

        if naturalness is not None and (
            isinstance(naturalness, bool) or naturalness not in NATURALNESS_SCALE
        ):
            raise ListeningError(
                f"Naturalness must be a whole number from 1 to 5, got {naturalness!r}."
            )
        heard = heard_text.strip() if heard_text is not None else ""
        if len(heard) > MAX_HEARD_CHARS:
            raise ListeningError(
                f"What you typed has {len(heard):,} characters; the limit is {MAX_HEARD_CHARS:,}: "
                "type only the words of the clip."
            )
        if naturalness is None and not heard:
            raise ListeningError("Give a naturalness score or type what you heard before saving.")
        session = self.session(session_id)
        if clip_id not in session.clip_ids:
            raise ListeningError(f"Clip {clip_id!r} is not part of session {session_id}.")
        clip_row = self._read("SELECT system, reference FROM clips WHERE clip_id = ?", (clip_id,))
        system, reference = clip_row[0]
        wer = cer = None
        if heard:
            scores = score(reference, heard)
            wer, cer = scores.wer, scores.cer
        rated_at = time.time()
        with self._write() as conn:
            conn.execute(
                "INSERT INTO ratings (session_id, clip_id, naturalness, heard_text, wer, cer, rated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (session_id, clip_id, naturalness, heard or None, wer, cer, rated_at),
            )
        return Rating(
            session_id=session_id,
            rater=session.rater,
            position=session.clip_ids.index(clip_id),
            clip_id=clip_id,
            system=system,
            reference=reference,
            naturalness=naturalness,
            heard_text=heard or None,
            wer=wer,
            cer=cer,
            rated_at=rated_at,
        )

    def ratings(self, session_id: int | None = None, *, latest_only: bool = True) -> list[Rating]:
        """Ratings in the order they were given; ``latest_only`` keeps the last rating of each
        (session, clip) when a clip was rated again."""
        where = "" if session_id is None else "WHERE r.session_id = ?"
        params: tuple[object, ...] = () if session_id is None else (session_id,)
        if latest_only:
            latest = (
                "r.rating_id IN (SELECT MAX(rating_id) FROM ratings GROUP BY session_id, clip_id)"
            )
            where = f"WHERE {latest}" if not where else f"{where} AND {latest}"
        rows = self._read(
            "SELECT r.session_id, s.rater, sc.position, r.clip_id, c.system, c.reference,"
            " r.naturalness, r.heard_text, r.wer, r.cer, r.rated_at"
            " FROM ratings r JOIN sessions s ON s.session_id = r.session_id"
            " JOIN clips c ON c.clip_id = r.clip_id"
            " JOIN session_clips sc ON sc.session_id = r.session_id AND sc.clip_id = r.clip_id"
            f" {where} ORDER BY r.rating_id",
            params,
        )
        return [Rating(*row) for row in rows]

    def summary(self) -> list[SystemSummary]:
        """MOS (with a 95 % interval) and mean typed-text WER per system, latest ratings only."""
        by_system: dict[str, list[Rating]] = {}
        for r in self.ratings():
            by_system.setdefault(r.system, []).append(r)
        out = []
        for system in sorted(by_system):
            rows = by_system[system]
            scores = [r.naturalness for r in rows if r.naturalness is not None]
            wers = [r.wer for r in rows if r.wer is not None]
            mos = sum(scores) / len(scores) if scores else None
            ci = None
            if len(scores) >= 2 and mos is not None:
                var = sum((s - mos) ** 2 for s in scores) / (len(scores) - 1)
                ci = 1.96 * math.sqrt(var / len(scores))
            out.append(
                SystemSummary(system, len(rows), mos, ci, sum(wers) / len(wers) if wers else None)
            )
        return out

    def to_csv(self, session_id: int | None = None, *, latest_only: bool = True) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for r in self.ratings(session_id, latest_only=latest_only):
            writer.writerow(
                [
                    r.session_id,
                    _csv_safe(r.rater),
                    r.position,
                    _csv_safe(r.clip_id),
                    _csv_safe(r.system),
                    _csv_safe(r.reference),
                    "" if r.naturalness is None else r.naturalness,
                    _csv_safe(r.heard_text or ""),
                    "" if r.wer is None else f"{r.wer:.4f}",
                    "" if r.cer is None else f"{r.cer:.4f}",
                    time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(r.rated_at)) + "Z",
                ]
            )
        return buffer.getvalue()


def _csv_safe(text: str) -> str:
    """Typed text that a spreadsheet would run as a formula gets a leading apostrophe."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
