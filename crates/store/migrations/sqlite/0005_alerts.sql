-- Alerts: a rule firing for one group key. One alert per (rule, key) per suppression period;
-- its count and last time are updated while it lasts.

CREATE TABLE alerts (
    id          INTEGER PRIMARY KEY,
    rule_id     TEXT NOT NULL,
    title       TEXT NOT NULL,
    severity    TEXT NOT NULL,
    group_key   TEXT NOT NULL,  -- the group as canonical JSON: {"source.ip":"203.0.113.5"}
    count       INTEGER NOT NULL,
    first_seen  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL,
    tags        TEXT NOT NULL,
    sample      TEXT NOT NULL,
    status      TEXT NOT NULL,
    incident_id INTEGER REFERENCES incidents (id),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX alerts_rule_group ON alerts (rule_id, group_key, last_seen);
CREATE INDEX alerts_created ON alerts (created_at);
