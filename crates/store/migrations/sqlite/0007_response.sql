-- Response: containment decisions, the bouncers that enforce them, and the scheduler's jobs.

CREATE TABLE decisions (
    id             INTEGER PRIMARY KEY,
    kind           TEXT NOT NULL,   -- ban | lock_account | revoke_sessions | isolate_host
    target         TEXT NOT NULL,
    reason         TEXT NOT NULL,
    incident_id    INTEGER REFERENCES incidents (id),
    decided_by     TEXT NOT NULL,
    term           TEXT NOT NULL,   -- short | long
    offence        INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    rolled_back_at INTEGER,
    rolled_back_by TEXT
);
CREATE INDEX decisions_target ON decisions (kind, target);
CREATE INDEX decisions_expires ON decisions (expires_at);
CREATE INDEX decisions_updated ON decisions (updated_at);
CREATE INDEX decisions_rolled_back ON decisions (rolled_back_at);
CREATE INDEX decisions_incident ON decisions (incident_id);

-- A bouncer (CrowdSec's word for an enforcer) pulls decisions with its key; only the key's
-- SHA-256 is kept.
CREATE TABLE bouncers (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    key_hash   TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    last_pull  INTEGER,
    revoked_at INTEGER
);

-- Durable jobs: pending until due, running while a worker has them, then done or failed.
-- A dedupe key makes scheduling the same thing twice a no-op.
CREATE TABLE jobs (
    id         INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL,
    due_at     INTEGER NOT NULL,
    payload    TEXT NOT NULL,
    state      TEXT NOT NULL,
    dedupe_key TEXT UNIQUE,
    created_at INTEGER NOT NULL,
    claimed_at INTEGER,
    done_at    INTEGER,
    attempts   INTEGER NOT NULL,
    last_error TEXT
);
CREATE INDEX jobs_due ON jobs (state, due_at);
