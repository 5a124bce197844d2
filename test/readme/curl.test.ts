// The README's "Try every route with curl" walkthrough, run as written (bash + curl) against a
// real ferry started from source the way `npm start` starts it: every call answers 2xx except the
// ones the README marks `# → NNN`, and the webhook round trip reaches the loopback receiver.
import { afterAll, expect, test } from "bun:test";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUN, ROOT, freePort, spawnFerry, tempDir, type ChildFerry } from "../helpers/ferry";

const hasCurl = Bun.which("curl") !== null && Bun.which("bash") !== null;
if (!hasCurl) console.log("skipping the README curl walkthrough: curl or bash is not installed");

const readme = readFileSync(join(ROOT, "README.md"), "utf8");
const section = readme.slice(readme.indexOf("### Try every route with curl"), readme.indexOf("\n## ", readme.indexOf("### Try every route with curl")));
const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);

let first: ChildFerry | null = null;
afterAll(async () => {
  if (first && first.proc.exitCode === null) await first.kill("SIGKILL");
});

test("the walkthrough covers many routes and uses only what a clone has", () => {
  expect(blocks.length).toBeGreaterThan(8);
  expect(JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).scripts.ferry).toBe("bun src/main.ts");
  for (const m of section.matchAll(/@(test\/fixtures\/\S+)/g)) expect(Bun.file(join(ROOT, m[1]!)).size).toBeGreaterThan(0);
});

test.skipIf(!hasCurl)("every curl example runs against npm start's config and answers as the README says", async () => {
  const dir = tempDir("ferry-readme-");
  const port = freePort();
  const receiverPort = freePort();
  // `npm start` = `bun src/main.ts serve` with ./config.yaml in the working directory.
  writeFileSync(join(dir, "config.yaml"), readFileSync(join(ROOT, "config.yaml"), "utf8").replace("port: 8000", `port: ${port}`));
  copyFileSync(join(ROOT, "config.yaml"), join(dir, "config.orig.yaml"));
  first = await spawnFerry(join(dir, "config.yaml"), port, { source: true, cwd: dir, env: { FERRY_API_TOKEN: "", FERRY_MOODLE_TOKEN: "" } });

  let script = blocks.join("\n");
  const curls = [...script.matchAll(/(?<![\w-])curl /g)].map((m, i, all) => {
    const text = script.slice(m.index!, all[i + 1]?.index ?? script.length);
    return Number(/# → (\d{3})/.exec(text.split(/\n(?!\s)/)[0]!)?.[1] ?? /# → (\d{3})/.exec(text)?.[1] ?? 0) || null;
  });
  script = script
    .replaceAll("127.0.0.1:8000", `127.0.0.1:${port}`)
    .replaceAll("127.0.0.1:9000", `127.0.0.1:${receiverPort}`)
    .replaceAll("port: 9000", `port: ${receiverPort}`)
    .replaceAll("node_modules/.bin/bun", `"${BUN}"`)
    .replaceAll("npm run -s ferry --", `"${BUN}" "${ROOT}/src/main.ts"`)
    .replaceAll("@test/fixtures/", `@${ROOT}/test/fixtures/`)
    .replace("cat > try-webhooks.yaml <<'YAML'\n", `cat > try-webhooks.yaml <<'YAML'\nserver: { port: ${port} }\n`)
    // The reader stops `npm start` and starts it with the new file.
    .replace(
      "npm start -- --config try-webhooks.yaml &",
      `kill ${first.proc.pid}; while kill -0 ${first.proc.pid} 2>/dev/null; do sleep 0.1; done\n"${BUN}" "${ROOT}/src/main.ts" serve --config try-webhooks.yaml > server2.log 2>&1 &`,
    );
  const prelude = `curl() { command curl "$@" -w '%{stderr}STATUS %{http_code}\\n'; }\ntrap 'kill $(jobs -p) 2>/dev/null' EXIT\n`;
  writeFileSync(join(dir, "walkthrough.sh"), prelude + script);
  const run = Bun.spawn(["bash", join(dir, "walkthrough.sh")], { cwd: dir, stdout: "pipe", stderr: "pipe", env: { ...process.env, FERRY_API_TOKEN: "", FERRY_MOODLE_TOKEN: "" } });
  const timer = setTimeout(() => run.kill("SIGKILL"), 90_000);
  const [stdout, stderr] = await Promise.all([new Response(run.stdout).text(), new Response(run.stderr).text()]);
  await run.exited;
  clearTimeout(timer);
  const statuses = [...stderr.matchAll(/^STATUS (\d{3})$/gm)].map((m) => Number(m[1]));
  const context = `stdout:\n${stdout.slice(-4000)}\nstderr:\n${stderr.slice(-2000)}\nserver2:\n${Bun.file(join(dir, "server2.log")).size ? readFileSync(join(dir, "server2.log"), "utf8").slice(-1500) : ""}`;
  expect([statuses.length, context]).toEqual([curls.length, context]);
  const wrong = statuses.map((s, i) => ({ i, got: s, want: curls[i] ?? "2xx" })).filter((r) => (r.want === "2xx" ? r.got < 200 || r.got > 299 : r.got !== r.want));
  expect([wrong, context]).toEqual([[], context]);
  // What the reader is told to look for.
  expect(stdout).toContain('"status":"accepted"');
  expect(stdout).toContain("enrollmentid: required");
  expect(stdout).toContain("DEGRADED");
  expect(stdout).toMatch(/attempt\.submitted msg_[\w-]+ \{"name":"attempt.submitted"/); // the receiver printed the delivery
  expect(stdout).toContain('"status":"delivered"');
  // The generic queue replays only dead jobs (deliveries have their own retry routes).
  expect(stdout).toContain('"code":"not_dead"');
  expect(stdout).toContain("bridge_disabled");
}, 120_000);
