"""MQTT feeds: sensors and devices publishing events to a broker (``[[mqtt_feeds]]``).

A message on ``onegrid/<source>`` whose payload is one event object of the push API, or a JSON
list of them, goes through the same pipeline as a push (``data.push.push_frame``, then
``Pipeline.ingest_frames``); with a ``mapping`` the payload is the device's own JSON, mapped like a
file (docs/MAPPING.md) and the source is the mapping's.

Delivery: QoS 1 on a persistent session (MQTT 5, ``clean_start=False`` and a session expiry), and
every message is acknowledged (PUBACK) only after the transaction holding its events has
committed (paho's ``manual_ack``). A crash between the commit and the acknowledgement makes the
broker deliver the message again; the store's key (source, id) turns the second copy into a
duplicate, so each reading is stored exactly once. A payload that is not an event (not JSON, not
an object, invalid fields, an unknown source in the topic) is quarantined with its reason and
then acknowledged: nothing is lost and nothing blocks the session.

Messages are taken in batches (up to ``batch_max``: whatever arrived while the last batch
committed), so a busy broker costs one transaction per batch, not per message. Connection
failures are counted in the feed's health (``Pipeline.record_error``) and retried with paho's
exponential backoff (``reconnect_min_s`` doubling up to ``reconnect_max_s``).
"""

from __future__ import annotations

import json
import logging
import queue
import ssl
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
import pandas as pd
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from data.catalogue import DEFAULT_CATALOGUE, Catalogue
from data.events import SOURCES, storable_text
from data.feeds.mapping import Mapping, MappingError, apply_mapping, load_mapping
from data.feeds.mapping.readers import json_records_frame
from data.ingest import IngestResult, Pipeline
from data.push import push_frame
from data.settings import MqttFeed
from data.store import Database

log = logging.getLogger(__name__)

# how long the worker waits for a message before it looks at the stop flag again
POLL_S = 0.5
# a failed commit (the store busy or closing) is tried again after this long, holding the batch
RETRY_S = 2.0
NOT_JSON = "MQTT payload is not valid JSON"
NOT_RECORD = "MQTT payload must be one event object or a JSON list of them"
TOO_LARGE = "MQTT payload too large"


def unknown_source_reason(source: str, sources: tuple[str, ...] = SOURCES) -> str:
    """The quarantine reason of a message whose topic names no known source (``sources``: the
    deployment's configured ones)."""
    return (
        f"MQTT topic names unknown source {source!r}; expected onegrid/<source> with source "
        f"one of {', '.join(sources)}"
    )


@dataclass
class Message:
    """One received message, with what is needed to acknowledge it after commit."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    session: int  # the connection it arrived on: a mid is only valid on its own connection


def broker_address(url: str) -> tuple[str, int, bool]:
    """(host, port, tls) of ``mqtt://host[:port]`` (default 1883) or ``mqtts://`` (8883)."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise ValueError(f"MQTT url must be mqtt://host:port or mqtts://host:port, not {url!r}")
    tls = parts.scheme == "mqtts"
    return parts.hostname, parts.port or (8883 if tls else 1883), tls


def _raw(payload: bytes) -> str:
    """A payload as storable text (kept as the quarantined record's ``raw``)."""
    return storable_text(payload.decode("utf-8", errors="surrogateescape"))


def _payload_records(payload: bytes, limit: int) -> tuple[list | None, str | None]:
    """(records, None), or (None, the reason the payload holds no records). A payload over
    ``limit`` bytes is not read."""
    if len(payload) > limit:
        return None, f"{TOO_LARGE} ({len(payload)} bytes; limit {limit}; first {limit} kept)"
    try:
        doc = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        return None, f"{NOT_JSON}: {exc}"
    except RecursionError:
        return None, f"{NOT_JSON}: nested too deeply"
    if isinstance(doc, dict) and doc.keys() == {"events"} and isinstance(doc["events"], list):
        return doc["events"], None  # the push API's body, as a device may reuse it
    if isinstance(doc, dict):
        return [doc], None
    if isinstance(doc, list):
        return doc, None
    return None, NOT_RECORD


def _reasoned(frame: pd.DataFrame, reason: str) -> pd.DataFrame:
    """``frame`` with every row quarantined for ``reason`` (the rows' own reasons win)."""
    frame["_reason"] = frame["_reason"].where(frame["_reason"].notna(), reason)
    return frame


def messages_frame(
    messages: list[Message],
    source: str,
    mapping: Mapping | None,
    limit: int = 1024 * 1024,
    catalogue: Catalogue = DEFAULT_CATALOGUE,
) -> pd.DataFrame:
    """The canonical frame of ``messages`` (all for ``source``, one of ``catalogue``'s): the push
    API's records, or the mapping's; a payload that holds no records (or is over ``limit`` bytes) becomes one
    quarantined row with its reason."""
    records: list = []
    raws: list[str | None] = []  # the record's text: for mapped records and unread payloads
    errors: list[str | None] = []
    for m in messages:
        recs, reason = _payload_records(m.payload, limit)
        if recs is None:
            records.append({})
            raws.append(_raw(m.payload[:limit]))
            errors.append(reason)
            continue
        records.extend(recs)
        errors.extend([None] * len(recs))
        if mapping is None:  # push_frame keeps the record itself as its raw form
            raws.extend([None] * len(recs))
        else:
            raws.extend(storable_text(json.dumps(r, ensure_ascii=False, default=str)) for r in recs)
    if mapping is None:
        frame = push_frame(source, records, catalogue)
        bad = [i for i, e in enumerate(errors) if e is not None]
        if bad:
            frame.loc[bad, "_reason"] = [errors[i] for i in bad]
            frame.loc[bad, "_raw"] = pd.Series([raws[i] for i in bad], index=bad, dtype=object)
        return frame
    errors = [
        e if e is not None or isinstance(r, dict) else "JSON record is not an object"
        for r, e in zip(records, errors, strict=True)
    ]
    raw_frame = json_records_frame(
        [r if isinstance(r, dict) else {} for r in records], raws, errors
    )
    try:
        return apply_mapping(mapping, raw_frame)
    except MappingError as exc:
        # the batch cannot be mapped (e.g. a strict mapping's column absent): quarantine it all
        frame = push_frame(source, [{} for _ in records], catalogue)
        frame["_raw"] = pd.Series(raws, dtype=object)
        return _reasoned(frame, f"mapping {mapping.name}: {exc.public}")


class MqttSubscriber:
    """Subscribe to ``spec.topic`` and ingest what arrives; acknowledge after commit.

    Runs two threads: paho's network loop (which reconnects with backoff) and a worker that
    takes the received messages in batches, commits them and acknowledges them.
    """

    def __init__(self, spec: MqttFeed, pipeline: Pipeline, db: Database) -> None:
        self.spec = spec
        self.name = spec.name
        self.pipeline = pipeline
        self.db = db
        self.catalogue = pipeline.catalogue  # the deployment's sources (configured ones too)
        self.mapping = load_mapping(spec.mapping, self.catalogue) if spec.mapping else None
        self.host, self.port, tls = broker_address(spec.url)
        self._queue: queue.Queue[Message] = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._session = 0  # incremented on every (re)connection
        # held while a batch is acknowledged and while a connection begins: a batch's mids are
        # then acknowledged on the connection they came by, never on the next one (where a
        # fresh session's mid may name another, uncommitted message)
        self._session_lock = threading.Lock()
        self.connected = False
        self.received = 0
        self.acknowledged = 0
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=spec.client_id or f"onegrid-{spec.name}",
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        if tls:
            self.client.tls_set(
                ca_certs=str(spec.ca_file) if spec.ca_file else None,
                cert_reqs=ssl.CERT_REQUIRED,
            )
        if spec.username is not None:
            self.client.username_pw_set(spec.username, spec.password)
        self.client.reconnect_delay_set(spec.reconnect_min_s, spec.reconnect_max_s)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.client.on_connect_fail = self._on_connect_fail

    @property
    def thread_name(self) -> str:
        """The worker thread's name (shown by the runtime's stop log)."""
        return f"feed-{self.name}"

    @property
    def sources(self) -> list[str]:
        """The sources this feed may carry: where its connection errors are counted."""
        if self.mapping is not None:
            return [self.mapping.source]
        last = self.spec.topic.rsplit("/", 1)[-1]
        ids = self.catalogue.ids
        return [last] if last in ids else list(ids)

    # -- paho callbacks (on paho's network thread) -----------------------------------------

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self._error(f"connect refused: {reason_code}")
            return
        with self._session_lock:
            self._session += 1
            self.connected = True
        log.info(
            "mqtt %s: connected to %s:%d (session present: %s)",
            self.name,
            self.host,
            self.port,
            flags.session_present,
        )
        # the broker keeps the subscription with the session; subscribing again is harmless and
        # covers a session that expired. Retained messages only on a new subscription.
        client.subscribe(self.spec.topic, options=SubscribeOptions(qos=1, retainHandling=1))

    def _on_connect_fail(self, client, userdata) -> None:
        # paho waits its backoff delay and tries again by itself
        self._error(f"cannot connect to {self.host}:{self.port}; retrying with backoff")

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        for rc in reason_codes:
            if rc.is_failure:
                self._error(f"subscribe to {self.spec.topic!r} refused: {rc}")

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        was_connected, self.connected = self.connected, False
        # a refused connection also ends here: its refusal is the error already counted
        if was_connected and not self._stop.is_set():
            self._error(f"connection lost ({reason_code}); reconnecting")

    def _on_message(self, client, userdata, msg) -> None:
        self.received += 1
        self._queue.put(Message(msg.topic, msg.payload, msg.mid, msg.qos, self._session))

    # -- the worker --------------------------------------------------------------------------

    def start(self) -> None:
        """Connect (in the background: a broker that is down is retried with backoff) and start
        the worker."""
        if self.running:
            return
        self._stop.clear()
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.spec.session_expiry_s
        props.ReceiveMaximum = self.spec.receive_maximum
        self.client.connect_async(
            self.host,
            self.port,
            keepalive=self.spec.keepalive_s,
            clean_start=False,
            properties=props,
        )
        self.client.loop_start()
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()

    def request_stop(self) -> None:
        """Ask the worker to stop after the batch under way."""
        self._stop.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the worker (its batch under way commits and is acknowledged), then disconnect.

        What was received but not yet committed stays unacknowledged: the broker sends it again
        on the next connection."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        try:
            self.client.disconnect()
        finally:
            self.client.loop_stop()

    @property
    def running(self) -> bool:
        """True while the worker thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def _take(self) -> list[Message]:
        """The next batch: what is waiting, up to ``batch_max`` (empty after POLL_S idle)."""
        try:
            first = self._queue.get(timeout=POLL_S)
        except queue.Empty:
            return []
        batch = [first]
        while len(batch) < self.spec.batch_max:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _run(self) -> None:
        batch: list[Message] = []
        while not self._stop.is_set():
            if not batch:
                batch = self._take()
                if not batch:
                    continue
            try:
                self.ingest(batch)
            except Exception as exc:  # noqa: BLE001 - keep the batch and try again
                log.debug("mqtt %s: batch failed", self.name, exc_info=exc)
                self._error(f"commit failed: {type(exc).__name__}: {exc}")
                self._stop.wait(RETRY_S)
                continue
            self._ack(batch)
            batch = []

    def ingest(self, batch: list[Message]) -> IngestResult:
        """Commit a batch of messages (grouped by source); returns the summed counts.

        Messages of a topic that names no source are quarantined directly."""
        by_source: dict[str, list[Message]] = {}
        unknown: list[Message] = []
        for m in batch:
            source = self.mapping.source if self.mapping else m.topic.rsplit("/", 1)[-1]
            if source in self.catalogue.categories:
                by_source.setdefault(source, []).append(m)
            else:
                unknown.append(m)
        limit = self.spec.max_payload_bytes
        frames = [
            (s, messages_frame(ms, s, self.mapping, limit, self.catalogue))
            for s, ms in by_source.items()
        ]
        result = self.pipeline.ingest_frames(frames, feed=self.name)
        if unknown:
            self._quarantine_unrouted(unknown)
            result.quarantined += len(unknown)
        return result

    def _quarantine_unrouted(self, messages: list[Message]) -> None:
        """Quarantine messages whose topic names no source (the pipeline needs a source)."""
        rows = []
        for m in messages:
            source = storable_text(m.topic.rsplit("/", 1)[-1])[:200]
            raw = storable_text(m.payload.decode("utf-8", errors="surrogateescape"))
            reason = unknown_source_reason(source, self.catalogue.ids)
            rows.append([source, self.name, reason, raw])
        self.db.write(
            lambda con: con.executemany(
                "INSERT INTO quarantine (source, feed, received_at, reason, raw) "
                "VALUES (?, ?, now(), ?, ?)",
                rows,
            )
        )

    def _ack(self, batch: list[Message]) -> None:
        """Acknowledge a committed batch, in the order received (MQTT asks for that order).

        A message from an earlier connection is not acknowledged: its mid means nothing on this
        one, and the broker sends it again anyway (a duplicate, then)."""
        with self._session_lock:
            session = self._session
            for m in batch:
                if m.qos > 0 and m.session == session:
                    self.client.ack(m.mid, m.qos)
                    self.acknowledged += 1

    def _error(self, message: str) -> None:
        msg = f"mqtt {self.name}: {message}"
        log.warning(msg)
        for source in self.sources:
            try:
                self.pipeline.record_error(source, msg)
            except Exception:  # noqa: BLE001 - the store may be closing; the log has it
                log.debug("mqtt %s: could not record the error", self.name, exc_info=True)
