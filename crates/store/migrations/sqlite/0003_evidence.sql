-- Evidence: what was acquired for an incident, content-addressed. The bytes live in the data
-- directory under their SHA-256; the chain of custody is the incident's timeline (kind
-- `evidence`), which is hash-chained.

CREATE TABLE evidence (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    name        TEXT NOT NULL,
    description TEXT NOT NULL,
    media_type  TEXT NOT NULL,
    source      TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    size        INTEGER NOT NULL,
    acquired_at INTEGER NOT NULL,
    acquired_by TEXT NOT NULL
);
CREATE INDEX evidence_incident ON evidence (incident_id);
