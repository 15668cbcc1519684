"""Small real images for the field-report tests, made with Pillow (no files in the repository)."""

from __future__ import annotations

import base64
import io


def image_bytes(fmt: str = "JPEG", size: tuple[int, int] = (64, 48), colour=(200, 80, 40)) -> bytes:
    """A real ``fmt`` image (JPEG, PNG, WEBP, GIF) of ``size`` pixels in one colour."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format=fmt)
    return out.getvalue()


def data_url(data: bytes, mime: str = "image/jpeg") -> str:
    """``data`` as the browser's upload sends it (dcc.Upload's ``contents``)."""
    return f"data:{mime};base64," + base64.b64encode(data).decode()
