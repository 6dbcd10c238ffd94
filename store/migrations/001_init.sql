-- Instance configuration: settings, organization ruleset, on-site locations.
-- Values are JSON documents replaced whole.
CREATE TABLE config (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE applications (
    id                 INTEGER PRIMARY KEY,
    name               TEXT NOT NULL,
    patterns           TEXT NOT NULL,            -- JSON array of pattern strings
    collect_urls       INTEGER NOT NULL DEFAULT 0,
    allowed_query_keys TEXT NOT NULL DEFAULT '[]', -- JSON array
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    deleted_at         INTEGER                    -- soft delete: past events keep their application
);
CREATE UNIQUE INDEX applications_name ON applications(name COLLATE NOCASE) WHERE deleted_at IS NULL;

CREATE TABLE roles (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE COLLATE NOCASE,
    type       TEXT NOT NULL CHECK (type IN ('main', 'additional')),
    definition TEXT NOT NULL,                     -- JSON of privacy.Role
    builtin    INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE accounts (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE COLLATE NOCASE,
    main_role_id INTEGER NOT NULL REFERENCES roles(id),
    builtin      INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL
);

CREATE TABLE account_roles (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    role_id    INTEGER NOT NULL REFERENCES roles(id),
    PRIMARY KEY (account_id, role_id)
);

-- Tokens are stored as SHA-256 of the random token; the token itself is shown once.
CREATE TABLE tokens (
    id         INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('account', 'enrollment')),
    account_id INTEGER REFERENCES accounts(id) ON DELETE CASCADE,
    name       TEXT NOT NULL DEFAULT '',
    hash       BLOB NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

CREATE TABLE audit (
    id         INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    account_id INTEGER,
    account    TEXT NOT NULL,
    action     TEXT NOT NULL,
    target     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_at ON audit(at);

-- People and devices. Identifying values are sealed (AES-256-GCM); the key
-- column is a keyed hash used for lookups, never the clear value.
CREATE TABLE users (
    id         INTEGER PRIMARY KEY,
    key        TEXT NOT NULL UNIQUE,
    name_enc   BLOB NOT NULL,
    upn_enc    BLOB,
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL
);

CREATE TABLE devices (
    id            INTEGER PRIMARY KEY,
    key           TEXT NOT NULL UNIQUE,
    ext_id_enc    BLOB NOT NULL,
    name_enc      BLOB,
    name_key      TEXT,                           -- keyed hash of the lower-case name
    public_ip_enc BLOB,
    local_ips_enc BLOB,
    entity        TEXT NOT NULL DEFAULT 'n/a',
    location_type TEXT NOT NULL DEFAULT '',
    site          TEXT NOT NULL DEFAULT '',
    country_code  TEXT NOT NULL DEFAULT '',
    country       TEXT NOT NULL DEFAULT '',
    state         TEXT NOT NULL DEFAULT '',
    city          TEXT NOT NULL DEFAULT '',
    browser       TEXT NOT NULL DEFAULT '',
    last_user_id  INTEGER REFERENCES users(id) ON DELETE SET NULL,
    first_seen    INTEGER NOT NULL,
    last_seen     INTEGER NOT NULL
);

CREATE INDEX devices_name_key ON devices(name_key);

-- One row per usage interval, with its context as of the event.
CREATE TABLE events (
    id                INTEGER PRIMARY KEY,
    event_id          BLOB NOT NULL,              -- the client's UUID, 16 bytes, unique per device
    app_id            INTEGER NOT NULL REFERENCES applications(id),
    device_id         INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    user_id           INTEGER REFERENCES users(id) ON DELETE CASCADE,
    start_ms          INTEGER NOT NULL,
    duration_ms       INTEGER NOT NULL,
    url               TEXT,
    template          TEXT,
    host              TEXT,
    sanitizer_version TEXT,
    browser           TEXT NOT NULL DEFAULT '',
    browser_version   TEXT NOT NULL DEFAULT '',
    entity            TEXT NOT NULL DEFAULT 'n/a',
    location_type     TEXT NOT NULL DEFAULT '',
    site              TEXT NOT NULL DEFAULT '',
    vpn               INTEGER NOT NULL DEFAULT 0,
    location_rule     TEXT NOT NULL DEFAULT '',
    country_code      TEXT NOT NULL DEFAULT '',
    country           TEXT NOT NULL DEFAULT '',
    state             TEXT NOT NULL DEFAULT '',
    city              TEXT NOT NULL DEFAULT '',
    latitude          REAL,
    longitude         REAL,
    received_ms       INTEGER NOT NULL,
    -- Ids are unique per device: a device's retried batch is a duplicate.
    -- Keyed device first, one batch's ids share a few index pages instead
    -- of touching one random page each (random UUIDs), which is what
    -- bounds the write volume of a commit.
    UNIQUE (device_id, event_id)
);
-- Time is indexed by UTC day, not by millisecond: entries with the same key
-- are ordered by rowid, so today's events append to the end of their day
-- instead of landing on random pages of a start-time index (intervals end
-- up to minutes before they are sent, so their starts interleave). Queries
-- name the same expression (start_ms / 86400000) to use these indexes.
CREATE INDEX events_day ON events(start_ms / 86400000);
CREATE INDEX events_app_day ON events(app_id, start_ms / 86400000);
CREATE INDEX events_user ON events(user_id);
