"""Listening tests kept in SQLite: naturalness, intelligibility and fluency (1-5 ACR scales, as
in ITU-T P.808 / P.800), "type what you heard" (its WER against the reference), each rater's clips
in a seeded random order; MUSHRA trials (ITU-R BS.1534: 0-100 sliders, hidden reference,
low-pass anchors) and A/B preferences. The statistics the field reports come with them: t-based
95 % intervals of each MOS, per-rater z-scores, rater screening on gold and trapping clips,
MUSHRA post-screening, and a Bradley-Terry ranking of A/B preferences with bootstrap intervals.

Databases made by earlier versions are migrated when opened (``PRAGMA user_version``): columns
and tables are added, no row is rewritten or dropped.

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
    "intelligibility",
    "fluency",
)
CLIP_ROLES = ("test", "gold", "trap")
"""A test clip is scored; a gold clip has a known answer (a rating within one point of it is
right); a trapping clip asks the rater, in its own audio, to give one exact score."""
SCREENING_RULES = (
    "A rater's ratings are left out of the results if they gave any trapping clip a score other "
    "than the one it asks for, or rated any gold clip more than one point away from its known "
    "answer (after ITU-T P.808's gold and trapping questions). "
    "MUSHRA: a rater who scores the hidden reference below 90 in more than 15 % of trials is left "
    "out (ITU-R BS.1534-3, post-screening)."
)
"""The rules :meth:`ListeningStore.screen_raters` and :func:`mushra_screening` apply, in words
for the page that shows the results."""
SCHEMA_VERSION = 2

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
_MIGRATIONS: dict[int, tuple[str, ...]] = {
    # version 2: more ACR scales, clip roles for rater screening, MUSHRA and A/B tables
    2: (
        "ALTER TABLE clips ADD COLUMN role TEXT NOT NULL DEFAULT 'test'"
        " CHECK (role IN ('test', 'gold', 'trap'))",
        "ALTER TABLE clips ADD COLUMN expected INTEGER",
        "ALTER TABLE ratings ADD COLUMN intelligibility INTEGER"
        " CHECK (intelligibility IS NULL OR intelligibility BETWEEN 1 AND 5)",
        "ALTER TABLE ratings ADD COLUMN fluency INTEGER"
        " CHECK (fluency IS NULL OR fluency BETWEEN 1 AND 5)",
        """CREATE TABLE IF NOT EXISTS mushra_ratings (
            rating_id INTEGER PRIMARY KEY AUTOINCREMENT,
            rater TEXT NOT NULL,
            trial TEXT NOT NULL,
            condition TEXT NOT NULL,
            score REAL NOT NULL CHECK (score BETWEEN 0 AND 100),
            rated_at REAL NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS preferences (
            preference_id INTEGER PRIMARY KEY AUTOINCREMENT,
            rater TEXT NOT NULL,
            item TEXT NOT NULL,
            first TEXT NOT NULL,
            second TEXT NOT NULL,
            choice TEXT NOT NULL CHECK (choice IN ('first', 'second', 'tie')),
            rated_at REAL NOT NULL
        )""",
    ),
}


class ListeningError(LabError, ValueError):
    """A listening-test request that cannot be carried out (unknown clip or session, bad rating)."""


@dataclass(frozen=True, eq=False)
class Clip:
    """One stimulus: audio, the text it should say, and the system (model, condition) that made it."""

    clip_id: str
    audio: Audio
    reference: str
    system: str = ""
    role: str = "test"
    """One of :data:`CLIP_ROLES`."""
    expected: int | None = None
    """A gold clip's known naturalness, or the score a trapping clip asks for."""


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
    intelligibility: int | None = None
    fluency: int | None = None


@dataclass(frozen=True)
class SystemSummary:
    system: str
    ratings: int
    mos: float | None
    """Mean naturalness (None when no naturalness was given)."""
    mos_ci95: float | None
    """Half-width of the t-based 95 % interval of the MOS (None below 2 ratings)."""
    wer: float | None
    """Mean WER of the typed transcripts."""
    z_mean: float | None = None
    """Mean of the raters' z-scores (each rater's naturalness minus their own mean, over their own
    standard deviation): removes raters' habits of scoring high or low."""
    z_ci95: float | None = None
    intelligibility: float | None = None
    """Mean intelligibility rating (1-5)."""
    fluency: float | None = None
    """Mean fluency rating (1-5)."""


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
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            for target in sorted(v for v in _MIGRATIONS if v > version):
                for statement in _MIGRATIONS[target]:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {int(target)}")

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
        clips = list(clips)
        for c in clips:
            if not c.clip_id or not c.reference.strip():
                raise ListeningError(
                    f"Clip {c.clip_id!r} needs a non-empty id and the reference text it should say."
                )
            if c.role not in CLIP_ROLES:
                raise ListeningError(f"Clip role {c.role!r} is not one of {', '.join(CLIP_ROLES)}.")
            if c.role != "test" and c.expected not in NATURALNESS_SCALE:
                raise ListeningError(
                    f"The {c.role} clip {c.clip_id!r} needs its expected score (1-5)."
                )
        rows = [
            (c.clip_id, c.system, c.reference, c.audio.to_wav_bytes(), time.time(), c.role,
             c.expected)
            for c in clips
        ]  # fmt: skip
        with self._write() as conn:
            before = conn.total_changes
            conn.executemany(
                "INSERT OR IGNORE INTO clips (clip_id, system, reference, wav, added_at, role,"
                " expected) VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            return conn.total_changes - before

    def clip_ids(self) -> tuple[str, ...]:
        return tuple(
            r[0] for r in self._read("SELECT clip_id FROM clips ORDER BY added_at, clip_id")
        )

    def clip(self, clip_id: str) -> Clip:
        rows = self._read(
            "SELECT system, reference, wav, role, expected FROM clips WHERE clip_id = ?", (clip_id,)
        )
        if not rows:
            raise ListeningError(f"No clip {clip_id!r} in {self.path.name}: add it first.")
        system, reference, wav, role, expected = rows[0]
        return Clip(clip_id, Audio.load(wav), reference, system, role, expected)

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
        *,
        intelligibility: int | None = None,
        fluency: int | None = None,
    ) -> Rating:
        """Store one rating in its own transaction and return it with the typed text's WER/CER.
        Naturalness, intelligibility and fluency are 1-5 ACR scores; give any of them."""
        from lab.metrics import score

        for name, value in (
            ("Naturalness", naturalness),
            ("Intelligibility", intelligibility),
            ("Fluency", fluency),
        ):
            if value is not None and (isinstance(value, bool) or value not in NATURALNESS_SCALE):
                raise ListeningError(f"{name} must be a whole number from 1 to 5, got {value!r}.")
        heard = heard_text.strip() if heard_text is not None else ""
        if len(heard) > MAX_HEARD_CHARS:
            raise ListeningError(
                f"What you typed has {len(heard):,} characters; the limit is {MAX_HEARD_CHARS:,}: "
                "type only the words of the clip."
            )
        if naturalness is None and intelligibility is None and fluency is None and not heard:
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
                "INSERT INTO ratings (session_id, clip_id, naturalness, heard_text, wer, cer,"
                " rated_at, intelligibility, fluency) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    session_id,
                    clip_id,
                    naturalness,
                    heard or None,
                    wer,
                    cer,
                    rated_at,
                    intelligibility,
                    fluency,
                ),  # fmt: skip
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
            intelligibility=intelligibility,
            fluency=fluency,
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
            " r.naturalness, r.heard_text, r.wer, r.cer, r.rated_at, r.intelligibility, r.fluency"
            " FROM ratings r JOIN sessions s ON s.session_id = r.session_id"
            " JOIN clips c ON c.clip_id = r.clip_id"
            " JOIN session_clips sc ON sc.session_id = r.session_id AND sc.clip_id = r.clip_id"
            f" {where} ORDER BY r.rating_id",
            params,
        )
        return [Rating(*row) for row in rows]

    def screen_raters(self) -> dict[str, list[str]]:
        """Raters who fail the gold or trapping clips (:data:`SCREENING_RULES`), each with the
        reasons in words; latest ratings only."""
        roles = {
            r[0]: (r[1], r[2])
            for r in self._read("SELECT clip_id, role, expected FROM clips WHERE role != 'test'")
        }
        failed: dict[str, list[str]] = {}
        for r in self.ratings():
            if r.clip_id not in roles or r.naturalness is None:
                continue
            role, expected = roles[r.clip_id]
            if role == "trap" and r.naturalness != expected:
                failed.setdefault(r.rater, []).append(
                    f"trapping clip {r.clip_id}: gave {r.naturalness}, it asked for {expected}"
                )
            elif role == "gold" and abs(r.naturalness - expected) > 1:
                failed.setdefault(r.rater, []).append(
                    f"gold clip {r.clip_id}: gave {r.naturalness}, known answer {expected}"
                )
        return failed

    def summary(self, *, screen: bool = True) -> list[SystemSummary]:
        """Per system: MOS with a t-based 95 % interval, mean per-rater z-score with its interval,
        mean intelligibility and fluency, and mean typed-text WER; latest ratings of test clips
        only (gold and trapping clips are for screening). ``screen`` leaves out the raters
        :meth:`screen_raters` fails."""
        roles = dict(self._read("SELECT clip_id, role FROM clips"))
        excluded = set(self.screen_raters()) if screen else set()
        rows = [
            r for r in self.ratings() if roles.get(r.clip_id) == "test" and r.rater not in excluded
        ]
        z = dict(zip(map(id, rows), rater_z_scores(rows), strict=True))
        by_system: dict[str, list[Rating]] = {}
        for r in rows:
            by_system.setdefault(r.system, []).append(r)
        out = []
        for system in sorted(by_system):
            group = by_system[system]
            mos = t_interval([r.naturalness for r in group if r.naturalness is not None])
            zs = t_interval([v for r in group if (v := z[id(r)]) is not None])
            out.append(
                SystemSummary(
                    system,
                    len(group),
                    mos.mean,
                    mos.half_width,
                    _mean([r.wer for r in group]),
                    zs.mean,
                    zs.half_width,
                    _mean([r.intelligibility for r in group]),
                    _mean([r.fluency for r in group]),
                )
            )
        return out

    # --- MUSHRA ---------------------------------------------------------------------------
    def rate_mushra(self, rater: str, trial: str, scores: dict[str, float]) -> None:
        """Store one MUSHRA screen: a 0-100 score for each condition of ``trial`` (the hidden
        reference and the anchors among them), in one transaction."""
        rater = rater.strip()
        if not rater or len(rater) > MAX_RATER_CHARS:
            raise ListeningError(f"Give a rater name of 1-{MAX_RATER_CHARS} characters.")
        if not scores:
            raise ListeningError("A MUSHRA screen needs a score for each of its conditions.")
        for condition, value in scores.items():
            if isinstance(value, bool) or not (0 <= float(value) <= 100):
                raise ListeningError(f"MUSHRA scores run from 0 to 100; {condition} got {value!r}.")
        now = time.time()
        with self._write() as conn:
            conn.executemany(
                "INSERT INTO mushra_ratings (rater, trial, condition, score, rated_at)"
                " VALUES (?, ?, ?, ?, ?)",
                [(rater, trial, c, float(v), now) for c, v in scores.items()],
            )

    def mushra_ratings(self) -> list[MushraRating]:
        """The latest score of each (rater, trial, condition)."""
        rows = self._read(
            "SELECT rater, trial, condition, score FROM mushra_ratings WHERE rating_id IN"
            " (SELECT MAX(rating_id) FROM mushra_ratings GROUP BY rater, trial, condition)"
            " ORDER BY rating_id"
        )
        return [MushraRating(*row) for row in rows]

    # --- A/B preference -------------------------------------------------------------------
    def prefer(self, rater: str, item: str, first: str, second: str, choice: str) -> None:
        """Store one A/B answer: ``first`` and ``second`` are the systems in the order they were
        played (see :func:`ab_order`), ``choice`` 'first', 'second' or 'tie'."""
        rater = rater.strip()
        if not rater or len(rater) > MAX_RATER_CHARS:
            raise ListeningError(f"Give a rater name of 1-{MAX_RATER_CHARS} characters.")
        if choice not in ("first", "second", "tie"):
            raise ListeningError(f"Choose 'first', 'second' or 'tie', not {choice!r}.")
        if first == second:
            raise ListeningError("An A/B pair needs two different systems.")
        with self._write() as conn:
            conn.execute(
                "INSERT INTO preferences (rater, item, first, second, choice, rated_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (rater, item, first, second, choice, time.time()),
            )

    def preferences(self) -> list[Preference]:
        rows = self._read(
            "SELECT rater, item, first, second, choice FROM preferences ORDER BY preference_id"
        )
        return [Preference(*row) for row in rows]

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
                    "" if r.intelligibility is None else r.intelligibility,
                    "" if r.fluency is None else r.fluency,
                ]
            )
        return buffer.getvalue()


def _csv_safe(text: str) -> str:
    """Typed text that a spreadsheet would run as a formula gets a leading apostrophe."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _mean(values: Iterable[float | int | None]) -> float | None:
    present = [float(v) for v in values if v is not None]
    return sum(present) / len(present) if present else None


# --- statistics ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Interval:
    """A mean and the half-width of its confidence interval."""

    mean: float | None
    half_width: float | None
    """None below two values."""
    n: int
    confidence: float = 0.95

    @property
    def low(self) -> float | None:
        return None if self.mean is None or self.half_width is None else self.mean - self.half_width

    @property
    def high(self) -> float | None:
        return None if self.mean is None or self.half_width is None else self.mean + self.half_width


def t_interval(values: Sequence[float], confidence: float = 0.95) -> Interval:
    """Mean with Student's t interval, mean +- t(1 - alpha/2, n - 1) * s / sqrt(n): with the
    handful of ratings a listening test has, the normal 1.96 is too narrow (ITU-T P.1401)."""
    from scipy.stats import t

    n = len(values)
    if n == 0:
        return Interval(None, None, 0, confidence)
    mean = math.fsum(values) / n
    if n < 2:
        return Interval(mean, None, n, confidence)
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    half = float(t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
    return Interval(mean, half, n, confidence)


def rater_z_scores(ratings: Sequence[Rating]) -> list[float | None]:
    """Each naturalness as a z-score within its rater: (score - rater's mean) / rater's standard
    deviation. None where no naturalness was given, or for a rater who gave fewer than two
    ratings or the same score every time (no spread to scale by)."""
    by_rater: dict[str, list[int]] = {}
    for r in ratings:
        if r.naturalness is not None:
            by_rater.setdefault(r.rater, []).append(r.naturalness)
    stats: dict[str, tuple[float, float]] = {}
    for rater, scores in by_rater.items():
        if len(scores) < 2:
            continue
        mean = sum(scores) / len(scores)
        sd = math.sqrt(sum((s - mean) ** 2 for s in scores) / (len(scores) - 1))
        if sd > 0:
            stats[rater] = (mean, sd)
    out: list[float | None] = []
    for r in ratings:
        if r.naturalness is None or r.rater not in stats:
            out.append(None)
        else:
            mean, sd = stats[r.rater]
            out.append((r.naturalness - mean) / sd)
    return out


# --- MUSHRA ------------------------------------------------------------------------------------
MUSHRA_REFERENCE = "reference"
"""The condition name of the hidden reference."""
MUSHRA_ANCHORS: dict[str, float] = {"anchor 3.5 kHz": 3_500.0, "anchor 7 kHz": 7_000.0}
"""BS.1534-3's low anchor (3.5 kHz low-pass) and mid anchor (7 kHz low-pass)."""


@dataclass(frozen=True)
class MushraRating:
    rater: str
    trial: str
    condition: str
    score: float


def lowpass(audio: Audio, cutoff_hz: float) -> Audio:
    """Zero-phase low-pass (Butterworth, 10th order run forwards and backwards) at ``cutoff_hz``."""
    import numpy as np
    from scipy.signal import butter, sosfiltfilt

    if not 0 < cutoff_hz < audio.sample_rate / 2:
        raise ListeningError(f"A {cutoff_hz:g} Hz low-pass needs a sample rate above twice that.")
    sos = butter(10, cutoff_hz, btype="lowpass", fs=audio.sample_rate, output="sos")
    return Audio(sosfiltfilt(sos, audio.samples.astype(np.float64)), audio.sample_rate)


def mushra_stimuli(reference: Audio, systems: dict[str, Audio]) -> dict[str, Audio]:
    """The conditions of one MUSHRA trial: the systems under test, the hidden reference (the
    reference itself, unlabelled among them) and the two low-pass anchors. The labelled
    reference the rater compares against is ``reference`` itself."""
    clash = {MUSHRA_REFERENCE, *MUSHRA_ANCHORS} & set(systems)
    if clash:
        raise ListeningError(
            f"System names {sorted(clash)} are kept for the reference and anchors."
        )
    return {
        **systems,
        MUSHRA_REFERENCE: reference,
        **{name: lowpass(reference, hz) for name, hz in MUSHRA_ANCHORS.items()},
    }


def mushra_screening(
    ratings: Sequence[MushraRating], *, threshold: float = 90.0, max_share: float = 0.15
) -> dict[str, float]:
    """Raters to leave out, each with the share of their trials where they scored the hidden
    reference below ``threshold``, when that share exceeds ``max_share`` (BS.1534-3, 4.1.2)."""
    low: dict[str, list[bool]] = {}
    for r in ratings:
        if r.condition == MUSHRA_REFERENCE:
            low.setdefault(r.rater, []).append(r.score < threshold)
    shares = {rater: sum(flags) / len(flags) for rater, flags in low.items()}
    return {rater: share for rater, share in shares.items() if share > max_share}


def mushra_summary(ratings: Sequence[MushraRating], *, screen: bool = True) -> dict[str, Interval]:
    """Mean score of each condition with its t-based 95 % interval, after post-screening."""
    excluded = set(mushra_screening(ratings)) if screen else set()
    by_condition: dict[str, list[float]] = {}
    for r in ratings:
        if r.rater not in excluded:
            by_condition.setdefault(r.condition, []).append(r.score)
    return {c: t_interval(v) for c, v in sorted(by_condition.items())}


# --- A/B preference -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Preference:
    rater: str
    item: str
    first: str
    second: str
    choice: str
    """'first', 'second' or 'tie'."""


def ab_order(system_a: str, system_b: str, rng: random.Random) -> tuple[str, str]:
    """The two systems in a random order: which one plays first must not tell the rater which
    is which (order effects cancel over trials)."""
    pair = [system_a, system_b]
    rng.shuffle(pair)
    return pair[0], pair[1]


@dataclass(frozen=True)
class BradleyTerry:
    """One system's Bradley-Terry strength: P(i preferred to j) = p_i / (p_i + p_j)."""

    system: str
    log_strength: float
    """log p_i, centred so that the systems' mean is 0."""
    ci_low: float
    ci_high: float
    """Percentile bootstrap interval of ``log_strength`` (comparisons drawn again)."""
    wins: int
    ties: int
    losses: int


def bradley_terry_fit(
    comparisons: Sequence[tuple[str, str, float]], *, iterations: int = 10_000, tol: float = 1e-10
) -> dict[str, float]:
    """Maximum-likelihood log-strengths from (i, j, score of i) comparisons, score 1 for a win,
    0.5 for a tie, 0 for a loss, by Hunter's (2004) MM algorithm; centred to mean 0. A system
    that won or lost everything has no finite estimate: its strength runs to the iteration cap."""
    import numpy as np

    systems = sorted({s for i, j, _ in comparisons for s in (i, j)})
    index = {s: k for k, s in enumerate(systems)}
    n = len(systems)
    wins = np.zeros(n)
    games = np.zeros((n, n))
    for i, j, score in comparisons:
        a, b = index[i], index[j]
        wins[a] += score
        wins[b] += 1 - score
        games[a, b] += 1
        games[b, a] += 1
    p = np.ones(n)
    for _ in range(iterations):
        denom = (games / (p[:, None] + p[None, :])).sum(axis=1)
        new = np.where(denom > 0, np.maximum(wins, 1e-300) / np.where(denom > 0, denom, 1), p)
        new /= np.exp(np.mean(np.log(new)))
        done = np.max(np.abs(np.log(new) - np.log(p))) < tol
        p = new
        if done:
            break
    logs = np.log(p)
    return {s: float(logs[index[s]] - logs.mean()) for s in systems}


def bradley_terry(
    preferences: Sequence[Preference],
    *,
    resamples: int = 500,
    confidence: float = 0.95,
    seed: int = 0,
) -> list[BradleyTerry]:
    """Rank systems from A/B answers (ties count half a win each way), best first, with
    percentile bootstrap intervals over the answers."""
    import numpy as np

    if not preferences:
        raise ListeningError("No A/B answers yet: a ranking needs at least one.")
    score = {"first": 1.0, "second": 0.0, "tie": 0.5}
    comparisons = [(p.first, p.second, score[p.choice]) for p in preferences]
    point = bradley_terry_fit(comparisons)
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {s: [] for s in point}
    for _ in range(resamples):
        pick = rng.integers(0, len(comparisons), len(comparisons))
        fit = bradley_terry_fit([comparisons[k] for k in pick], iterations=2_000, tol=1e-8)
        for system in point:
            # a system drawn out of every comparison has no estimate on that draw
            if system in fit:
                draws[system].append(fit[system])
    alpha = (1 - confidence) / 2
    tally = {s: [0, 0, 0] for s in point}
    for i, j, x in comparisons:
        for system, mine in ((i, x), (j, 1 - x)):
            tally[system][0 if mine == 1 else 1 if mine == 0.5 else 2] += 1
    out = []
    for system, value in point.items():
        low, high = (
            np.quantile(draws[system], [alpha, 1 - alpha]) if draws[system] else (value,) * 2
        )
        out.append(BradleyTerry(system, value, float(low), float(high), *tally[system]))
    return sorted(out, key=lambda b: -b.log_strength)
