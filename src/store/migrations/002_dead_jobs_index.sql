-- /health and /metrics count dead jobs per kind without scanning the table.
CREATE INDEX jobs_dead ON jobs (kind) WHERE status = 'dead';
