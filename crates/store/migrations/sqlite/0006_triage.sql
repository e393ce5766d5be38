-- Triage: who has an alert in hand, incidents merged into others, and the suppressions that a
-- false positive proposes and a person accepts or refuses.

ALTER TABLE alerts ADD COLUMN assignee_id INTEGER REFERENCES people (id);
CREATE INDEX alerts_incident ON alerts (incident_id);
ALTER TABLE incidents ADD COLUMN merged_into INTEGER REFERENCES incidents (id);

CREATE TABLE suppressions (
    id              INTEGER PRIMARY KEY,
    alert_id        INTEGER NOT NULL REFERENCES alerts (id),
    rule_id         TEXT NOT NULL,
    kind            TEXT NOT NULL,  -- allow | rule_filter
    value           TEXT NOT NULL,
    reason          TEXT NOT NULL,
    status          TEXT NOT NULL,  -- proposed | accepted | refused
    proposed_by     TEXT NOT NULL,
    proposed_at     INTEGER NOT NULL,
    decided_by      TEXT,
    decided_at      INTEGER,
    decision_reason TEXT
);
CREATE INDEX suppressions_status ON suppressions (status);
