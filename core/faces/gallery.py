"""The face gallery of one-shot learning (course week 4): K people, each enrolled from one
photo or a few, kept as the aligned 160×160 crops their encodings are computed from.

A ``Gallery`` lives in memory (a user's session). With a ``GalleryStore`` (a SQLite file
or a PostgreSQL database the operator names) every change is also written there, under an owner key, and a
gallery is read back only for that owner. Exported galleries are ``.npz`` files of names
and crops; encodings are recomputed, so they always match the network in use.
"""

from __future__ import annotations

import io
import sqlite3
import time
import urllib.parse
import uuid
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.faces.recognition import CROP_SIZE
from core.runtime.errors import UserError

MAX_NAME_LENGTH = 60
MAX_ENTRIES = 500  # photos per gallery: 500 crops of 160×160×3 are 38 MB
EXPORT_FORMAT = "cnn-lab-face-gallery-1"
POSTGRES_SCHEMES = ("postgresql://", "postgres://")
CONNECT_TIMEOUT_S = 5


class GalleryError(UserError):
    """A gallery change or file that cannot be accepted; the message says why."""


@dataclass(frozen=True)
class Enrolled:
    """One enrolled photo: a stable id, the person's name and the aligned crop (160, 160, 3) uint8."""

    entry_id: str
    name: str
    crop: np.ndarray = field(repr=False)


def clean_name(name: str) -> str:
    """The name with surrounding spaces removed; empty or overlong names are refused."""
    cleaned = " ".join(name.split())
    if not cleaned:
        raise GalleryError("Give the person a name.")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise GalleryError(f"Names are at most {MAX_NAME_LENGTH} characters.")
    return cleaned


def _checked_crop(crop: np.ndarray) -> np.ndarray:
    if crop.shape != (CROP_SIZE, CROP_SIZE, 3) or crop.dtype != np.uint8:
        raise GalleryError(f"A face crop is ({CROP_SIZE}, {CROP_SIZE}, 3) uint8, not {crop.shape} {crop.dtype}.")
    return crop


class GalleryStore:
    """Galleries in a database, one per owner key: a SQLite file (``SqliteGalleryStore``) on
    one machine, PostgreSQL (``PostgresGalleryStore``) for app replicas on several; ``open_store``
    picks by the location. Each call opens its own connection in a transaction, so sessions
    on different threads and replicas share the store; any database failure is a ``GalleryError``."""

    placeholder = "?"
    table = (
        "CREATE TABLE IF NOT EXISTS faces (entry_id TEXT PRIMARY KEY, owner TEXT NOT NULL, "
        "name TEXT NOT NULL, crop BLOB NOT NULL, added REAL NOT NULL)"
    )
    enrollment_order = "added, rowid"

    def __init__(self, location: str | Path) -> None:
        self.location = str(location)
        self._execute(self.table)

    @contextmanager
    def _connect(self) -> Iterator[Any]:
        """A DB-API connection in a transaction."""
        raise NotImplementedError

    def _execute(self, statement: str, *rows: tuple[object, ...]) -> list[tuple[Any, ...]]:
        """``statement`` once per row of parameters (once without any); the rows it selects."""
        statement = statement.replace("?", self.placeholder)
        with self._connect() as connection:
            cursor = connection.cursor()
            if len(rows) > 1:
                cursor.executemany(statement, rows)
                return []
            cursor.execute(statement, rows[0] if rows else ())
            return cursor.fetchall() if cursor.description else []

    def entries(self, owner: str) -> list[Enrolled]:
        rows = self._execute(
            f"SELECT entry_id, name, crop FROM faces WHERE owner = ? ORDER BY {self.enrollment_order}", (owner,)
        )
        return [
            Enrolled(entry_id, name, np.frombuffer(bytes(crop), np.uint8).reshape(CROP_SIZE, CROP_SIZE, 3))
            for entry_id, name, crop in rows
        ]

    def add(self, owner: str, entry: Enrolled) -> None:
        self._execute(
            "INSERT INTO faces (entry_id, owner, name, crop, added) VALUES (?, ?, ?, ?, ?)",
            (entry.entry_id, owner, entry.name, entry.crop.tobytes(), time.time()),
        )

    def rename(self, owner: str, old: str, new: str) -> None:
        self._execute("UPDATE faces SET name = ? WHERE owner = ? AND name = ?", (new, owner, old))

    def remove(self, owner: str, entry_ids: Iterable[str]) -> None:
        rows = [(owner, entry_id) for entry_id in entry_ids]
        if rows:
            self._execute("DELETE FROM faces WHERE owner = ? AND entry_id = ?", *rows)


class SqliteGalleryStore(GalleryStore):
    """Galleries in one SQLite file."""

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            with closing(sqlite3.connect(self.location, timeout=10)) as connection, connection:
                yield connection
        except sqlite3.Error as error:
            raise GalleryError(f"The face database {self.location} cannot be used ({error}).") from None


class PostgresGalleryStore(GalleryStore):
    """Galleries in a PostgreSQL database (psycopg 3), shared by every app replica."""

    placeholder = "%s"
    table = (
        "CREATE TABLE IF NOT EXISTS faces (entry_id TEXT PRIMARY KEY, owner TEXT NOT NULL, "
        "name TEXT NOT NULL, crop BYTEA NOT NULL, added DOUBLE PRECISION NOT NULL, seq BIGSERIAL)"
    )
    enrollment_order = "added, seq"

    @contextmanager
    def _connect(self) -> Iterator[Any]:
        import psycopg

        try:
            with psycopg.connect(self.location, connect_timeout=CONNECT_TIMEOUT_S) as connection:
                yield connection  # committed when the block ends, rolled back on an error
        except psycopg.Error as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise GalleryError(
                f"The face database {describe_location(self.location)} cannot be used ({reason})."
            ) from None


def open_store(location: str) -> GalleryStore:
    """The store at ``location``: a ``postgresql://`` URL, or a SQLite file's path."""
    if location.startswith(POSTGRES_SCHEMES):
        return PostgresGalleryStore(location)
    return SqliteGalleryStore(location)


def describe_location(location: str) -> str:
    """``location`` as a page may show it: a database URL without its user and password."""
    if not location.startswith(POSTGRES_SCHEMES):
        return location
    parts = urllib.parse.urlsplit(location)
    host = parts.hostname or urllib.parse.parse_qs(parts.query).get("host", ["this machine"])[0]
    return f"PostgreSQL database {parts.path.lstrip('/') or 'postgres'} on {host}"


@dataclass(frozen=True)
class ImportResult:
    """What importing a gallery file did: photos added, photos that were already there, and
    photos left out because the gallery was full."""

    added: int
    already_there: int
    left_out: int = 0

    def summary(self, file_name: str) -> str:
        def photos(count: int) -> str:
            return f"{count:,} photo" + ("" if count == 1 else "s")

        full = f" {photos(self.left_out)} left out: a gallery holds at most {MAX_ENTRIES}." if self.left_out else ""
        if not self.added:
            return f"Nothing new in {file_name}: its {photos(self.already_there)} are already in the gallery." + full
        skipped = f" ({photos(self.already_there)} already there)" if self.already_there else ""
        return f"Imported {photos(self.added)} from {file_name}{skipped}." + full


class Gallery:
    """Enrolled photos grouped by name, in enrollment order; written through to ``store``
    under ``owner`` when both are given. When the store fails (a damaged or unwritable file),
    the gallery keeps everything it holds in memory, stops writing, and says why in
    ``unsaved_reason``: nothing already here is lost."""

    def __init__(self, store: GalleryStore | None = None, owner: str = "") -> None:
        self.store, self.owner = store, owner
        self.unsaved_reason: str | None = None
        self.entries: list[Enrolled] = []
        self.refresh()

    def refresh(self) -> None:
        """Read the owner's gallery from the store again (another session of the same owner
        may have changed it)."""
        if self.store:
            try:
                self.entries = self.store.entries(self.owner)
            except GalleryError as error:
                self._detach(error)

    def _write(self, operation: str, *args: object) -> None:
        if self.store:
            try:
                getattr(self.store, operation)(self.owner, *args)
            except GalleryError as error:
                self._detach(error)

    def _detach(self, error: GalleryError) -> None:
        self.store = None
        self.unsaved_reason = (
            f"{error} This session keeps its gallery in memory from now on: nothing in it is "
            "lost, but changes are no longer written to the database."
        )

    def names(self) -> list[str]:
        """The identities, each once, in the order they were first enrolled."""
        return list(dict.fromkeys(entry.name for entry in self.entries))

    def entries_of(self, name: str) -> list[Enrolled]:
        return [entry for entry in self.entries if entry.name == name]

    def add(self, name: str, crop: np.ndarray) -> Enrolled:
        """Enroll one more photo of ``name`` (a new identity, or another photo of one)."""
        if len(self.entries) >= MAX_ENTRIES:
            raise GalleryError(f"A gallery holds at most {MAX_ENTRIES} photos; delete some to enroll more.")
        entry = Enrolled(uuid.uuid4().hex, clean_name(name), _checked_crop(crop).copy())
        self._write("add", entry)
        self.entries.append(entry)
        return entry

    def rename(self, old: str, new: str) -> str:
        new = clean_name(new)
        if old not in self.names():
            raise GalleryError(f"There is no {old!r} in the gallery.")
        if new != old and new in self.names():
            raise GalleryError(f"{new!r} is already in the gallery; delete one of them or pick another name.")
        self._write("rename", old, new)
        self.entries = [
            Enrolled(entry.entry_id, new, entry.crop) if entry.name == old else entry for entry in self.entries
        ]
        return new

    def remove(self, name: str) -> None:
        """Forget ``name`` and every photo enrolled for it."""
        self._remove([entry.entry_id for entry in self.entries_of(name)])

    def clear(self) -> None:
        """Forget everyone."""
        self._remove([entry.entry_id for entry in self.entries])

    def _remove(self, entry_ids: list[str]) -> None:
        self._write("remove", entry_ids)
        gone = set(entry_ids)
        self.entries = [entry for entry in self.entries if entry.entry_id not in gone]

    def export(self) -> bytes:
        """The gallery as an ``.npz`` file: names and crops, no encodings."""
        buffer = io.BytesIO()
        crops = (
            np.stack([entry.crop for entry in self.entries])
            if self.entries
            else np.zeros((0, CROP_SIZE, CROP_SIZE, 3), np.uint8)
        )
        np.savez_compressed(
            buffer,
            format=np.array(EXPORT_FORMAT),
            names=np.array([entry.name for entry in self.entries], dtype=str),
            crops=crops,
        )
        return buffer.getvalue()

    def import_file(self, data: bytes) -> ImportResult:
        """Add the photos of an exported gallery (a name already here gains the photos); a
        photo already enrolled under the same name is skipped, so importing a file twice
        adds nothing the second time. A file that is not such a gallery adds nothing."""
        names, crops = read_export(data)
        present = {(entry.name, entry.crop.tobytes()) for entry in self.entries}
        added = left_out = 0
        for name, crop in zip(names, crops):
            if (name, crop.tobytes()) in present:
                continue
            if len(self.entries) >= MAX_ENTRIES:
                left_out += 1
                continue
            self.add(name, crop)
            present.add((name, crop.tobytes()))
            added += 1
        return ImportResult(added, len(names) - added - left_out, left_out)


def _check_unpacked_size(data: bytes) -> None:
    """Refuse a file whose crops would unpack beyond a full gallery's (a small compressed
    file can hold gigabytes of zeros), before anything is unpacked."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        unpacked = sum(member.file_size for member in archive.infolist())
    if unpacked > MAX_ENTRIES * (CROP_SIZE**2 * 3 + 4 * MAX_NAME_LENGTH) + 2**20:
        raise GalleryError(f"This gallery file holds more than {MAX_ENTRIES} photos, more than a gallery may.")


def read_export(data: bytes) -> tuple[list[str], np.ndarray]:
    """The names and (N, 160, 160, 3) crops of an exported gallery file."""
    try:
        _check_unpacked_size(data)
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            if str(archive["format"]) != EXPORT_FORMAT:
                raise GalleryError("This file is not a CNN Lab face gallery.")
            names, crops = [str(name) for name in archive["names"]], archive["crops"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        if isinstance(error, GalleryError):
            raise
        raise GalleryError("This file is not a CNN Lab face gallery (export one with “Export gallery”).") from None
    if crops.dtype != np.uint8 or crops.shape != (len(names), CROP_SIZE, CROP_SIZE, 3):
        raise GalleryError("This gallery file is damaged: its crops do not match its names.")
    return [clean_name(name) for name in names], crops
