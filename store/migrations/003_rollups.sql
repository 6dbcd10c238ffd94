-- Rollups maintained at commit time, so dashboards do not scan events.
-- usage_daily: usage per UTC day, application and entity. An interval that
-- crosses midnight adds each part to its own day; `started` counts events by
-- start day, `carried` counts events that started the day before and
-- overlap this day (so a window [d1, d2) counts every overlapping event once:
-- sum(started) + carried of d1).
CREATE TABLE usage_daily (
    day      INTEGER NOT NULL,
    app_id   INTEGER NOT NULL,
    entity   TEXT NOT NULL,
    usage_ms INTEGER NOT NULL,
    started  INTEGER NOT NULL,
    carried  INTEGER NOT NULL,
    PRIMARY KEY (day, app_id, entity)
) WITHOUT ROWID;

-- presence_*: which days of a 64-day block (block = day / 64) a user or
-- device used an application, as a bit mask (bit = day % 64), for distinct
-- counts over any day-aligned window. The key starts (app_id, user_id) so
-- distinct counts per application stream in index order.
CREATE TABLE presence_users (
    block   INTEGER NOT NULL,
    app_id  INTEGER NOT NULL,
    entity  TEXT NOT NULL,
    user_id INTEGER NOT NULL,
    mask    INTEGER NOT NULL,
    PRIMARY KEY (app_id, user_id, block, entity)
) WITHOUT ROWID;
CREATE INDEX presence_users_user ON presence_users(user_id);

CREATE TABLE presence_devices (
    block     INTEGER NOT NULL,
    app_id    INTEGER NOT NULL,
    entity    TEXT NOT NULL,
    device_id INTEGER NOT NULL,
    mask      INTEGER NOT NULL,
    PRIMARY KEY (app_id, device_id, block, entity)
) WITHOUT ROWID;
CREATE INDEX presence_devices_device ON presence_devices(device_id);
