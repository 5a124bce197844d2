// A throwaway redis-server for the BullMQ comparison: a free port on 127.0.0.1, a temp dir,
// AOF with fsync every second (BullMQ's usual durable setup; less durable than ferry's fsync per commit).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function redisAvailable(): string | null {
  return Bun.spawnSync(["sh", "-c", "command -v redis-server"]).exitCode === 0 ? null : "redis-server is not installed (apt-get install redis-server)";
}

export async function startRedis(port: number): Promise<{ port: number; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), "ferry-bench-redis-"));
  const proc = Bun.spawn(
    ["redis-server", "--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--protected-mode", "yes"],
    { stdout: "ignore", stderr: "inherit" },
  );
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`redis-server exited with ${proc.exitCode}`);
    const ping = Bun.spawnSync(["redis-cli", "-p", String(port), "ping"]);
    if (ping.stdout.toString().trim() === "PONG") break;
    if (Date.now() > deadline) throw new Error("redis-server did not start");
    await Bun.sleep(50);
  }
  return { port, stop: async () => void (proc.kill("SIGTERM"), await proc.exited) };
}
