"""Versioned schema migrations for the OneGrid DuckDB file.

Each migration runs once, in order, inside a transaction; ``schema_version`` records the ones done.
Never edit a released migration: add a new one.
"""

from __future__ import annotations

import duckdb

# Time buckets for the per-cell counts the screens read (seconds).
BUCKET_SECONDS = 300

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
    done = current_version(con)
    applied = []
    for version, description, sql in MIGRATIONS:
        if version <= done:
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
