"""Files attached to cases: a field report's photos (page ``/report``), shown with the case.

A photo is checked before anything is written: at most :data:`MAX_PHOTOS` per report, each at
most ``settings.photo_max_mb``, and a JPEG, PNG or WebP image that Pillow can read (the type is
read from the content, never from the name or the browser's word). It is stored under the
attachments folder as ``<case id>/<sha256>.<ext>``, written whole and then renamed, then recorded
in ``case_attachments``. Who may see a photo is who may see its case (``data.policy``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from data.files import write_atomic
from data.store import Database

MAX_PHOTOS = 3
# Pillow's format name -> (MIME type, file extension)
PHOTO_TYPES = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
}


class PhotoError(ValueError):
    """A photo that cannot be attached: ``code`` (too_many, too_big, not_image, unreadable) and
    ``params`` say why, for a message in the reader's language."""

    def __init__(self, message: str, code: str, **params) -> None:
        super().__init__(message)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class Photo:
    """A checked photo, ready to store: its bytes, type, extension and original name."""

    data: bytes
    mime: str
    ext: str
    name: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def folder_for(settings) -> Path:
    """The attachments folder: ``settings.attachments_dir``, else "attachments" beside the
    database file."""
    return Path(settings.attachments_dir or Path(settings.db).parent / "attachments")


def decode_upload(contents: str) -> bytes:
    """The bytes of a browser upload (a ``data:<type>;base64,<data>`` URL, as dcc.Upload sends);
    :class:`PhotoError` when it is not one."""
    head, _, body = str(contents or "").partition(",")
    if not head.startswith("data:") or not head.endswith(";base64"):
        raise PhotoError("an upload is a base64 data URL", "unreadable", name="")
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise PhotoError(f"the upload is not valid base64: {exc}", "unreadable", name="") from exc


def check_photos(files: list[tuple[str, bytes]], max_mb: float) -> list[Photo]:
    """``files`` (name, bytes) checked as photos; :class:`PhotoError` on the first that fails,
    so a report never goes in with some of its photos silently dropped."""
    from PIL import Image, UnidentifiedImageError

    if len(files) > MAX_PHOTOS:
        raise PhotoError(f"at most {MAX_PHOTOS} photos", "too_many", n=MAX_PHOTOS)
    limit = int(max_mb * 1024 * 1024)
    out = []
    for name, data in files:
        name = os.path.basename(str(name or ""))[:120]
        if len(data) > limit:
            raise PhotoError(
                f"{name}: {len(data)} bytes, over {max_mb:g} MB", "too_big", name=name, mb=max_mb
            )
        try:
            with Image.open(io.BytesIO(data)) as img:
                kind = img.format
                img.verify()
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            raise PhotoError(
                f"{name}: not a readable image ({exc})", "not_image", name=name
            ) from exc
        if kind not in PHOTO_TYPES:
            raise PhotoError(f"{name}: {kind} is not JPEG, PNG or WebP", "not_image", name=name)
        mime, ext = PHOTO_TYPES[kind]
        out.append(Photo(data, mime, ext, name))
    return out


def store_photos(
    db: Database, folder: Path, case_id: int, photos: list[Photo], uploader: str
) -> list[int]:
    """Write ``photos`` under ``folder`` and record them on case ``case_id``; returns their ids.

    Each file is written to a temporary name, flushed and renamed, before its row is written."""
    now = pd.Timestamp.now(tz="UTC")
    rows = []
    for photo in photos:
        rel = f"{int(case_id)}/{photo.sha256}.{photo.ext}"
        write_atomic(folder / rel, photo.data)
        rows.append([int(case_id), rel, photo.mime, len(photo.data), photo.sha256, photo.name])

    def run(con) -> list[int]:
        ids = []
        for row in rows:
            found = con.execute(
                "INSERT INTO case_attachments "
                "(case_id, path, mime, bytes, sha256, name, uploaded_by, uploaded_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                [*row, uploader, now],
            ).fetchall()
            ids.append(int(found[0][0]))
        return ids

    return db.write(run)


def of_case(db: Database, case_id: int) -> pd.DataFrame:
    """The attachments of case ``case_id``: id, mime, bytes, name, uploaded_by, uploaded_at."""
    return db.query_df(
        "SELECT id, mime, bytes, name, uploaded_by, uploaded_at FROM case_attachments "
        "WHERE case_id = ? ORDER BY id",
        [int(case_id)],
    )


def find(db: Database, attachment_id: int) -> dict | None:
    """One attachment's case id, path (relative to the folder) and type, or None."""
    row = db.query_one(
        "SELECT case_id, path, mime FROM case_attachments WHERE id = ?", [int(attachment_id)]
    )
    return None if row is None else {"case_id": int(row[0]), "path": row[1], "mime": row[2]}
