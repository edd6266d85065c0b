/**
 * The tables of Central's SQLite database (ARCHITECTURE §Storage), as the migrations that build
 * them, oldest first. `central/store.ts` opens the database with them.
 *
 * @module
 */

/**
 * Schema changes, in order; migration `i` brings the database to `user_version = i + 1`.
 * Never edit a released migration: append a new one.
 */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE cps (
     id            TEXT PRIMARY KEY,
     location      TEXT NOT NULL,
     price_eur_kwh REAL NOT NULL,
     power_kw      REAL NOT NULL,
     state         TEXT NOT NULL,
     stop_reason   TEXT,
     security      TEXT NOT NULL DEFAULT 'ACTIVE',
     last_seen     TEXT,
     updated_at    TEXT NOT NULL
   ) STRICT;
   CREATE TABLE drivers (
     id         TEXT PRIMARY KEY,
     first_seen TEXT NOT NULL,
     last_seen  TEXT NOT NULL
   ) STRICT;
   CREATE TABLE sessions (
     id            TEXT PRIMARY KEY,
     cp_id         TEXT NOT NULL,
     driver_id     TEXT NOT NULL,
     request_id    TEXT NOT NULL,
     price_eur_kwh REAL NOT NULL,
     power_kw      REAL NOT NULL,
     started_at    TEXT NOT NULL,
     plugged_at    TEXT,
     ended_at      TEXT,
     kw            REAL NOT NULL,
     kwh           REAL NOT NULL,
     eur           REAL NOT NULL,
     end_reason    TEXT,
     pending_end_reason   TEXT,
     pending_end_deadline INTEGER
   ) STRICT;
   CREATE INDEX sessions_open ON sessions (cp_id) WHERE ended_at IS NULL;
   CREATE INDEX sessions_by_end ON sessions (ended_at);
   CREATE INDEX sessions_by_driver ON sessions (driver_id);
   CREATE TABLE processed_requests (
     driver_id  TEXT NOT NULL,
     request_id TEXT NOT NULL,
     cp_id      TEXT,
     outcome    TEXT NOT NULL,
     reason     TEXT,
     session_id TEXT,
     at         TEXT NOT NULL,
     PRIMARY KEY (driver_id, request_id)
   ) STRICT;
   CREATE INDEX processed_requests_by_time ON processed_requests (at);
   CREATE TABLE cp_keys (
     cp_id       TEXT NOT NULL,
     key_version INTEGER NOT NULL,
     wrapped     TEXT NOT NULL,
     state       TEXT NOT NULL CHECK (state IN ('live', 'retired', 'revoked')),
     created_at  TEXT NOT NULL,
     PRIMARY KEY (cp_id, key_version)
   ) STRICT;
   CREATE TABLE replay_marks (
     cp_id       TEXT NOT NULL,
     key_version INTEGER NOT NULL,
     channel     TEXT NOT NULL,
     seq         INTEGER NOT NULL,
     PRIMARY KEY (cp_id, key_version, channel)
   ) STRICT;
   CREATE TABLE outbox (
     id         INTEGER PRIMARY KEY AUTOINCREMENT,
     topic      TEXT NOT NULL,
     key        TEXT NOT NULL,
     payload    TEXT NOT NULL,
     seal_for   TEXT,
     created_at TEXT NOT NULL,
     status     TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'dropped')),
     done_at    TEXT
   ) STRICT;
   CREATE INDEX outbox_pending ON outbox (id) WHERE status = 'pending';`,
  // The weather office's last report per CP: its hold (status 'alert') outlives a restart.
  `CREATE TABLE weather (
     cp_id       TEXT PRIMARY KEY,
     city        TEXT NOT NULL,
     temperature REAL NOT NULL,
     status      TEXT NOT NULL CHECK (status IN ('alert', 'clear')),
     since       TEXT NOT NULL,
     updated_at  TEXT NOT NULL
   ) STRICT;`,
  // What GET /security shows beside cps.security (ARCHITECTURE §Revocation and status); never a key.
  `CREATE TABLE cp_security (
     cp_id         TEXT PRIMARY KEY,
     reason        TEXT,
     changed_at    TEXT,
     revoked_at    TEXT,
     last_login_at TEXT,
     failed_logins INTEGER NOT NULL DEFAULT 0
   ) STRICT;`,
  // Deregistration in the Registry: which registration a CP logged in with, when it ended, and
  // how far the Registry's change feed has been applied (one row).
  `ALTER TABLE cp_security ADD COLUMN registered_at TEXT;
   ALTER TABLE cp_security ADD COLUMN deregistered_at TEXT;
   CREATE TABLE registry_feed (
     id  INTEGER PRIMARY KEY CHECK (id = 1),
     seq INTEGER NOT NULL
   ) STRICT;`,
  // Session history (GET /sessions with a date range, CP or driver; GET /sessions.csv): newest
  // first by start, and one CP's sessions by end.
  `CREATE INDEX sessions_by_start ON sessions (started_at);
   CREATE INDEX sessions_by_cp ON sessions (cp_id, ended_at);`,
  // Keyset paging walks (time, id): one index step per row, not a sort per page.
  `DROP INDEX sessions_by_start;
   CREATE INDEX sessions_by_start ON sessions (started_at, id);
   CREATE INDEX sessions_by_end_id ON sessions (ended_at, id);`,
  // When a key version stopped being live: retired versions are forgotten after a grace period.
  `ALTER TABLE cp_keys ADD COLUMN retired_at TEXT;`,
  // The monitor operator's maintenance hold, kept apart from the stop reason shown.
  `ALTER TABLE cps ADD COLUMN maintenance INTEGER NOT NULL DEFAULT 0;`,
  // The "key revoked" mark: an admin revoked its keys and it has not logged in since.
  `ALTER TABLE cp_security ADD COLUMN key_revoked_at TEXT;`,
  // The charger protocol a CP's monitor told at its last login (`ocpp1.6`): the dashboard's
  // badge stays after a restart, before the gateway logs the CP in again.
  `ALTER TABLE cps ADD COLUMN protocol TEXT;`,
];
