"""Versioned schema migrations for the OneGrid DuckDB file.

Each migration runs once, in order, inside a transaction; ``schema_version`` records the ones done.
Never edit a released migration: add a new one.
"""

from __future__ import annotations

import hashlib

import duckdb

# Time buckets for the per-cell counts the screens read (seconds).
BUCKET_SECONDS = 300

# An event's search text (the ``events.search`` column, data/search.py): its text and its
# attributes' JSON, lower-cased by DuckDB, joined by a line feed. One expression for every writer
# (this file's migration, the archive's read-back, the bench fills; ingest computes the same
# text with Arrow, held to this by tests/test_search_text.py), so a search finds
# an event the same whichever way it was stored. A search text holding the separator is matched
# column by column instead (data/search.py), so the join never makes a match of its own.
SEARCH_SEPARATOR = "\n"
EVENT_SEARCH_SQL = "lower(concat_ws(chr(10), text, CAST(attributes AS VARCHAR)))"
# An event id's 31-bit digest (the ``events.id_hash`` column): an id typed into the search is
# found by comparing these small integers and only then the ids themselves. MD5 (not DuckDB's
# hash(), which may change between versions) so a stored digest stays valid after an upgrade.
# The digest's bytes 8 to 16 read little-endian, top 31 bits: written as the top bits of the
# whole 128-bit md5_number, the same value as (md5_number_lower(...) >> 33), which DuckDB computes
# four times slower (140 ms against 35 ms for a bulk batch of 245,760 ids).
EVENT_ID_HASH_SQL = "(md5_number(source_event_id) >> 97)::INTEGER"


def id_hash(source_event_id: str) -> int:
    """:data:`EVENT_ID_HASH_SQL` in Python (ingest computes it before the writer's queue):
    DuckDB's md5_number reads the digest little-endian, so its top 64 bits are bytes 8 to 16."""
    digest = hashlib.md5(source_event_id.encode("utf-8")).digest()
    return int.from_bytes(digest[8:], "little") >> 33


MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "core tables: areas, events, quarantine, feed status, per-cell counts",
        f"""
        CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);

        -- the region's hierarchy, one row per area of every level (city > county > township >
        -- community > grid); lon/lat is a representative point inside the area (WGS84)
        CREATE TABLE areas (
            key INTEGER PRIMARY KEY,
            code VARCHAR NOT NULL UNIQUE,
            level VARCHAR NOT NULL,
            parent_key INTEGER,
            name_zh VARCHAR,
            name_en VARCHAR,
            population BIGINT,
            kind VARCHAR,
            lon DOUBLE,
            lat DOUBLE,
            area_km2 DOUBLE,
            city_key INTEGER,
            county_key INTEGER,
            township_key INTEGER,
            community_key INTEGER
        );

        -- every accepted event, placed in its grid cell with every level's key
        CREATE TABLE events (
            source VARCHAR NOT NULL,
            source_event_id VARCHAR NOT NULL,
            category VARCHAR NOT NULL,
            severity TINYINT,
            value DOUBLE,
            event_time TIMESTAMPTZ NOT NULL,
            received_at TIMESTAMPTZ NOT NULL,
            lon DOUBLE NOT NULL,
            lat DOUBLE NOT NULL,
            cell_key INTEGER NOT NULL,
            community_key INTEGER NOT NULL,
            township_key INTEGER NOT NULL,
            county_key INTEGER NOT NULL,
            city_key INTEGER NOT NULL,
            text VARCHAR,
            attributes JSON,
            feed VARCHAR,
            case_id BIGINT,
            status VARCHAR,
            PRIMARY KEY (source, source_event_id)
        );

        CREATE SEQUENCE quarantine_seq;
        CREATE TABLE quarantine (
            id BIGINT PRIMARY KEY DEFAULT nextval('quarantine_seq'),
            source VARCHAR,
            feed VARCHAR,
            received_at TIMESTAMPTZ NOT NULL,
            reason VARCHAR NOT NULL,
            source_event_id VARCHAR,
            raw VARCHAR
        );

        -- one row per source: the feed's health
        CREATE TABLE feed_status (
            source VARCHAR PRIMARY KEY,
            last_event_time TIMESTAMPTZ,
            last_received_at TIMESTAMPTZ,
            accepted BIGINT NOT NULL DEFAULT 0,
            duplicates BIGINT NOT NULL DEFAULT 0,
            quarantined BIGINT NOT NULL DEFAULT 0,
            errors BIGINT NOT NULL DEFAULT 0,
            last_error VARCHAR,
            last_error_at TIMESTAMPTZ
        );

        -- accepted/duplicate/quarantined counts per source and minute of receipt (events per minute)
        CREATE TABLE ingest_minutes (
            minute TIMESTAMPTZ NOT NULL,
            source VARCHAR NOT NULL,
            accepted BIGINT NOT NULL,
            duplicates BIGINT NOT NULL,
            quarantined BIGINT NOT NULL,
            PRIMARY KEY (minute, source)
        );

        -- per cell, source and {BUCKET_SECONDS}-second bucket of event time: kept current at ingest so a
        -- screen refresh reads windows from here instead of rescanning events
        CREATE TABLE cell_counts (
            bucket TIMESTAMPTZ NOT NULL,
            cell_key INTEGER NOT NULL,
            source VARCHAR NOT NULL,
            n BIGINT NOT NULL,
            severity_sum BIGINT NOT NULL,
            value_max DOUBLE,
            PRIMARY KEY (bucket, cell_key, source)
        );
        """,
    ),
    (
        2,
        "incremental cursors of pull feeds",
        """
        CREATE TABLE IF NOT EXISTS feed_cursors (
            feed VARCHAR PRIMARY KEY, cursor VARCHAR, updated_at TIMESTAMPTZ
        );
        """,
    ),
    (
        3,
        "early warning: warnings, their history, pending conditions, fused incidents",
        """
        -- one row per warning's life, keyed by (rule_id, area_key, subject) while not cleared;
        -- level_rank 1 blue, 2 yellow, 3 orange, 4 red; state raised | acknowledged | cleared
        CREATE SEQUENCE warnings_seq;
        CREATE TABLE warnings (
            id BIGINT PRIMARY KEY DEFAULT nextval('warnings_seq'),
            rule_id VARCHAR NOT NULL,
            kind VARCHAR NOT NULL,
            area_key INTEGER NOT NULL,
            area_level VARCHAR NOT NULL,
            subject VARCHAR NOT NULL DEFAULT '',
            cell_key INTEGER,
            community_key INTEGER,
            township_key INTEGER,
            county_key INTEGER,
            city_key INTEGER,
            level_rank TINYINT NOT NULL,
            state VARCHAR NOT NULL,
            value DOUBLE,
            limit_value DOUBLE,
            baseline DOUBLE,
            detail JSON,
            raised_at TIMESTAMPTZ NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL,
            last_true_at TIMESTAMPTZ,
            clear_since TIMESTAMPTZ,
            acknowledged_by VARCHAR,
            acknowledged_at TIMESTAMPTZ,
            ack_comment VARCHAR,
            cleared_at TIMESTAMPTZ,
            cleared_by VARCHAR,
            clear_reason VARCHAR,
            escalated_to VARCHAR,
            escalated_at TIMESTAMPTZ
        );

        -- every change of a warning: raised, upgraded, downgraded, acknowledged, escalated, cleared
        CREATE SEQUENCE warning_history_seq;
        CREATE TABLE warning_history (
            id BIGINT PRIMARY KEY DEFAULT nextval('warning_history_seq'),
            warning_id BIGINT NOT NULL,
            changed_at TIMESTAMPTZ NOT NULL,
            action VARCHAR NOT NULL,
            from_rank TINYINT,
            to_rank TINYINT,
            state VARCHAR NOT NULL,
            actor VARCHAR,
            note VARCHAR,
            value DOUBLE
        );

        -- conditions seen but not yet raised (pending period), and downgrades not yet applied
        CREATE TABLE warning_pending (
            rule_id VARCHAR NOT NULL,
            area_key INTEGER NOT NULL,
            subject VARCHAR NOT NULL,
            level_rank TINYINT NOT NULL,
            hits INTEGER NOT NULL,
            first_at TIMESTAMPTZ NOT NULL,
            last_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (rule_id, area_key, subject)
        );

        -- reports from different feeds in one cell and time window describing one incident
        CREATE SEQUENCE incidents_seq;
        CREATE TABLE incidents (
            id BIGINT PRIMARY KEY DEFAULT nextval('incidents_seq'),
            group_id VARCHAR NOT NULL,
            cell_key INTEGER NOT NULL,
            community_key INTEGER,
            township_key INTEGER,
            county_key INTEGER,
            city_key INTEGER,
            first_time TIMESTAMPTZ NOT NULL,
            last_time TIMESTAMPTZ NOT NULL,
            sources VARCHAR NOT NULL,
            n_reports INTEGER NOT NULL,
            created_at TIMESTAMPTZ NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL
        );
        CREATE TABLE incident_events (
            incident_id BIGINT NOT NULL,
            source VARCHAR NOT NULL,
            source_event_id VARCHAR NOT NULL,
            event_time TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (source, source_event_id)
        );
        """,
    ),
    (
        4,
        "closed-loop cases: cases, their transitions, department notifications",
        """
        -- one row per case (docs/CASES.md). category: '<source>.<category>' or 'warning.<rule>';
        -- area: the case's area (any level) with its ancestors' keys (null below its level);
        -- department null + needs_decision: outside the responsibility list, for the hall;
        -- joint: a parent whose sub-cases (parent_id) go to several departments;
        -- flag: a data-quality flag (closed_before_created) that keeps the case out of timings
        CREATE SEQUENCE cases_seq;
        CREATE TABLE cases (
            id BIGINT PRIMARY KEY,
            parent_id BIGINT,
            joint BOOLEAN NOT NULL DEFAULT false,
            origin VARCHAR NOT NULL,
            origin_ref VARCHAR,
            category VARCHAR NOT NULL,
            area_key INTEGER,
            area_level VARCHAR,
            cell_key INTEGER,
            community_key INTEGER,
            township_key INTEGER,
            county_key INTEGER,
            city_key INTEGER,
            lon DOUBLE,
            lat DOUBLE,
            title VARCHAR,
            description VARCHAR,
            urgency VARCHAR NOT NULL DEFAULT 'normal',
            urgent BOOLEAN NOT NULL DEFAULT false,
            warning_level VARCHAR,
            department VARCHAR,
            dept_level VARCHAR,
            needs_decision BOOLEAN NOT NULL DEFAULT false,
            state VARCHAR NOT NULL,
            created_at TIMESTAMPTZ NOT NULL,
            dispatched_at TIMESTAMPTZ,
            accepted_at TIMESTAMPTZ,
            handled_at TIMESTAMPTZ,
            closed_at TIMESTAMPTZ,
            deadline_at TIMESTAMPTZ,
            extension_until TIMESTAMPTZ,
            extensions INTEGER NOT NULL DEFAULT 0,
            reworks INTEGER NOT NULL DEFAULT 0,
            returns INTEGER NOT NULL DEFAULT 0,
            reassignments INTEGER NOT NULL DEFAULT 0,
            flag VARCHAR,
            updated_at TIMESTAMPTZ NOT NULL
        );

        -- every change of a case: who, when, why; department = the unit acting or concerned
        CREATE SEQUENCE case_transitions_seq;
        CREATE TABLE case_transitions (
            id BIGINT PRIMARY KEY DEFAULT nextval('case_transitions_seq'),
            case_id BIGINT NOT NULL,
            from_state VARCHAR,
            to_state VARCHAR NOT NULL,
            action VARCHAR NOT NULL,
            actor VARCHAR NOT NULL,
            department VARCHAR,
            reason VARCHAR,
            occurred_at TIMESTAMPTZ NOT NULL  -- ("at" is a DuckDB keyword)
        );

        -- a department's inbox; deliver_at is later than created_at when quiet hours hold it
        CREATE SEQUENCE notifications_seq;
        CREATE TABLE notifications (
            id BIGINT PRIMARY KEY DEFAULT nextval('notifications_seq'),
            department VARCHAR NOT NULL,
            case_id BIGINT,
            kind VARCHAR NOT NULL,
            urgent BOOLEAN NOT NULL DEFAULT false,
            created_at TIMESTAMPTZ NOT NULL,
            deliver_at TIMESTAMPTZ NOT NULL,
            delivered BOOLEAN NOT NULL DEFAULT false,
            delivered_at TIMESTAMPTZ,
            read_at TIMESTAMPTZ
        );
        """,
    ),
    (
        5,
        "server-side sign-in sessions and the append-only audit trail",
        """
        -- one row per live session; the cookie carries the session id, only its SHA-256 is kept
        -- here (a stolen database file does not give sessions away). pw_fingerprint: a digest of
        -- the user's password hash at sign-in; a changed password or removed user ends the session
        CREATE TABLE sessions (
            id_hash VARCHAR PRIMARY KEY,
            username VARCHAR NOT NULL,
            pw_fingerprint VARCHAR NOT NULL,
            created_at TIMESTAMPTZ NOT NULL,
            last_seen TIMESTAMPTZ NOT NULL,
            address VARCHAR,
            user_agent VARCHAR
        );

        -- who did what, when, from which address, to which object (docs/SECURITY.md).
        -- Append-only: the code has INSERTs into it and nothing else (a test checks).
        CREATE SEQUENCE audit_seq;
        CREATE TABLE audit_log (
            id BIGINT PRIMARY KEY DEFAULT nextval('audit_seq'),
            occurred_at TIMESTAMPTZ NOT NULL,
            actor VARCHAR NOT NULL,
            action VARCHAR NOT NULL,
            object_type VARCHAR,
            object_id VARCHAR,
            address VARCHAR,
            outcome VARCHAR NOT NULL,
            detail VARCHAR
        );
        """,
    ),
    (
        12,
        "the event archive: Parquet files that hold events moved out of the database",
        """
        -- one row per Parquet file of the archive (data/archive.py); path is relative to the
        -- archive folder (date=YYYY-MM-DD/source=NAME/part-UUID.parquet). A row is written in
        -- the same transaction that deletes the file's events from the events table, so a file
        -- without a row is never read (a crash before that commit leaves such a file behind)
        CREATE TABLE archive_parts (
            path VARCHAR PRIMARY KEY,
            day DATE NOT NULL,
            source VARCHAR NOT NULL,
            rows BIGINT NOT NULL,
            min_time TIMESTAMPTZ NOT NULL,
            max_time TIMESTAMPTZ NOT NULL,
            bytes BIGINT NOT NULL,
            sha256 VARCHAR NOT NULL,
            moved_at TIMESTAMPTZ NOT NULL
        );
        CREATE INDEX archive_parts_day ON archive_parts (day);
        """,
    ),
    (
        13,
        "the briefings archive: scheduled briefings written to files",
        """
        -- one row per briefing file written by the scheduler (data/briefings/archive.py); path
        -- is relative to the briefings folder. The row is written after the file is complete
        -- (written to a temporary name, then renamed), so a listed file always exists whole
        CREATE SEQUENCE briefing_files_id START 1;
        CREATE TABLE briefing_files (
            id BIGINT PRIMARY KEY DEFAULT nextval('briefing_files_id'),
            period VARCHAR NOT NULL,
            day DATE NOT NULL,
            area_code VARCHAR NOT NULL,
            lang VARCHAR NOT NULL,
            fmt VARCHAR NOT NULL,
            path VARCHAR NOT NULL,
            bytes BIGINT NOT NULL,
            events BIGINT NOT NULL,
            generated_at TIMESTAMPTZ NOT NULL,
            UNIQUE (period, day, area_code, lang, fmt)
        );
        """,
    ),
    (
        14,
        "the notification outbox: webhook posts queued in the notification's own transaction",
        """
        -- one row per notification to mirror to the case webhook, inserted in the transaction
        -- that inserts the notification: a rolled-back case change leaves neither behind. The
        -- deliverer (data/cases/notices.py) posts rows whose due_at and next_try_at have come,
        -- after commit and off the writer, and marks them sent; a failed post is tried again
        -- later (attempts, next_try_at, last_error), never dropped. notification_id is NULL
        -- for a notice that is not a department's (a scheduled briefing written)
        CREATE SEQUENCE notice_outbox_seq;
        CREATE TABLE notice_outbox (
            id BIGINT PRIMARY KEY DEFAULT nextval('notice_outbox_seq'),
            notification_id BIGINT,
            payload VARCHAR NOT NULL,
            created_at TIMESTAMPTZ NOT NULL,
            due_at TIMESTAMPTZ NOT NULL,
            next_try_at TIMESTAMPTZ NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error VARCHAR,
            sent_at TIMESTAMPTZ
        );
        """,
    ),
    (
        15,
        "saved requests of the figures builder (/figures)",
        """
        -- a figures request (data/figures.py) kept by its owner to be run again, e.g. for the
        -- next period; request: the request as JSON (indicators, areas, since, until, compare)
        CREATE SEQUENCE figures_requests_seq;
        CREATE TABLE figures_requests (
            id BIGINT PRIMARY KEY DEFAULT nextval('figures_requests_seq'),
            owner VARCHAR NOT NULL,
            name VARCHAR NOT NULL,
            request VARCHAR NOT NULL,
            created_at TIMESTAMPTZ NOT NULL
        );
        """,
    ),
    (
        16,
        "the hall console's channels (/console): the view walls with ?channel= follow",
        """
        -- view: JSON of county, level, metric, window (data/console.py checks it); version grows
        -- on each change so a following wall knows it has a new view to take
        CREATE TABLE console_channels (
            name VARCHAR PRIMARY KEY,
            view VARCHAR NOT NULL,
            version BIGINT NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL,
            updated_by VARCHAR NOT NULL
        );
        """,
    ),
    (
        17,
        "field reports and their photos (/report)",
        """
        -- a grid worker's report (data/field_reports.py): the case it became, so the reporter
        -- can follow its status
        CREATE TABLE field_reports (
            case_id BIGINT PRIMARY KEY,
            reporter VARCHAR NOT NULL,
            category VARCHAR NOT NULL,
            created_at TIMESTAMPTZ NOT NULL
        );
        CREATE INDEX field_reports_reporter ON field_reports (reporter);
        -- a file attached to a case (a report's photo): stored under the attachments folder by its
        -- content's SHA-256; path is relative to that folder
        CREATE SEQUENCE case_attachments_seq;
        CREATE TABLE case_attachments (
            id BIGINT PRIMARY KEY DEFAULT nextval('case_attachments_seq'),
            case_id BIGINT NOT NULL,
            path VARCHAR NOT NULL,
            mime VARCHAR NOT NULL,
            bytes BIGINT NOT NULL,
            sha256 VARCHAR NOT NULL,
            name VARCHAR,
            uploaded_by VARCHAR NOT NULL,
            uploaded_at TIMESTAMPTZ NOT NULL
        );
        CREATE INDEX case_attachments_case ON case_attachments (case_id);
        """,
    ),
    (
        18,
        "search: the events' lower-cased search text and their ids' digests",
        f"""
        -- the search compares one lower-cased column instead of lower() of several per row
        -- (a no-match search over 10 M events read the whole history three times as slowly);
        -- an id typed into the search is looked for among 4-byte digests (20 ms over 10 M
        -- events) instead of 10 M unique strings (a second). An index on the ids answered in a
        -- millisecond but made bulk ingest a quarter slower (docs/PERFORMANCE.md); the primary
        -- key on (source, source_event_id) serves no lookup of the id alone. Ingest fills both
        -- columns for new events, this fills them for the stored ones
        ALTER TABLE events ADD COLUMN search VARCHAR;
        ALTER TABLE events ADD COLUMN id_hash INTEGER;
        UPDATE events SET search = {EVENT_SEARCH_SQL}, id_hash = {EVENT_ID_HASH_SQL};
        """,
    ),
    (
        19,
        "events without the primary-key index: ingest de-duplicates by event day",
        """
        -- The primary key's index on (source, source_event_id) cost half of bulk ingest's writer
        -- time (docs/PERFORMANCE.md). The pipeline now de-duplicates each batch against the
        -- events of its own days (event time, UTC), first by the 4-byte id digests and then by
        -- the few ids they point to, as it already did against the archive. DuckDB cannot drop
        -- a primary key, so the table is copied (in its stored order: the zone maps on
        -- event_time that the look-up relies on stay as good as they were)
        CREATE TABLE events_unkeyed (
            source VARCHAR NOT NULL,
            source_event_id VARCHAR NOT NULL,
            category VARCHAR NOT NULL,
            severity TINYINT,
            value DOUBLE,
            event_time TIMESTAMPTZ NOT NULL,
            received_at TIMESTAMPTZ NOT NULL,
            lon DOUBLE NOT NULL,
            lat DOUBLE NOT NULL,
            cell_key INTEGER NOT NULL,
            community_key INTEGER NOT NULL,
            township_key INTEGER NOT NULL,
            county_key INTEGER NOT NULL,
            city_key INTEGER NOT NULL,
            text VARCHAR,
            attributes JSON,
            feed VARCHAR,
            case_id BIGINT,
            status VARCHAR,
            search VARCHAR,
            id_hash INTEGER NOT NULL
        );
        INSERT INTO events_unkeyed SELECT * FROM events;
        DROP TABLE events;
        ALTER TABLE events_unkeyed RENAME TO events;
        """,
    ),
    (
        20,
        "case transitions and notifications without the primary-key index",
        """
        -- A bulk load's hotline cases write about two transitions and one notification each;
        -- the primary keys' indexes on their ids cost about a third of those inserts and of
        -- their commits (docs/PERFORMANCE.md, issue 12). The ids still come from their
        -- sequences, so they stay unique; a notification is looked up by id (read, delivered)
        -- in a table stored in id order, which DuckDB's zone maps answer without an index.
        -- DuckDB cannot drop a primary key, so each table is copied in its stored order
        CREATE TABLE case_transitions_unkeyed (
            id BIGINT NOT NULL DEFAULT nextval('case_transitions_seq'),
            case_id BIGINT NOT NULL,
            from_state VARCHAR,
            to_state VARCHAR NOT NULL,
            action VARCHAR NOT NULL,
            actor VARCHAR NOT NULL,
            department VARCHAR,
            reason VARCHAR,
            occurred_at TIMESTAMPTZ NOT NULL
        );
        INSERT INTO case_transitions_unkeyed SELECT * FROM case_transitions;
        DROP TABLE case_transitions;
        ALTER TABLE case_transitions_unkeyed RENAME TO case_transitions;
        CREATE TABLE notifications_unkeyed (
            id BIGINT NOT NULL DEFAULT nextval('notifications_seq'),
            department VARCHAR NOT NULL,
            case_id BIGINT,
            kind VARCHAR NOT NULL,
            urgent BOOLEAN NOT NULL DEFAULT false,
            created_at TIMESTAMPTZ NOT NULL,
            deliver_at TIMESTAMPTZ NOT NULL,
            delivered BOOLEAN NOT NULL DEFAULT false,
            delivered_at TIMESTAMPTZ,
            read_at TIMESTAMPTZ
        );
        INSERT INTO notifications_unkeyed SELECT * FROM notifications;
        DROP TABLE notifications;
        ALTER TABLE notifications_unkeyed RENAME TO notifications;
        """,
    ),
    (
        21,
        "5-minute rollups without the primary-key index",
        """
        -- Ingest's upsert of a bulk batch's groups into cell_counts spent most of its time in
        -- the index on (bucket, cell_key, source): 1.5-1.7 s of 2 s for 1.13 M events, nearly
        -- all of them new groups (docs/PERFORMANCE.md, issue 12). Ingest now merges by a join
        -- that the zone maps on bucket confine to the batch's buckets; the pipeline's one
        -- writer keeps each group in one row (tests/test_ingest_rollup.py).
        -- DuckDB cannot drop a primary key, so the table is copied in its stored order
        CREATE TABLE cell_counts_unkeyed (
            bucket TIMESTAMPTZ NOT NULL,
            cell_key INTEGER NOT NULL,
            source VARCHAR NOT NULL,
            n BIGINT NOT NULL,
            severity_sum BIGINT NOT NULL,
            value_max DOUBLE
        );
        INSERT INTO cell_counts_unkeyed SELECT * FROM cell_counts;
        DROP TABLE cell_counts;
        ALTER TABLE cell_counts_unkeyed RENAME TO cell_counts;
        """,
    ),
]


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    """The highest migration applied to ``con``'s database (0 for a new file)."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        "version INTEGER PRIMARY KEY, description VARCHAR, applied_at TIMESTAMPTZ)"
    )
    row = con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchall()[0]
    return int(row[0])


def migrate(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply every pending migration; returns the versions applied now."""
    current_version(con)  # creates schema_version on a new file
    # by set, not by maximum: a migration merged after a higher one still runs on old files
    done = {int(r[0]) for r in con.execute("SELECT version FROM schema_version").fetchall()}
    applied = []
    for version, description, sql in MIGRATIONS:
        if version in done:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(sql)
            con.execute("INSERT INTO schema_version VALUES (?, ?, now())", [version, description])
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        applied.append(version)
    return applied
