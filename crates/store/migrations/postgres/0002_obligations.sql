-- Breach-notification facts per incident (versioned: each change is a new row), and what people
-- decided or did about each obligation. The obligations themselves are computed, not stored.

CREATE TABLE incident_facts (
    incident_id BIGINT NOT NULL REFERENCES incidents (id),
    version     BIGINT NOT NULL,
    facts       TEXT NOT NULL,
    recorded_at BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    PRIMARY KEY (incident_id, version)
);

CREATE TABLE obligation_status (
    incident_id BIGINT NOT NULL REFERENCES incidents (id),
    rule_id     TEXT NOT NULL,
    status      TEXT NOT NULL,
    detail      TEXT NOT NULL,
    at          BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    PRIMARY KEY (incident_id, rule_id)
);
