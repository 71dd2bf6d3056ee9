-- A store made by renkei before the engine seam (schema version 2); see README.md.
BEGIN TRANSACTION;
CREATE TABLE batches (  id TEXT PRIMARY KEY,  route TEXT NOT NULL,  file_sha TEXT NOT NULL,  source_item TEXT NOT NULL,  seq INTEGER NOT NULL,  first_record INTEGER NOT NULL,  last_record INTEGER NOT NULL,  records INTEGER NOT NULL,  created_ms INTEGER NOT NULL,  fields TEXT NOT NULL,  payload TEXT NOT NULL);
INSERT INTO "batches" VALUES('lines-lines-880553fca8fc-000000','lines','880553fca8fcea94e325ee2cfb48e5a985cc797f39a14cc6d3cedecfeb2ae4d2','lines.txt',0,1,3,3,1796068987146,'["line"]','["a"]
["b"]
["c"]
');
CREATE TABLE intake_files (  route TEXT NOT NULL,  sha256 TEXT NOT NULL,  name TEXT NOT NULL,  size INTEGER NOT NULL,  state TEXT NOT NULL CHECK (state IN ('processing', 'done', 'failed')),  first_seen TEXT NOT NULL,  finished_at TEXT,  note TEXT, lease_owner TEXT NOT NULL DEFAULT '', lease_until INTEGER NOT NULL DEFAULT 0,  PRIMARY KEY (route, sha256));
INSERT INTO "intake_files" VALUES('lines','880553fca8fcea94e325ee2cfb48e5a985cc797f39a14cc6d3cedecfeb2ae4d2','lines.txt',6,'done','2026-11-30T20:03:07Z','2026-11-30T20:03:07Z','','',0);
CREATE TABLE operator_log (  id INTEGER PRIMARY KEY AUTOINCREMENT,  at_ms INTEGER NOT NULL,  who TEXT NOT NULL,  action TEXT NOT NULL,  detail TEXT NOT NULL);
CREATE TABLE outbox (  id INTEGER PRIMARY KEY AUTOINCREMENT,  batch_id TEXT NOT NULL REFERENCES batches (id),  route TEXT NOT NULL,  target TEXT NOT NULL,  state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),  attempts INTEGER NOT NULL DEFAULT 0,  records INTEGER NOT NULL,  created_ms INTEGER NOT NULL,  updated_ms INTEGER NOT NULL,  delivered_ms INTEGER NOT NULL DEFAULT 0,  next_attempt_ms INTEGER NOT NULL,  lease_owner TEXT NOT NULL DEFAULT '',  lease_until INTEGER NOT NULL DEFAULT 0,  last_error TEXT NOT NULL DEFAULT '',  UNIQUE (batch_id, target));
INSERT INTO "outbox" VALUES(1,'lines-lines-880553fca8fc-000000','lines','out','dead',1,3,1796068987146,1796068987156,0,1796068987156,'',0,'folder ''/tmp/v2/out/tmp'' does not exist');
CREATE INDEX intake_files_seen ON intake_files (first_seen);
CREATE INDEX batches_file ON batches (route, file_sha);
CREATE INDEX outbox_due ON outbox (state, next_attempt_ms);
CREATE INDEX outbox_route ON outbox (route, state);
CREATE INDEX outbox_queue ON outbox (route, target, state, id);
DELETE FROM "sqlite_sequence";
INSERT INTO "sqlite_sequence" VALUES('outbox',1);
COMMIT;
PRAGMA user_version = 2;
