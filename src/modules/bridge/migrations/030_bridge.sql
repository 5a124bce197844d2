-- Zendesk <-> Chatwoot bridge state (spec/bridge.md "State"). Times are unix milliseconds.
-- One Chatwoot contact per Zendesk requester.
CREATE TABLE bridge_contacts (
  requester_id TEXT PRIMARY KEY,
  contact_id   INTEGER NOT NULL,
  created_at   INTEGER NOT NULL
);
-- One Chatwoot conversation per Zendesk ticket.
CREATE TABLE bridge_tickets (
  ticket_id       TEXT PRIMARY KEY,
  conversation_id INTEGER NOT NULL,
  contact_id      INTEGER,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
);
CREATE INDEX bridge_tickets_conversation ON bridge_tickets (conversation_id);
-- Ids already forwarded (zd-comment:<id>, zd-text:<ticket>:<sha>, cw-message:<id>) with what they became;
-- written right after the side effect so a retried job never posts twice.
CREATE TABLE bridge_processed (
  key    TEXT PRIMARY KEY,
  result TEXT,
  at     INTEGER NOT NULL
);
CREATE INDEX bridge_processed_at ON bridge_processed (at);
-- What the bridge itself wrote (cw-message:<id>, zd-comment:<id>, zd-text:<ticket>:<sha>): their echoes are dropped.
CREATE TABLE bridge_own_writes (
  key TEXT PRIMARY KEY,
  at  INTEGER NOT NULL
);
CREATE INDEX bridge_own_writes_at ON bridge_own_writes (at);
-- Last success and failure per direction, for /health across restarts.
CREATE TABLE bridge_status (
  direction       TEXT PRIMARY KEY,
  last_success_at INTEGER,
  last_success    TEXT,
  last_failure_at INTEGER,
  last_failure    TEXT
);
