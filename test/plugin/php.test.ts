// The Moodle plugin (moodle-plugin/local_ferry) checked with real PHP tooling:
// `php -l` on every PHP file (the plugin, its Moodle-form tests in local_ferry/tests, which run only
// inside a Moodle site, and the stand-in), phpcs with moodle-plugin/phpcs.xml (PSR-12 adapted to
// Moodle), PHPUnit with moodle-plugin/phpunit.xml against the stand-in.
// CI installs Debian's php-cli php-curl php-sqlite3 php-xml php-mbstring phpunit php-codesniffer.
// A missing tool skips its test with the reason printed; it never fails the suite.
import { describe, expect, test } from "bun:test";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");
const PLUGIN_ROOT = join(ROOT, "moodle-plugin");
const php = Bun.which("php");
const phpcs = Bun.which("phpcs");
const phpunit = Bun.which("phpunit");

function skipReason(name: string, path: string | null, pkg: string): boolean {
  if (path) return false;
  console.log(`skipped: ${name} is not installed (Debian: apt-get install ${pkg})`);
  return true;
}

async function run(cmd: string[]): Promise<{ code: number; out: string }> {
  const proc = Bun.spawn(cmd, { cwd: ROOT, stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1" } });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, out: out + err };
}

describe("moodle plugin: PHP tooling", () => {
  test.skipIf(skipReason("php", php, "php-cli"))("php -l passes on every PHP file, the Moodle-form tests included", async () => {
    const files = [...new Bun.Glob("**/*.php").scanSync({ cwd: PLUGIN_ROOT, absolute: true })].sort();
    expect(files.length).toBeGreaterThan(30);
    for (const required of ["local_ferry/classes/sender.php", "local_ferry/tests/observer_test.php", "local_ferry/tests/privacy/provider_test.php"]) {
      expect(files.some((f) => f.endsWith(required))).toBe(true);
    }
    const results = await Promise.all(files.map((f) => run([php!, "-l", f])));
    const failed = results.map((r, i) => ({ ...r, file: files[i] })).filter((r) => r.code !== 0);
    expect(failed.map((f) => `${f.file}: ${f.out}`)).toEqual([]);
  });

  test("the Moodle-form tests are advanced_testcase / provider_testcase classes named *_test", async () => {
    const dir = join(PLUGIN_ROOT, "local_ferry/tests");
    const files = [...new Bun.Glob("**/*_test.php").scanSync({ cwd: dir })].sort();
    expect(files).toEqual(["observer_test.php", "outbox_test.php", "privacy/provider_test.php", "sender_test.php"]);
    for (const f of files) {
      const text = await Bun.file(join(dir, f)).text();
      const base = f.endsWith("provider_test.php") ? "\\core_privacy\\tests\\provider_testcase" : "\\advanced_testcase";
      expect(text).toContain(`final class ${f.split("/").pop()!.replace(".php", "")} extends ${base} {`);
      expect(text).toMatch(/@covers\s+\\local_ferry\\/);
    }
  });

  test.skipIf(!php || skipReason("phpcs", phpcs, "php-codesniffer"))("phpcs (moodle-plugin/phpcs.xml) is clean on the plugin", async () => {
    const r = await run([phpcs!, "--standard=" + join(PLUGIN_ROOT, "phpcs.xml"), "-q", "--report=full"]);
    if (r.code !== 0) console.error(r.out);
    expect(r.code).toBe(0);
  });

  test.skipIf(!php || skipReason("phpunit", phpunit, "phpunit"))("PHPUnit (moodle-plugin/phpunit.xml) passes", async () => {
    const r = await run([phpunit!, "-c", join(PLUGIN_ROOT, "phpunit.xml")]);
    if (r.code !== 0) console.error(r.out);
    expect(r.code).toBe(0);
    const ok = r.out.match(/OK \((\d+) tests?, (\d+) assertions?\)/);
    expect(ok).not.toBeNull();
    expect(Number(ok![1])).toBeGreaterThanOrEqual(75);
  }, 120_000);
});
