-- The response team: people, who is on call for each response role, who holds each role in an
-- incident; and the incident's tasks. Lists are JSON text.

CREATE TABLE people (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    email      TEXT NOT NULL UNIQUE,
    phone      TEXT,
    time_zone  TEXT NOT NULL,
    roles      TEXT NOT NULL
);

CREATE TABLE on_call (
    role      TEXT PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES people (id),
    since     INTEGER NOT NULL
);

CREATE TABLE incident_roles (
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    role        TEXT NOT NULL,
    person_id   INTEGER NOT NULL REFERENCES people (id),
    assigned_at INTEGER NOT NULL,
    assigned_by TEXT NOT NULL,
    PRIMARY KEY (incident_id, role)
);

CREATE TABLE tasks (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    title       TEXT NOT NULL,
    owner_id    INTEGER REFERENCES people (id),
    role        TEXT,
    due_at      INTEGER,
    status      TEXT NOT NULL,
    checklist   TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX tasks_incident ON tasks (incident_id);
CREATE INDEX tasks_due ON tasks (status, due_at);
