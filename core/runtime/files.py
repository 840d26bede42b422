"""Private files of one user's session (DESIGN rule 9): a video being encoded is written to
disk, never under a name another session could guess or share.

A ``PrivateFolder`` is a fresh directory that only this server's account can read (mode
0700, from ``tempfile.mkdtemp``); each file in it gets a fresh random name. The folder and
its files are removed when the session that holds it is dropped, or at exit. A job writing
a file holds its ``PrivateFile``, which holds the folder, so the folder outlives the job.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from dataclasses import dataclass
from pathlib import Path


class PrivateFolder:
    """A temporary folder for one session's files, removed with the object."""

    def __init__(self) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="cnnlab-session-"))
        self._remove = weakref.finalize(self, shutil.rmtree, self.path, ignore_errors=True)

    def new_file(self, suffix: str) -> PrivateFile:
        """An empty file with a random name ending in ``suffix``."""
        handle, name = tempfile.mkstemp(suffix=suffix, dir=self.path)
        os.close(handle)
        return PrivateFile(Path(name), self)

    def remove(self) -> None:
        """Remove the folder and everything in it now."""
        self._remove()


@dataclass(frozen=True)
class PrivateFile:
    """A file in a ``PrivateFolder``; holding it keeps the folder."""

    path: Path
    folder: PrivateFolder

    def delete(self) -> None:
        self.path.unlink(missing_ok=True)
