-- Breach-notification facts per incident (versioned: each change is a new row), and what people
-- decided or did about each obligation. The obligations themselves are computed, not stored.

CREATE TABLE incident_facts (
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    version     INTEGER NOT NULL,
    facts       TEXT NOT NULL,
    recorded_at INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    PRIMARY KEY (incident_id, version)
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
