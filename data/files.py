"""Files written whole or not at all: the one way OneGrid replaces a file on disk (users,
rules, mappings, briefings, photos, archive parts).

A reader (another thread, another process, Spark reading the archive) sees the old file or the
new one, never half of one; after a crash the file is either the old or the new, and the new
one's name survives because its folder is fsynced after the rename.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["fsync_dir", "replacing", "write_atomic"]


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries (a rename or a new file in it) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def replacing(path: str | Path, *, private: bool = False) -> Iterator[BinaryIO]:
    """A binary file to write ``path``'s new content into.

    It is a hidden temporary file in ``path``'s folder (created with it; names starting with a
    dot are skipped by the archive's readers). On a clean exit it is flushed, fsynced and renamed
    over ``path``, then the folder is fsynced; on an exception it is removed and ``path`` is left
    as it was. ``private``: the file is created with mode 0600 by ``os.open`` itself, so its
    content never exists with wider permissions.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if private else 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    fsync_dir(path.parent)


def write_atomic(path: str | Path, data: bytes | str, *, private: bool = False) -> None:
    """Replace ``path`` with ``data`` (text is written as UTF-8) whole or not at all; see
    :func:`replacing` (``private``: mode 0600)."""
    with replacing(path, private=private) as fh:
        fh.write(data.encode("utf-8") if isinstance(data, str) else data)
