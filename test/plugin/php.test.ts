// The Moodle plugin (moodle-plugin/local_ferry) checked with real PHP tooling:
// `php -l` on every PHP file, phpcs with moodle-plugin/phpcs.xml, PHPUnit with moodle-plugin/phpunit.xml.
// CI installs Debian's php-cli php-curl php-sqlite3 php-xml php-mbstring phpunit php-codesniffer;
// these tests are skipped only when `php` itself is not installed.
import { describe, expect, test } from "bun:test";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");
const PLUGIN_ROOT = join(ROOT, "moodle-plugin");
const hasPhp = Bun.which("php") !== null;

async function run(cmd: string[]): Promise<{ code: number; out: string }> {
  const proc = Bun.spawn(cmd, { cwd: ROOT, stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1" } });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, out: out + err };
}

function tool(name: string): string {
  const path = Bun.which(name);
  if (!path) throw new Error(`${name} is not installed (Debian: apt-get install ${name === "phpcs" ? "php-codesniffer" : name})`);
  return path;
}

describe.skipIf(!hasPhp)("moodle plugin: PHP tooling", () => {
  test("php -l passes on every PHP file", async () => {
    const files = [...new Bun.Glob("**/*.php").scanSync({ cwd: PLUGIN_ROOT, absolute: true })].sort();
    expect(files.length).toBeGreaterThan(20);
    expect(files.some((f) => f.endsWith("local_ferry/classes/sender.php"))).toBe(true);
    const results = await Promise.all(files.map((f) => run(["php", "-l", f])));
    const failed = results.map((r, i) => ({ ...r, file: files[i] })).filter((r) => r.code !== 0);
    expect(failed.map((f) => `${f.file}: ${f.out}`)).toEqual([]);
  });

  test("phpcs (moodle-plugin/phpcs.xml) is clean on the plugin", async () => {
    const r = await run([tool("phpcs"), "--standard=" + join(PLUGIN_ROOT, "phpcs.xml"), "-q", "--report=full"]);
    if (r.code !== 0) console.error(r.out);
    expect(r.code).toBe(0);
  });

  test("PHPUnit (moodle-plugin/phpunit.xml) passes", async () => {
    const r = await run([tool("phpunit"), "-c", join(PLUGIN_ROOT, "phpunit.xml")]);
    if (r.code !== 0) console.error(r.out);
    expect(r.code).toBe(0);
    const ok = r.out.match(/OK \((\d+) tests?, (\d+) assertions?\)/);
    expect(ok).not.toBeNull();
    expect(Number(ok![1])).toBeGreaterThanOrEqual(40);
  });
});
