"""Quiet hours that work: notices leave through an outbox written in their own transaction, and
the deliverer posts them to a real local webhook after commit, when their time has come, and
again later when the receiver was down (issue 11, item 5)."""

from __future__ import annotations

import socket
import time

import pandas as pd
import pytest

from data.cases import CaseService, InvalidTransition, Responsibilities, WorkCalendar
from tests.support.webhook import Receiver

TZ = "Asia/Shanghai"
MON_10 = pd.Timestamp("2026-11-23 10:00", tz=TZ).tz_convert("UTC")  # a Monday, 10:00 local
SAT_23 = pd.Timestamp("2026-11-28 23:00", tz=TZ).tz_convert("UTC")  # Saturday night
MON_0830 = pd.Timestamp("2026-11-30 08:30", tz=TZ).tz_convert("UTC")  # the next working time

LIST = """
version = 1
[hall]
id = "hall"
name_zh = "指挥中心"
name_en = "Hall"
level = "city"
[deadlines]
urgent = "2h"
normal = "48h"
complex = "15d"
[[departments]]
id = "heat"
name_zh = "供热"
name_en = "Heating"
level = "city"
[[departments]]
id = "roads"
name_zh = "道路"
name_en = "Roads"
level = "city"
[[rules]]
category = "hotline.heating"
department = "heat"
"""


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def svc(runtime, tmp_path):
    path = tmp_path / "list.toml"
    path.write_text(LIST, encoding="utf-8")
    rules = Responsibilities.load(path, db=runtime.db)
    s = CaseService(runtime.db, rules, WorkCalendar(TZ), deliver_interval_s=5.0)
    yield s
    s.deliverer.stop()


def _area(svc) -> int:
    return svc.db.query_one("SELECT key FROM areas WHERE level = 'grid' LIMIT 1")[0]


def test_failed_joint_dispatch_notifies_nobody(svc, receiver) -> None:
    svc.webhook_url = receiver.url
    cid = svc.create("hotline.heating", area_key=_area(svc), dispatch=False, now=MON_10)
    before = svc.db.query_one("SELECT count(*) FROM notifications")[0]
    # the first sub-case is dispatched (and its notice written) before the unknown department
    # fails the transaction: the whole of it rolls back
    with pytest.raises(InvalidTransition, match="unknown department"):
        svc.joint_dispatch(cid, ["heat", "nowhere"], actor="op", now=MON_10)
    assert svc.db.query_one("SELECT count(*) FROM notifications")[0] == before
    assert svc.db.query_one("SELECT count(*) FROM cases WHERE parent_id = ?", [cid])[0] == 0
    assert svc.outbox_pending() == 0
    assert svc.deliverer.run_once(MON_10 + pd.Timedelta(days=7))["posted"] == 0
    time.sleep(0.3)  # nothing posts in the background either
    assert receiver.got == []
    # a joint dispatch that commits notifies both departments, once each
    subs = svc.joint_dispatch(cid, ["heat", "roads"], actor="op", now=MON_10)
    assert svc.deliverer.run_once(MON_10)["posted"] == 2
    assert sorted((g["department"], g["case_id"]) for g in receiver.got) == sorted(
        zip(["heat", "roads"], subs, strict=True)
    )


def test_notice_held_at_night_is_delivered_and_posted_after_quiet_hours(svc, receiver) -> None:
    svc.webhook_url = receiver.url
    cid = svc.create("hotline.heating", area_key=_area(svc), now=SAT_23)
    note = svc.db.query_one(
        "SELECT id, deliver_at, delivered FROM notifications WHERE department = 'heat'"
    )
    assert note[1] == MON_0830 and not note[2]
    # during the quiet period the deliverer holds it
    assert svc.deliverer.run_once(SAT_23 + pd.Timedelta(hours=8)) == {
        "delivered": 0,
        "posted": 0,
        "failed": 0,
    }
    assert svc.inbox("heat", now=SAT_23 + pd.Timedelta(hours=8)).empty
    assert receiver.got == []
    # when the quiet period ends, the deliverer releases and posts it
    after = MON_0830 + pd.Timedelta(minutes=1)
    assert svc.deliverer.run_once(after) == {"delivered": 1, "posted": 1, "failed": 0}
    assert svc.db.query_one("SELECT delivered FROM notifications WHERE id = ?", [note[0]])[0]
    assert svc.inbox("heat", now=after)["case_id"].tolist() == [cid]
    assert receiver.got == [
        {
            "id": note[0],
            "department": "heat",
            "case_id": cid,
            "kind": "dispatched",
            "urgent": False,
            "at": MON_0830.isoformat(),
        }
    ]
    # sent once: the next round posts nothing again
    assert svc.deliverer.run_once(after + pd.Timedelta(hours=1))["posted"] == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_receiver_down_gets_the_post_once_it_is_up(svc) -> None:
    port = _free_port()
    svc.webhook_url = f"http://127.0.0.1:{port}/hook"
    t0 = time.monotonic()
    cid = svc.create("hotline.heating", area_key=_area(svc), urgency="urgent", now=MON_10)
    assert time.monotonic() - t0 < 2  # the writer never waits for the webhook
    assert svc.deliverer.run_once(MON_10) == {"delivered": 0, "posted": 0, "failed": 1}
    row = svc.db.query_one("SELECT attempts, next_try_at, sent_at, last_error FROM notice_outbox")
    assert row[0] == 1 and row[2] is None and row[3]
    assert row[1] == MON_10 + pd.Timedelta(seconds=5)  # backoff: the interval, then doubling
    assert svc.deliverer.run_once(MON_10 + pd.Timedelta(seconds=6))["failed"] == 1
    assert svc.db.query_one("SELECT next_try_at FROM notice_outbox")[0] == MON_10 + pd.Timedelta(
        seconds=16
    )
    receiver = Receiver(port)
    try:
        # before the backoff has passed nothing is tried
        assert svc.deliverer.run_once(MON_10 + pd.Timedelta(seconds=10))["posted"] == 0
        assert svc.deliverer.run_once(MON_10 + pd.Timedelta(seconds=16))["posted"] == 1
        assert [g["case_id"] for g in receiver.got] == [cid]
        assert svc.outbox_pending() == 0
    finally:
        receiver.close()


def test_deliverer_thread_posts_after_commit(svc, receiver) -> None:
    # the running deliverer (as the runtime starts it) is woken by a notice delivered at once
    svc.webhook_url = receiver.url
    svc.deliverer.start()
    cid = svc.create("hotline.heating", area_key=_area(svc), urgency="urgent")
    deadline = time.monotonic() + 5
    while not receiver.got and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [g["case_id"] for g in receiver.got] == [cid]


def test_runtime_starts_and_stops_the_deliverer(settings) -> None:
    from data.runtime import Runtime

    rt = Runtime(settings)
    try:
        rt.start()
        assert rt.cases.deliverer.running
        assert rt.cases.deliverer.interval_s == settings.case_deliver_interval_s
    finally:
        rt.stop()
    assert not rt.cases.deliverer.running
