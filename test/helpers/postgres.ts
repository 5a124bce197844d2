// A throwaway PostgreSQL cluster for tests: Debian's initdb + pg_ctl (kept off PATH in
// /usr/lib/postgresql/<version>/bin) on a free 127.0.0.1 port in a temp dir, removed after.
// PostgreSQL refuses to run as root, so as root the binaries run as the `postgres` user.
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface PgCluster {
  /** postgres://ferry@127.0.0.1:<port>/ferry (trust auth, local only). */
  url: string;
  port: number;
  dir: string;
  /** Stops the server the way a crash would (pg_ctl -m immediate: no checkpoint) and starts it again (WAL recovery). */
  crashAndRestart(): Promise<void>;
  /** The same crash, without the restart (call start() to bring it back). */
  crash(): Promise<void>;
  start(): Promise<void>;
  /** A fresh database on this cluster, for one test's isolation. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

/** The bin directory of the newest installed PostgreSQL, or null with the reason it is missing. */
export function findPgBin(): { bin: string } | { missing: string } {
  const base = "/usr/lib/postgresql";
  const fromEnv = process.env.FERRY_PG_BIN;
  if (fromEnv) return existsSync(join(fromEnv, "initdb")) ? { bin: fromEnv } : { missing: `FERRY_PG_BIN=${fromEnv} has no initdb` };
  if (!existsSync(base)) return { missing: `${base} does not exist (apt-get install postgresql)` };
  const versions = readdirSync(base)
    .filter((v) => existsSync(join(base, v, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a));
  if (!versions.length) return { missing: `no initdb under ${base}/*/bin (apt-get install postgresql)` };
  return { bin: join(base, versions[0]!, "bin") };
}

/** Why PostgreSQL tests cannot run here, or null when they can. Printed by the tests that skip. */
export function pgUnavailable(): string | null {
  const found = findPgBin();
  if ("missing" in found) return found.missing;
  if (process.getuid?.() === 0 && Bun.spawnSync(["id", "-u", "postgres"]).exitCode !== 0) return "running as root and there is no postgres user to run initdb as";
  return null;
}

function asPgUser(cmd: string[]): string[] {
  return process.getuid?.() === 0 ? ["runuser", "-u", "postgres", "--", ...cmd] : cmd;
}

function run(cmd: string[]): void {
  const r = Bun.spawnSync(asPgUser(cmd), { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed (${r.exitCode}): ${r.stderr.toString()}${r.stdout.toString()}`);
}

async function freePort(): Promise<number> {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = server.port;
  server.stop(true);
  return port;
}

/** initdb + pg_ctl start; the caller must `await cluster.stop()` (afterAll). */
export async function startPgCluster(): Promise<PgCluster> {
  const found = findPgBin();
  if ("missing" in found) throw new Error(found.missing);
  const dir = mkdtempSync(join(tmpdir(), "ferry-pg-"));
  chmodSync(dir, 0o700);
  if (process.getuid?.() === 0) {
    const uid = Number(Bun.spawnSync(["id", "-u", "postgres"]).stdout.toString());
    const gid = Number(Bun.spawnSync(["id", "-g", "postgres"]).stdout.toString());
    chownSync(dir, uid, gid);
  }
  const data = join(dir, "data");
  run([join(found.bin, "initdb"), "-D", data, "-U", "ferry", "-A", "trust", "-E", "UTF8", "--no-sync", "--locale=C"]);
  let port = 0;
  // fsync stays on: the durability tests rely on a commit being on disk. Small buffers: many tests, 2 cores.
  const opts = () => `-c port=${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${dir} -c shared_buffers=32MB -c max_connections=60`;
  const start = () => run([join(found.bin, "pg_ctl"), "-D", data, "-l", join(dir, "log"), "-o", opts(), "-w", "-t", "60", "start"]);
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    try {
      start();
      break;
    } catch (err) {
      if (attempt >= 2) throw err; // the port was taken between freePort() and the bind: try another
    }
  }
  const url = `postgres://ferry@127.0.0.1:${port}/postgres`;
  const { default: postgres } = await import("postgres");
  const admin = postgres(url, { max: 1, onnotice: () => {} });
  await admin`CREATE DATABASE ferry`;
  return {
    url: `postgres://ferry@127.0.0.1:${port}/ferry`,
    port,
    dir,
    async crashAndRestart() {
      run([join(found.bin, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"]);
      start();
    },
    async crash() {
      run([join(found.bin, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"]);
    },
    async start() {
      start();
    },
    async createDatabase(name: string) {
      await admin.unsafe(`CREATE DATABASE "${name.replace(/"/g, "")}"`);
      return `postgres://ferry@127.0.0.1:${port}/${encodeURIComponent(name)}`;
    },
    async stop() {
      await admin.end({ timeout: 1 });
      try {
        run([join(found.bin, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
