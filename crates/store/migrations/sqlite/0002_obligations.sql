-- Versioned documents per incident (each change is a new row): the breach-notification facts
-- and the damage assessment; and what people decided or did about each obligation. The
-- obligations themselves are computed, not stored.

CREATE TABLE incident_documents (
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    kind        TEXT NOT NULL,  -- `facts` (breach-notification facts), `damage` (assessment)
    version     INTEGER NOT NULL,
    doc         TEXT NOT NULL,
    recorded_at INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    PRIMARY KEY (incident_id, kind, version)
);

CREATE TABLE obligation_status (
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    rule_id     TEXT NOT NULL,
    status      TEXT NOT NULL,
    detail      TEXT NOT NULL,
    at          INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    PRIMARY KEY (incident_id, rule_id)
);
