import { hostname } from "node:os";
import { z } from "zod";
import { duration, secretList, size } from "./units";
import { moodleConfig } from "../modules/moodle/config";
import { recommenderConfig } from "../modules/recommender/config";
import { webhooksConfig } from "../modules/webhooks/config";
import { jobsConfig } from "../modules/jobs/config";
import { bridgeConfig } from "../modules/bridge/config";

// Every object is strict (unknown keys are errors) and every default sits beside its field.
// `.prefault({})` makes a missing section parse as an empty one, so its field defaults apply.

export const serverConfig = z
  .strictObject({
    /** Interface to listen on. 0.0.0.0 exposes ferry to the network. */
    host: z.string().min(1).default("127.0.0.1"),
    /** TCP port. */
    port: z.number().int().min(0).max(65535).default(8000),
    /** Largest request body accepted; bigger bodies get 413. */
    body_limit: size.prefault("1mb"),
    /** How long graceful shutdown waits for in-flight jobs before releasing them. */
    shutdown_timeout: duration.prefault("10s"),
  })
  .prefault({});

export const storageConfig = z
  .strictObject({
    /** sqlite: one embedded file, one process (the default). postgres: N ferry nodes on one PostgreSQL (README "Scale out"). */
    driver: z.enum(["sqlite", "postgres"]).default("sqlite"),
    /** SQLite file; its directory is created when missing. */
    path: z.string().min(1).default("./data/ferry.db"),
    /** full: fsync on every commit (a 2xx survives power loss); normal: survives a crash of ferry, not of the OS. */
    durability: z.enum(["full", "normal"]).default("full"),
    /** How long a write waits for a lock held by another process. */
    busy_timeout: duration.prefault("5s"),
    /** WAL checkpoint schedule (croner pattern). */
    checkpoint_cron: z.string().default("*/5 * * * *"),
    /** PostgreSQL connection URL (driver postgres), e.g. ${FERRY_DATABASE_URL}; the password never appears in logs or API answers. */
    url: z
      .string()
      .regex(/^postgres(ql)?:\/\//, "expected a postgres:// or postgresql:// URL")
      .optional(),
    /** PostgreSQL connections per node (LISTEN uses one more). */
    pool: z.number().int().min(2).max(200).default(10),
    /** PostgreSQL schema holding ferry's tables (created if missing), so ferry can share Moodle's database. */
    schema: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, "expected a lower-case SQL identifier (letters, digits, _)")
      .default("ferry"),
  })
  .superRefine((s, ctx) => {
    if (s.driver === "postgres" && !s.url) ctx.addIssue({ code: "custom", path: ["url"], message: "required when storage.driver is postgres (e.g. url: ${FERRY_DATABASE_URL})" });
  })
  .prefault({});

export const clusterConfig = z
  .strictObject({
    /** This node's name among the nodes sharing one PostgreSQL; default <hostname>:<server.port> (see nodeIdOf). */
    node_id: z.string().min(1).max(63).optional(),
    /** How often a node renews its leader row (and, later, its heartbeat). */
    heartbeat: duration.prefault("5s"),
    /** A leader (or a shard owner) that has not renewed for this long is replaced by another node. */
    leader_ttl: duration.prefault("15s"),
    /** Course shards spread over the nodes (rendezvous hashing); fixed for the life of a database. */
    shards: z.number().int().min(1).max(4096).default(64),
  })
  .refine((c) => c.leader_ttl > c.heartbeat, { path: ["leader_ttl"], message: "must be longer than cluster.heartbeat (a leader renews every heartbeat)" })
  .prefault({});

export const queueConfig = z
  .strictObject({
    /** Lease a claimed job holds before another worker may take it over (long jobs heartbeat). */
    lease: duration.prefault("30s"),
    /** How often expired leases are recovered and due retries are woken (croner pattern, seconds field allowed). */
    maintenance_cron: z.string().default("*/5 * * * * *"),
    /** Finished (done) jobs older than this are deleted. Dead jobs are kept until replayed or removed by hand. */
    retention: duration.prefault("7d"),
    /** Retention cleanup schedule (croner pattern). */
    retention_cron: z.string().default("17 * * * *"),
  })
  .prefault({});

export const authConfig = z
  .strictObject({
    /** Bearer tokens for /api/v1 admin and publish routes. Empty list = those routes refuse everything. */
    api_tokens: secretList.default(["dev-api-token"]),
  })
  .prefault({});

export const logConfig = z
  .strictObject({
    /** pino level: fatal, error, warn, info, debug, trace, silent. */
    level: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  })
  .prefault({});

export const configSchema = z.strictObject({
  server: serverConfig,
  storage: storageConfig,
  cluster: clusterConfig,
  queue: queueConfig,
  auth: authConfig,
  moodle: moodleConfig,
  recommender: recommenderConfig,
  webhooks: webhooksConfig,
  jobs: jobsConfig,
  bridge: bridgeConfig,
  log: logConfig,
});

export type Config = z.output<typeof configSchema>;

/** cluster.node_id, else <hostname>:<port> (<hostname>:pid-<pid> when the port is chosen by the OS). */
export function nodeIdOf(config: Config, port = config.server.port): string {
  return config.cluster.node_id ?? `${hostname()}:${port || `pid-${process.pid}`}`;
}
