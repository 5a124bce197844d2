-- Zendesk <-> Chatwoot bridge state on PostgreSQL: the tables of SQLite migration 030, same names
-- and columns (spec/bridge.md "State"), times in unix ms as bigint, Chatwoot ids as bigint.
CREATE TABLE bridge_contacts (
  requester_id text   PRIMARY KEY,
  contact_id   bigint NOT NULL,
  created_at   bigint NOT NULL
);
CREATE TABLE bridge_tickets (
  ticket_id       text   PRIMARY KEY,
  conversation_id bigint NOT NULL,
  contact_id      bigint,
  created_at      bigint NOT NULL,
  updated_at      bigint NOT NULL
);
CREATE INDEX bridge_tickets_conversation ON bridge_tickets (conversation_id);
CREATE TABLE bridge_processed (
  key    text   PRIMARY KEY,
  result text,
  at     bigint NOT NULL
);
CREATE INDEX bridge_processed_at ON bridge_processed (at);
CREATE TABLE bridge_own_writes (
  key text   PRIMARY KEY,
  at  bigint NOT NULL
);
CREATE INDEX bridge_own_writes_at ON bridge_own_writes (at);
CREATE TABLE bridge_status (
  direction       text PRIMARY KEY,
  last_success_at bigint,
  last_success    text,
  last_failure_at bigint,
  last_failure    text
);
