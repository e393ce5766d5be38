-- Notifications: what was sent about an incident, to whom, through which channel, how each
-- attempt went, and who acknowledged it. An escalation groups what one route sent for one
-- event, so that acknowledging any of it stops the chain.

CREATE TABLE escalations (
    id              INTEGER PRIMARY KEY,
    incident_id     INTEGER NOT NULL REFERENCES incidents (id),
    route           TEXT NOT NULL,
    event           TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    acknowledged_by TEXT,
    acknowledged_at INTEGER,
    ended_at        INTEGER,
    ended_reason    TEXT
);
CREATE INDEX escalations_incident ON escalations (incident_id);

CREATE TABLE notifications (
    id              INTEGER PRIMARY KEY,
    incident_id     INTEGER NOT NULL REFERENCES incidents (id),
    escalation_id   INTEGER REFERENCES escalations (id),
    level           INTEGER NOT NULL,
    event           TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    channel         TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    person_id       INTEGER REFERENCES people (id),
    role            TEXT,
    status          TEXT NOT NULL,   -- pending | sent | failed | acknowledged
    attempts        INTEGER NOT NULL,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER,
    acknowledged_by TEXT,
    acknowledged_at INTEGER
);
CREATE INDEX notifications_incident ON notifications (incident_id, id);
CREATE INDEX notifications_escalation ON notifications (escalation_id);

CREATE TABLE notification_attempts (
    notification_id INTEGER NOT NULL REFERENCES notifications (id),
    attempt         INTEGER NOT NULL,
    at              INTEGER NOT NULL,
    ok              INTEGER NOT NULL,
    detail          TEXT NOT NULL,
    PRIMARY KEY (notification_id, attempt)
);
