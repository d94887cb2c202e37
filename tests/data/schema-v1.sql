-- The schema of Eventdesk 0.1 at schema version 1, as an older database
-- holds it, with a few rows, for the migration test.
CREATE TABLE admins ( id INTEGER PRIMARY KEY, username TEXT NOT NULL UNIQUE COLLATE NOCASE, password_hash TEXT NOT NULL, created_at INTEGER NOT NULL, last_login_at INTEGER);
CREATE TABLE sessions ( id TEXT PRIMARY KEY, admin_id INTEGER NOT NULL REFERENCES admins(id) ON DELETE CASCADE, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX sessions_admin ON sessions(admin_id);
CREATE INDEX sessions_expiry ON sessions(expires_at);
CREATE TABLE events ( id INTEGER PRIMARY KEY, name TEXT NOT NULL, description TEXT NOT NULL DEFAULT '', venue TEXT NOT NULL DEFAULT '', timezone TEXT NOT NULL DEFAULT 'UTC', starts_at INTEGER NOT NULL, ends_at INTEGER, rsvp_deadline INTEGER, capacity INTEGER NOT NULL CHECK (capacity >= 0), waitlist_enabled INTEGER NOT NULL DEFAULT 1, max_party_size INTEGER NOT NULL DEFAULT 1 CHECK (max_party_size >= 1), created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
CREATE TABLE guests ( id INTEGER PRIMARY KEY, event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE, email TEXT NOT NULL COLLATE NOCASE, first_name TEXT NOT NULL DEFAULT '' COLLATE NOCASE, last_name TEXT NOT NULL DEFAULT '' COLLATE NOCASE, extra TEXT, status TEXT NOT NULL DEFAULT 'pending'  CHECK (status IN ('pending','accepted','declined','waitlisted','cancelled')), party_size INTEGER NOT NULL DEFAULT 1 CHECK (party_size >= 1), waitlist_position INTEGER, token_version INTEGER NOT NULL DEFAULT 1, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, responded_at INTEGER);
CREATE UNIQUE INDEX guests_event_email ON guests(event_id, email);
CREATE INDEX guests_event_name ON guests(event_id, last_name, first_name);
CREATE INDEX guests_event_status ON guests(event_id, status);
CREATE TABLE rsvp_history ( id INTEGER PRIMARY KEY, guest_id INTEGER NOT NULL REFERENCES guests(id) ON DELETE CASCADE, at INTEGER NOT NULL, old_status TEXT, new_status TEXT NOT NULL, party_size INTEGER NOT NULL, source TEXT NOT NULL CHECK (source IN ('guest','admin','system')), client_address TEXT);
CREATE INDEX rsvp_history_guest ON rsvp_history(guest_id, id);
INSERT INTO admins (id, username, password_hash, created_at) VALUES (1, 'old-admin', '$y$j9T$placeholder', 1700000000);
INSERT INTO events (id, name, starts_at, capacity, max_party_size, created_at, updated_at)
  VALUES (1, 'Old Gala', 1800000000, 10, 2, 1700000000, 1700000000);
INSERT INTO guests (id, event_id, email, first_name, last_name, status, party_size, created_at, updated_at)
  VALUES (1, 1, 'ada@example.com', 'Ada', 'Lovelace', 'accepted', 2, 1700000000, 1700000000),
         (2, 1, 'alan@example.com', 'Alan', 'Turing', 'pending', 1, 1700000001, 1700000001),
         (3, 1, 'grace@navy.example', 'Grace', 'Hopper', 'declined', 1, 1700000002, 1700000002);
INSERT INTO rsvp_history (guest_id, at, old_status, new_status, party_size, source)
  VALUES (1, 1700000100, 'pending', 'accepted', 2, 'guest');
PRAGMA user_version = 1;
