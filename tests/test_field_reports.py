"""A grid worker's report with photos (/report): photos checked from their content before
anything is written, stored whole on disk and recorded on the case, shown to who may see the
case and to no one else; the reporter follows the case's state."""

from __future__ import annotations

import hashlib

import pytest

from app import create_app
from data import attachments, field_reports
from data.attachments import PhotoError, check_photos
from data.auth import User
from data.cases import desk
from tests.support.photos import data_url, image_bytes
from tests.support.region import tiny_cell_center, tiny_cell_code
from tests.support.web import TEST_PASSWORD, post_login

WORKER = User("gw", "grid_worker", area=tiny_cell_code(1, 1, 1))


def test_photos_are_checked_by_their_content():
    jpeg, png, webp = image_bytes("JPEG"), image_bytes("PNG"), image_bytes("WEBP")
    got = check_photos([("a.jpg", jpeg), ("b.png", png), ("c.webp", webp)], max_mb=1)
    assert [(p.mime, p.ext) for p in got] == [
        ("image/jpeg", "jpg"),
        ("image/png", "png"),
        ("image/webp", "webp"),
    ]
    cases = [
        ([("x.jpg", b"GIF89a not really")], "not_image"),
        ([("x.jpg", b"hello, I am text")], "not_image"),
        ([("anim.gif", image_bytes("GIF"))], "not_image"),  # a real image of another type
        ([("big.png", image_bytes("PNG", (900, 900)) + b"\0" * 2_000_000)], "too_big"),
        ([("a.jpg", jpeg)] * 4, "too_many"),
    ]
    for files, code in cases:
        with pytest.raises(PhotoError) as err:
            check_photos(files, max_mb=1)
        assert err.value.code == code
    with pytest.raises(PhotoError) as err:
        attachments.decode_upload("data:image/png;base64,@@not-base64@@")
    assert err.value.code == "unreadable"


def test_a_report_with_photos_becomes_a_case_with_its_photos(runtime):
    lon, lat = tiny_cell_center(1, 1, 1)
    jpeg, png = image_bytes("JPEG"), image_bytes("PNG")
    photos = [("street.jpg", data_url(jpeg)), ("bin.png", png)]
    case_id, reason = field_reports.file_report(
        runtime, WORKER, "city_appearance", "overflowing bin", lon, lat, photos
    )
    assert reason is None and case_id is not None
    stored = runtime.db.query(
        "SELECT path, mime, bytes, sha256, name, uploaded_by FROM case_attachments "
        "WHERE case_id = ? ORDER BY id",
        [case_id],
    )
    folder = attachments.folder_for(runtime.settings)
    for (path, mime, size, sha, name, by), data, want in zip(
        stored, (jpeg, png), (("image/jpeg", "street.jpg"), ("image/png", "bin.png")), strict=True
    ):
        assert (mime, name, by, size) == (*want, "gw", len(data))
        assert (folder / path).read_bytes() == data
        assert sha == hashlib.sha256(data).hexdigest() and path.startswith(f"{case_id}/")
    mine = field_reports.my_reports(runtime.db, "gw")
    assert mine[["case_id", "category", "photos"]].values.tolist() == [
        [case_id, "hotline.city_appearance", 2]
    ]
    assert (
        mine.state.iloc[0]
        == runtime.db.query_one("SELECT state FROM cases WHERE id = ?", [case_id])[0]
    )
    view = desk.history_view(runtime, User("op", "operator"), case_id)
    assert view["photos"].name.tolist() == ["street.jpg", "bin.png"]


def test_a_bad_photo_refuses_the_whole_report_and_writes_nothing(runtime):
    lon, lat = tiny_cell_center(1, 1, 1)
    with pytest.raises(PhotoError):
        field_reports.file_report(
            runtime, WORKER, "heating", "cold", lon, lat, [("ok.jpg", image_bytes()), ("x", b"no")]
        )
    for table in ("events", "cases", "case_attachments", "field_reports"):
        assert runtime.db.query_one(f"SELECT count(*) FROM {table}")[0] == 0, table
    assert not attachments.folder_for(runtime.settings).exists()
    assert field_reports.my_reports(runtime.db, "gw").empty


def test_a_photo_is_shown_to_who_may_see_its_case_only(runtime):
    lon, lat = tiny_cell_center(1, 1, 1)
    png = image_bytes("PNG")
    case_id, _ = field_reports.file_report(
        runtime, WORKER, "heating", "cold", lon, lat, [("p", png)]
    )
    (photo_id,) = runtime.db.query_one(
        "SELECT id FROM case_attachments WHERE case_id = ?", [case_id]
    )
    runtime.settings.auth = True
    app = create_app(runtime=runtime)
    url = f"/cases/attachment/{photo_id}"
    for name, role, kw, status in (
        ("op", "operator", {}, 200),
        ("lead1", "county_leader", {"area": "T01"}, 200),
        ("lead2", "county_leader", {"area": "T02"}, 403),
        ("gw2", "grid_worker", {"area": "T02"}, 403),
    ):
        runtime.users.add(name, TEST_PASSWORD, role, **kw)
        client = app.server.test_client()
        assert post_login(client, name, TEST_PASSWORD).status_code == 302
        resp = client.get(url)
        assert resp.status_code == status, name
        if status == 200:
            assert resp.data == png and resp.mimetype == "image/png"
            assert resp.headers["X-Content-Type-Options"] == "nosniff"
        # an id that does not exist answers as a refusal: nothing is learnt from the number
        assert client.get(f"/cases/attachment/{photo_id + 99}").status_code == 403
    anonymous = app.server.test_client().get(url)
    assert anonymous.status_code in (302, 401)
