// The jobs API's and the bridge's PostgreSQL tables match their SQLite tables column for column
// (`ferry move-to-postgres` copies by table and column name), and a bridge moved from SQLite to
// PostgreSQL keeps its links: the next comment on a ticket goes to the same conversation.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { allMigrations, allPgMigrations } from "../../src/modules";
import { openStore } from "../../src/store/db";
import { openDriver } from "../../src/store/driver/open";
import { BUN, ROOT, startFerry, tempDir, waitFor, writeConfig } from "../helpers/ferry";
import { pgUnavailable, startPgCluster, type PgCluster } from "../helpers/postgres";
import { startBridge, TICKET } from "./setup";

const reason = pgUnavailable();
if (reason) console.log(`bridge/jobs PostgreSQL schema tests skipped: ${reason}`);
const pgTest = reason ? test.skip : test;

let cluster: PgCluster | null = null;
beforeAll(async () => {
  if (!reason) cluster = await startPgCluster();
});
afterAll(async () => {
  await cluster?.stop();
});

const TABLES = ["api_jobs", "api_job_items", "api_job_requests", "bridge_contacts", "bridge_tickets", "bridge_processed", "bridge_own_writes", "bridge_status"];

describe("jobs and bridge tables on PostgreSQL", () => {
  pgTest("same columns, nullability and primary keys as on SQLite", async () => {
    const store = openStore({ path: join(tempDir(), "schema.db") }, allMigrations);
    const pg = await openDriver({ driver: "postgres", url: cluster!.url, pool: 2, schema: "parity", nodeId: "parity", migrations: allPgMigrations });
    try {
      for (const table of TABLES) {
        const lite = store.db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string; notnull: number; pk: number }>;
        const cols = await pg.sql<{ name: string; notnull: boolean }[]>`SELECT column_name AS name, is_nullable = 'NO' AS notnull
          FROM information_schema.columns WHERE table_schema = 'parity' AND table_name = ${table} ORDER BY ordinal_position`;
        const pk = await pg.sql<{ name: string }[]>`SELECT a.attname AS name FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
          WHERE i.indrelid = ${`parity.${table}`}::regclass AND i.indisprimary`;
        expect({ table, columns: cols.map((c) => c.name) }).toEqual({ table, columns: lite.map((c) => c.name) });
        // SQLite's PRIMARY KEY columns are NOT NULL in PostgreSQL (and in practice on SQLite: they are always set).
        expect({ table, notnull: cols.filter((c) => c.notnull).map((c) => c.name).sort() }).toEqual({
          table,
          notnull: lite.filter((c) => c.notnull || c.pk).map((c) => c.name).sort(),
        });
        expect({ table, pk: pk.map((c) => c.name).sort() }).toEqual({ table, pk: lite.filter((c) => c.pk).map((c) => c.name).sort() });
      }
    } finally {
      store.close();
      await pg.close();
    }
  });

  pgTest("a bridge moved from SQLite to PostgreSQL keeps its links and dedupe state", async () => {
    const b = await startBridge();
    try {
      b.zd.comment(TICKET, "before the move");
      await b.idle();
      expect(b.cw.conversations).toHaveLength(1);
      const conversation = b.cw.conversations[0]!.id;
      await b.ferry.stop();

      // ferry move-to-postgres with the same config file, pointed at PostgreSQL.
      const schema = "moved_bridge";
      const configPath = writeConfig(b.dir, { ...b.config, storage: { driver: "postgres", url: cluster!.url, schema, path: b.ferry.dbPath } });
      const move = Bun.spawnSync([BUN, join(ROOT, "src/main.ts"), "move-to-postgres", "--config", configPath, "--quiet"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
      expect({ code: move.exitCode, stderr: move.stderr.toString() }).toMatchObject({ code: 0 });

      const f = await startFerry({ ...b.config, storage: { driver: "postgres", url: cluster!.url, schema } }, { dir: tempDir() });
      try {
        b.zd.webhookUrl = f.url + "/service-api-webhook/zendesk-webhook";
        b.cw.webhookUrl = f.url + "/service-api-webhook/chatwoot-webhook";
        b.zd.comment(TICKET, "after the move");
        await waitFor(async () => {
          await b.zd.settled();
          await b.cw.settled();
          return b.cw.messages.filter((m) => m.message_type === "incoming").length === 2;
        }, 15_000, "the comment after the move forwarded");
        // Same conversation and contact: the link came across; nothing was created again.
        expect(b.cw.conversations).toHaveLength(1);
        expect(b.cw.contacts).toHaveLength(1);
        expect(b.cw.messages.filter((m) => m.message_type === "incoming").map((m) => [m.conversation_id, m.content])).toEqual([
          [conversation, "before the move"],
          [conversation, "after the move"],
        ]);
        // A Zendesk retry of the pre-move comment's webhook is still recognised as forwarded.
        const first = b.zd.tickets.get(TICKET)!.comments[0]!;
        b.zd.sendWebhook(b.zd.eventBody(b.zd.tickets.get(TICKET)!, first, false));
        await b.zd.settled();
        await Bun.sleep(300);
        expect(b.cw.messages.filter((m) => m.message_type === "incoming")).toHaveLength(2);
        const h = (await (await f.request("GET", "/health")).json()) as any;
        expect(h.bridge.zendesk_to_chatwoot.ok).toBe(true);
      } finally {
        await f.stop();
      }
    } finally {
      b.zd.close();
      b.cw.close();
    }
  }, 60_000);
});
