-- firebreak on SQLite. Times are nanoseconds since the Unix epoch, UTC; JSON is text.

CREATE TABLE ingest_checkpoint (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL
);
INSERT INTO ingest_checkpoint (id, seq) VALUES (1, 0);

CREATE TABLE events (
    id          INTEGER PRIMARY KEY,  -- the ingest sequence number
    ts          INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    category    TEXT,
    action      TEXT,
    outcome     TEXT,
    source_ip   TEXT,
    user_name   TEXT,
    host_name   TEXT,
    doc         TEXT NOT NULL
);
CREATE INDEX events_ts ON events (ts);
CREATE INDEX events_source_ip ON events (source_ip, ts) WHERE source_ip IS NOT NULL;
CREATE INDEX events_user_name ON events (user_name, ts) WHERE user_name IS NOT NULL;

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL,
    password_hash TEXT,
    created_at    INTEGER NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE tokens (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL,
    role         TEXT NOT NULL,
    user_id      INTEGER REFERENCES users (id),
    hash         TEXT NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    revoked_at   INTEGER
);

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT NOT NULL,
    remote_addr TEXT NOT NULL,
    status      INTEGER NOT NULL,
    detail      TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);

CREATE TABLE incidents (
    id                      INTEGER PRIMARY KEY,
    title                   TEXT NOT NULL,
    summary                 TEXT NOT NULL,
    severity                TEXT NOT NULL,
    status                  TEXT NOT NULL,
    drill                   INTEGER NOT NULL,
    created_at              INTEGER NOT NULL,
    updated_at              INTEGER NOT NULL,
    detected_at             INTEGER,
    triage_at               INTEGER,
    containment_at          INTEGER,
    eradication_at          INTEGER,
    recovery_at             INTEGER,
    post_incident_review_at INTEGER,
    closed_at               INTEGER
);
CREATE INDEX incidents_created_at ON incidents (created_at);

CREATE TABLE timeline_entries (
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    seq         INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    occurred_at INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    summary     TEXT NOT NULL,
    data        TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL,
    PRIMARY KEY (incident_id, seq)
);

-- The timeline is append-only. The hash chain proves it; these triggers stop honest mistakes.
CREATE TRIGGER timeline_entries_no_update BEFORE UPDATE ON timeline_entries
BEGIN
    SELECT RAISE(ABORT, 'timeline entries are append-only');
END;
CREATE TRIGGER timeline_entries_no_delete BEFORE DELETE ON timeline_entries
BEGIN
    SELECT RAISE(ABORT, 'timeline entries are append-only');
END;
