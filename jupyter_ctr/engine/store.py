"""StateStore: the engine's persistent state in one SQLite database (WAL mode).

Several processes (a Jupyter server, kernels, the CLI, conmon's exit command) open the same
database. SQLite serialises writers; the per-container locks in ``locks.py`` serialise the
read-modify-write of one container's state, as libpod's container locks do over its DB.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from .errors import (
    ContainerExistsError,
    NoSuchContainerError,
    NoSuchExecSessionError,
    NoSuchImageError,
)

# typing is for type checkers only: importing it costs every CLI command ~2 ms.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS containers (
    id      TEXT PRIMARY KEY,
    name    TEXT NOT NULL UNIQUE,
    config  TEXT NOT NULL,
    state   TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS images (
    id      TEXT PRIMARY KEY,
    record  TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS image_names (
    name     TEXT PRIMARY KEY,
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    time_ns    INTEGER NOT NULL,
    type       TEXT NOT NULL,
    action     TEXT NOT NULL,
    id         TEXT NOT NULL,
    name       TEXT NOT NULL,
    image      TEXT NOT NULL,
    attributes TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_time ON events(time_ns);
CREATE TABLE IF NOT EXISTS exit_codes (
    id      TEXT PRIMARY KEY,
    code    INTEGER NOT NULL,
    time_ns INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS exec_sessions (
    id           TEXT PRIMARY KEY,
    container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
    config       TEXT NOT NULL,
    state        TEXT NOT NULL,
    created      INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS exec_sessions_ctr ON exec_sessions(container_id);
CREATE INDEX IF NOT EXISTS containers_owner
    ON containers(coalesce(json_extract(config, '$.owner_uid'), 0));
"""


#: The owner's uid of a container row, as its index (containers_owner) has it: a list of
#: one owner's containers reads theirs alone.
_OWNER_UID = "coalesce(json_extract(config, '$.owner_uid'), 0)"


def _label_path(key: str) -> str | None:
    """The JSON path of label ``key`` in a config, or None when the key cannot be quoted in
    one (then the caller filters in Python)."""
    if '"' in key or "\\" in key:
        return None
    return f'$.labels."{key}"'


class StateStore:
    """Containers, images, events and exit codes in ``<root>/state.db``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn().executescript(_SCHEMA)

    # -- connection handling -------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
        return conn

    class _Tx:
        def __init__(self, conn: sqlite3.Connection) -> None:
            self.conn = conn

        def __enter__(self) -> sqlite3.Connection:
            self.conn.execute("BEGIN IMMEDIATE")
            return self.conn

        def __exit__(self, exc_type: object, *_: object) -> None:
            self.conn.execute("ROLLBACK" if exc_type else "COMMIT")

    def _tx(self) -> StateStore._Tx:
        return StateStore._Tx(self._conn())

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- containers ----------------------------------------------------------------------
    def add_container(self, ctr_id: str, name: str, config: dict[str, Any],
                      state: dict[str, Any]) -> None:
        try:
            with self._tx() as db:
                db.execute(
                    "INSERT INTO containers(id, name, config, state, created) VALUES (?,?,?,?,?)",
                    (ctr_id, name, json.dumps(config), json.dumps(state), time.time()),
                )
        except sqlite3.IntegrityError as exc:
            raise ContainerExistsError(
                f"the container name {name!r} is already in use: choose another name"
            ) from exc

    def container_state(self, ctr_id: str) -> dict[str, Any]:
        row = self._conn().execute("SELECT state FROM containers WHERE id=?", (ctr_id,)).fetchone()
        if row is None:
            raise NoSuchContainerError(f"no container with id {ctr_id} found in the state store")
        state: dict[str, Any] = json.loads(row[0])
        return state

    def container_ids(self) -> set[str]:
        return {row[0] for row in self._conn().execute("SELECT id FROM containers")}

    def container_exists(self, ctr_id: str) -> bool:
        return self._conn().execute("SELECT 1 FROM containers WHERE id=?",
                                    (ctr_id,)).fetchone() is not None

    def save_container_state(self, ctr_id: str, state: dict[str, Any]) -> None:
        with self._tx() as db:
            cur = db.execute("UPDATE containers SET state=? WHERE id=?",
                             (json.dumps(state), ctr_id))
            if cur.rowcount == 0:
                raise NoSuchContainerError(f"container {ctr_id} was removed from the state store")

    def remove_container(self, ctr_id: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM containers WHERE id=?", (ctr_id,))

    def lookup_container(self, name_or_id: str, owner_uid: int | None = None,
                         ) -> tuple[str, dict[str, Any]]:
        """Find by exact name, full id or unique id prefix; returns (id, config). With
        ``owner_uid`` only that owner's containers count: another's is not found (the same
        error as a missing one), and an id prefix is unique among the owner's alone."""
        conn = self._conn()

        def owned(rows: list[Any]) -> list[Any]:
            if owner_uid is None:
                return rows
            return [r for r in rows if json.loads(r[1]).get("owner_uid", 0) == owner_uid]

        rows = owned(conn.execute("SELECT id, config FROM containers WHERE name=? OR id=?",
                                  (name_or_id, name_or_id)).fetchall())[:1]
        if not rows and name_or_id and all(c in "0123456789abcdef" for c in name_or_id):
            query = conn.execute("SELECT id, config FROM containers WHERE id >= ? AND id < ?",
                                 (name_or_id, name_or_id + "g"))
            rows = owned(query.fetchall() if owner_uid is not None else query.fetchmany(2))
            if len(rows) > 1:
                raise NoSuchContainerError(
                    f"more than one container matches the id prefix {name_or_id!r}: "
                    "give more characters"
                )
        if not rows:
            raise NoSuchContainerError(f"no container with name or ID {name_or_id!r} found")
        return rows[0][0], json.loads(rows[0][1])

    def container_owned_by(self, ctr_id: str, owner_uid: int) -> bool:
        """Whether the container exists and ``owner_uid`` owns it."""
        row = self._conn().execute("SELECT config FROM containers WHERE id=?",
                                   (ctr_id,)).fetchone()
        return row is not None and json.loads(row[0]).get("owner_uid", 0) == owner_uid

    def all_containers(self) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
        rows = self._conn().execute(
            "SELECT id, config, state FROM containers ORDER BY created").fetchall()
        return [(r[0], json.loads(r[1]), json.loads(r[2])) for r in rows]

    def select_containers(self, *, owner_uid: int | None = None,
                          states: Iterable[str] | None = None,
                          id_prefixes: Sequence[str] = (), name_globs: Sequence[str] = (),
                          labels: Sequence[tuple[str, str | None]] = (),
                          owners: Sequence[str] = (),
                          ) -> list[tuple[str, float, str, str]]:
        """The container rows a list wants, selected in SQL, oldest first: (id, created,
        config JSON, state JSON), undecoded (the caller may know the config already: it
        never changes). Each condition given narrows the rows, values of one condition
        are alternatives (any), ``labels`` all hold. ``owner_uid``: that owner's only (an
        index); ``states``: stored states (``ContainerRecord.state`` values), and any row with
        a verb in flight (its state is about to change); ``id_prefixes``; ``name_globs``:
        SQL GLOB patterns of the name; ``labels``: (key, value) pairs, value None for "has the
        key"; ``owners``: login names or uids (as text)."""
        where: list[str] = []
        args: list[Any] = []
        if owner_uid is not None:
            where.append(f"{_OWNER_UID} = ?")
            args.append(owner_uid)
        if states is not None:
            wanted = list(states)
            marks = ",".join("?" * len(wanted))
            where.append(f"(json_extract(state, '$.state') IN ({marks}) OR "
                         "json_extract(state, '$.pending') IS NOT NULL)")
            args += wanted
        if id_prefixes:
            where.append("(" + " OR ".join("substr(id, 1, ?) = ?" for _ in id_prefixes) + ")")
            for prefix in id_prefixes:
                args += [len(prefix), prefix]
        if name_globs:
            where.append("(" + " OR ".join("name GLOB ?" for _ in name_globs) + ")")
            args += list(name_globs)
        for key, value in labels:
            path = _label_path(key)
            if path is None:
                continue
            if value is None:
                where.append("json_type(config, ?) IS NOT NULL")
                args.append(path)
            else:
                where.append("json_extract(config, ?) = ?")
                args += [path, value]
        if owners:
            marks = ",".join("?" * len(owners))
            where.append(f"(json_extract(config, '$.owner_name') IN ({marks}) OR "
                         f"CAST({_OWNER_UID} AS TEXT) IN ({marks}))")
            args += list(owners) * 2
        sql = "SELECT id, created, config, state FROM containers"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return self._conn().execute(sql + " ORDER BY created", args).fetchall()

    def live_exec_ids(self) -> dict[str, list[str]]:
        """Container id -> ids of its exec sessions not stored as stopped (unsynced: a list's
        view; a container's ``observe`` syncs them)."""
        out: dict[str, list[str]] = {}
        for ctr_id, exec_id in self._conn().execute(
                "SELECT container_id, id FROM exec_sessions WHERE "
                "json_extract(state, '$.state') != 'stopped' ORDER BY created, id"):
            out.setdefault(ctr_id, []).append(exec_id)
        return out

    def running_containers(self, owner_uid: int | None = None) -> list[tuple[str, str, int]]:
        """(id, name, started_at ns) of every container recorded as running or paused (that
        ``owner_uid`` owns, when given), in one query that reads no config unless it has
        to know the owner (a stats sampler's list, once a second)."""
        sql = ("SELECT id, name, json_extract(state, '$.started_at') FROM containers "
               "WHERE json_extract(state, '$.state') IN ('running', 'paused')")
        args: tuple[int, ...] = ()
        if owner_uid is not None:
            sql += f" AND {_OWNER_UID} = ?"
            args = (owner_uid,)
        rows = self._conn().execute(sql, args).fetchall()
        return [(r[0], r[1], int(r[2] or 0)) for r in rows]

    # -- exit codes (kept after removal so wait() can answer, as libpod does) -------------
    def set_exit_code(self, ctr_id: str, code: int) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO exit_codes(id, code, time_ns) VALUES (?,?,?)",
                       (ctr_id, code, time.time_ns()))

    def exit_code(self, ctr_id: str) -> int | None:
        row = self._conn().execute("SELECT code FROM exit_codes WHERE id=?",
                                   (ctr_id,)).fetchone()
        return None if row is None else int(row[0])

    # -- images --------------------------------------------------------------------------
    def add_image(self, image_id: str, names: list[str], record: dict[str, Any]) -> None:
        """Store an image; a name already held by another image moves to this one."""
        with self._tx() as db:
            # An upsert, not INSERT OR REPLACE: replacing the row would cascade to its names.
            db.execute("INSERT INTO images(id, record, created) VALUES (?,?,?) "
                       "ON CONFLICT(id) DO UPDATE SET record=excluded.record",
                       (image_id, json.dumps(record), time.time()))
            for name in names:
                db.execute("INSERT OR REPLACE INTO image_names(name, image_id) VALUES (?,?)",
                           (name, image_id))

    def image(self, image_id: str) -> tuple[dict[str, Any], list[str]]:
        conn = self._conn()
        row = conn.execute("SELECT record FROM images WHERE id=?", (image_id,)).fetchone()
        if row is None:
            raise NoSuchImageError(f"no image with id {image_id} found")
        names = [r[0] for r in conn.execute(
            "SELECT name FROM image_names WHERE image_id=? ORDER BY name", (image_id,))]
        return json.loads(row[0]), names

    def image_id_for_name(self, name: str) -> str | None:
        row = self._conn().execute("SELECT image_id FROM image_names WHERE name=?",
                                   (name,)).fetchone()
        return None if row is None else str(row[0])

    def image_ids(self) -> list[str]:
        return [r[0] for r in self._conn().execute("SELECT id FROM images ORDER BY created")]

    def remove_image(self, image_id: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM image_names WHERE image_id=?", (image_id,))
            db.execute("DELETE FROM images WHERE id=?", (image_id,))

    def tag_image(self, name: str, image_id: str) -> None:
        """Point ``name`` at ``image_id`` (moving it from any other image), atomically."""
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO image_names(name, image_id) VALUES (?,?)",
                       (name, image_id))

    def untag_image(self, name: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM image_names WHERE name=?", (name,))

    def untag_image_unless_last(self, name: str, image_id: str) -> bool:
        """Remove ``name`` from ``image_id`` if the image keeps another name, atomically
        (two removals of an image's last two names must not both only untag). False, and
        nothing changed, when ``name`` is its last name (or not its name)."""
        with self._tx() as db:
            names = [r[0] for r in db.execute(
                "SELECT name FROM image_names WHERE image_id=?", (image_id,))]
            if name not in names or len(names) < 2:
                return False
            db.execute("DELETE FROM image_names WHERE name=?", (name,))
            return True

    # -- events --------------------------------------------------------------------------
    def add_event(self, time_ns: int, type_: str, action: str, ctr_id: str, name: str,
                  image: str, attributes: dict[str, str]) -> int:
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO events(time_ns, type, action, id, name, image, attributes) "
                "VALUES (?,?,?,?,?,?,?)",
                (time_ns, type_, action, ctr_id, name, image, json.dumps(attributes)),
            )
            return int(cur.lastrowid or 0)

    def events_after(self, seq: int, since_ns: int | None = None,
                     until_ns: int | None = None) -> Iterator[tuple[Any, ...]]:
        sql = ("SELECT seq, time_ns, type, action, id, name, image, attributes FROM events "
               "WHERE seq > ?")
        args: list[Any] = [seq]
        if since_ns is not None:
            sql += " AND time_ns >= ?"
            args.append(since_ns)
        if until_ns is not None:
            sql += " AND time_ns <= ?"
            args.append(until_ns)
        sql += " ORDER BY seq"
        yield from self._conn().execute(sql, args).fetchall()

    def last_event_seq(self) -> int:
        row = self._conn().execute("SELECT MAX(seq) FROM events").fetchone()
        return int(row[0] or 0)

    # -- exec sessions (rows go with their container: ON DELETE CASCADE) ------------------
    def add_exec_session(self, exec_id: str, ctr_id: str, config: dict[str, Any],
                         state: dict[str, Any]) -> None:
        try:
            with self._tx() as db:
                db.execute("INSERT INTO exec_sessions(id, container_id, config, state, created) "
                           "VALUES (?,?,?,?,?)",
                           (exec_id, ctr_id, json.dumps(config), json.dumps(state),
                            time.time_ns()))
        except sqlite3.IntegrityError as exc:
            raise NoSuchContainerError(
                f"cannot add exec session {exec_id}: no container {ctr_id} in the state store"
            ) from exc

    def exec_session(self, exec_id: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
        """One exec session as (container id, config, state)."""
        row = self._conn().execute(
            "SELECT container_id, config, state FROM exec_sessions WHERE id=?",
            (exec_id,)).fetchone()
        if row is None:
            raise NoSuchExecSessionError(f"no exec session with ID {exec_id} found")
        return row[0], json.loads(row[1]), json.loads(row[2])

    def save_exec_state(self, exec_id: str, state: dict[str, Any]) -> None:
        with self._tx() as db:
            cur = db.execute("UPDATE exec_sessions SET state=? WHERE id=?",
                             (json.dumps(state), exec_id))
            if cur.rowcount == 0:
                raise NoSuchExecSessionError(f"exec session {exec_id} was removed")

    def container_exec_sessions(self, ctr_id: str
                                ) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
        """A container's exec sessions as (id, config, state), oldest first."""
        rows = self._conn().execute(
            "SELECT id, config, state FROM exec_sessions WHERE container_id=? "
            "ORDER BY created, id", (ctr_id,)).fetchall()
        return [(r[0], json.loads(r[1]), json.loads(r[2])) for r in rows]

    def remove_exec_session(self, exec_id: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM exec_sessions WHERE id=?", (exec_id,))
