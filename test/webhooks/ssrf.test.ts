// Issue 10, finding 4: the SSRF guard connects to the address it checked (no DNS rebinding),
// refuses IPv4 embedded in IPv6 and the host's own addresses, takes host:port allow-list entries,
// and keeps client-supplied job URLs on their own list.
import { describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { existsSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import { checkTarget, embeddedIPv4, guardedFetch, isPrivateAddress, parseAllowEntry, ResolveFailed, TargetRefused } from "../../src/modules/webhooks/ssrf";
import { tempDir } from "../helpers/ferry";
import { deliveryIds, perTestResources, publish, sub, TOKEN, waitStatus } from "./helpers";

const guardOff = { allowPrivate: false, allowed: [] as string[] };

async function refused(url: string, allowed: string[] = []): Promise<string> {
  try {
    await checkTarget(url, { allowPrivate: false, allowed });
  } catch (err) {
    if (err instanceof TargetRefused) return err.message;
    throw err;
  }
  throw new Error(`${url} was not refused`);
}

describe("addresses", () => {
  test("IPv4 embedded in IPv6 is checked as the IPv4 address it reaches", () => {
    const loopbackForms = [
      "::7f00:1", // IPv4-compatible
      "::127.0.0.1",
      "::ffff:7f00:1", // IPv4-mapped
      "::ffff:127.0.0.1",
      "::ffff:0:7f00:1", // IPv4-translated (SIIT)
      "::ffff:0:127.0.0.1",
      "64:ff9b::7f00:1", // NAT64
      "64:ff9b::127.0.0.1",
      "2002:7f00:1::", // 6to4
      "2002:7f00:1:1234::1",
      "2001:0:4136:e378:8000:63bf:80ff:fffe", // Teredo, client 127.0.0.1 (XOR 0xff)
    ];
    for (const a of loopbackForms) {
      expect([a, embeddedIPv4(a).some((x) => x === "127.0.0.1")]).toEqual([a, true]);
      expect([a, isPrivateAddress(a)]).toEqual([a, true]);
    }
    for (const a of ["::ffff:10.1.2.3", "64:ff9b::a9fe:a9fe", "2002:c0a8:101::1", "::ffff:0:172.16.0.1", "64:ff9b::192.168.1.1"]) expect([a, isPrivateAddress(a)]).toEqual([a, true]);
    // The same tricks wrapping a public address stay public; so do plain public addresses.
    for (const a of ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "64:ff9b::808:808", "2002:808:808::1", "::ffff:8.8.8.8"]) expect([a, isPrivateAddress(a)]).toEqual([a, false]);
    // Plain private, reserved and special ranges.
    for (const a of ["127.0.0.1", "10.0.0.1", "172.31.255.255", "192.168.0.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "::", "::1", "fe80::1", "fd00::1", "fec0::1", "64:ff9b:1::a00:1", "192.0.2.1", "2001:db8::1", "ff02::1"]) {
      expect([a, isPrivateAddress(a)]).toEqual([a, true]);
    }
    expect(isPrivateAddress("not-an-ip")).toBe(true);
  });

  test("the host's own interface addresses are refused whatever range they are in", () => {
    // A public address becomes private when it is one of ours (e.g. a VM with a public IP on eth0).
    expect(isPrivateAddress("203.0.114.7")).toBe(false);
    expect(isPrivateAddress("203.0.114.7", new Set(["203.0.114.7"]))).toBe(true);
    expect(isPrivateAddress("2a01:4f8::7", new Set(["2a01:4f8:0:0:0:0:0:7"]))).toBe(true);
    expect(isPrivateAddress("::ffff:203.0.114.7", new Set(["203.0.114.7"]))).toBe(true);
    // …and with the real interface list of this machine.
    const mine = Object.values(networkInterfaces()).flatMap((l) => l ?? []).map((a) => a.address);
    expect(mine.length).toBeGreaterThan(0);
    for (const a of mine) expect([a, isPrivateAddress(a)]).toEqual([a, true]);
  });

  test("URLs with each trick are refused by checkTarget", async () => {
    for (const host of ["[::7f00:1]", "[::ffff:0:7f00:1]", "[64:ff9b::7f00:1]", "[2002:7f00:1::]", "[::ffff:127.0.0.1]", "127.1", "2130706433", "0x7f.0.0.1"]) {
      expect(await refused(`http://${host}:8080/hook`)).toContain("resolves to private address");
    }
    expect(await refused("ftp://example.com/")).toContain("unsupported scheme");
    expect(await refused("http://")).toBe("invalid URL");
  });
});

describe("allow-list entries", () => {
  test("host, host:port, IP, IP:port, [IPv6]:port and CIDR forms; anything else is an error", () => {
    expect(parseAllowEntry("hooks.internal")).toEqual({ kind: "host", host: "hooks.internal", port: null });
    expect(parseAllowEntry("Hooks.Internal:8443")).toEqual({ kind: "host", host: "hooks.internal", port: 8443 });
    expect(parseAllowEntry("10.1.0.0/16")).toMatchObject({ kind: "net", port: null });
    expect(parseAllowEntry("10.1.2.3:8080")).toMatchObject({ kind: "net", port: 8080 });
    expect(parseAllowEntry("[fd00::1]:8443")).toMatchObject({ kind: "net", port: 8443 });
    expect(parseAllowEntry("fd00::/8")).toMatchObject({ kind: "net", port: null });
    for (const bad of ["http://hooks.internal", "hooks.internal:99999", "10.0.0.0/33", "a b", "hooks.internal/path"]) expect([bad, typeof parseAllowEntry(bad)]).toEqual([bad, "string"]);
  });

  test("a host:port entry opens that port only", async () => {
    const opts = (allowed: string[]) => ({ allowPrivate: false, allowed, resolve: async () => ["10.9.8.7"] });
    await checkTarget("http://10.1.2.3:8080/x", { allowPrivate: false, allowed: ["10.1.2.3:8080"] });
    expect(await refused("http://10.1.2.3:8081/x", ["10.1.2.3:8080"])).toContain("10.1.2.3");
    expect(await refused("http://10.1.2.3/x", ["10.1.2.3:8080"])).toContain("10.1.2.3"); // port 80
    await checkTarget("https://10.1.2.3/x", { allowPrivate: false, allowed: ["10.1.2.3:443"] });
    await checkTarget("http://[fd00::1]:8443/x", { allowPrivate: false, allowed: ["[fd00::1]:8443"] });
    // A name entry with a port, and a CIDR covering what the name resolves to.
    await checkTarget("http://hooks.internal:8443/x", opts(["hooks.internal:8443"]));
    await expect(checkTarget("http://hooks.internal:9000/x", opts(["hooks.internal:8443"]))).rejects.toThrow(TargetRefused);
    await checkTarget("http://hooks.internal:9000/x", opts(["10.9.0.0/16"]));
    await checkTarget("http://hooks.internal:9000/x", opts(["10.9.8.7:9000"]));
    await expect(checkTarget("http://hooks.internal:9001/x", opts(["10.9.8.7:9000"]))).rejects.toThrow(TargetRefused);
  });

  test("a name that resolves to any private address is refused; no answer is a ResolveFailed", async () => {
    const twoFaced = { ...guardOff, resolve: async () => ["8.8.8.8", "127.0.0.1"] };
    await expect(checkTarget("http://mixed.example/", twoFaced)).rejects.toThrow("resolves to private address 127.0.0.1");
    await expect(checkTarget("http://nothing.example/", { ...guardOff, resolve: async () => [] })).rejects.toThrow(ResolveFailed);
    await expect(checkTarget("http://no-such-host.invalid/", guardOff)).rejects.toThrow(ResolveFailed);
  });
});

describe("guardedFetch connects to the checked address", () => {
  test("http: one resolution, the connection goes to the checked IP, the Host header keeps the name", async () => {
    const seen: Array<{ host: string | null; path: string }> = [];
    const srv = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => (seen.push({ host: req.headers.get("host"), path: new URL(req.url).pathname + new URL(req.url).search }), new Response("ok")) });
    try {
      let lookups = 0;
      // "rebind.test" is not in any DNS: if fetch resolved it again, the request could not be made.
      const resolve = async (host: string) => {
        lookups++;
        expect(host).toBe("rebind.test");
        return ["127.0.0.1"];
      };
      const res = await guardedFetch(`http://rebind.test:${srv.port}/hook?x=1`, { method: "POST", body: "{}" }, { allowPrivate: false, allowed: ["127.0.0.0/8"], resolve });
      expect(res.status).toBe(200);
      expect(await res.text()).toBe("ok");
      expect(lookups).toBe(1);
      expect(seen).toEqual([{ host: `rebind.test:${srv.port}`, path: "/hook?x=1" }]);
      // Rebinding: the name answers an allowed address when checked and another one afterwards; only the first answer is used.
      let n = 0;
      const rebinding = async () => (n++ === 0 ? ["127.0.0.1"] : ["127.0.0.9"]);
      const again = await guardedFetch(`http://rebind.test:${srv.port}/again`, {}, { allowPrivate: false, allowed: ["127.0.0.1"], resolve: rebinding });
      expect(again.status).toBe(200);
      expect(n).toBe(1);
      expect(seen.map((x) => x.path)).toEqual(["/hook?x=1", "/again"]);
      // A name whose (single) answer is private is refused before any connection.
      await expect(guardedFetch(`http://rebind.test:${srv.port}/`, {}, { allowPrivate: false, allowed: [], resolve: async () => ["127.0.0.1"] })).rejects.toThrow(TargetRefused);
      expect(seen).toHaveLength(2);
      // Redirects are never followed (they would skip the guard).
      const redir = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response(null, { status: 302, headers: { location: `http://127.0.0.1:${srv.port}/` } }) });
      const r = await guardedFetch(`http://127.0.0.1:${redir.port}/`, { redirect: "follow" }, { allowPrivate: false, allowed: ["127.0.0.1"] });
      expect(r.status).toBe(302);
      expect(seen).toHaveLength(2);
      redir.stop(true);
    } finally {
      srv.stop(true);
    }
  });

  test("https: SNI and the certificate check use the URL's name while the connection goes to the checked IP", async () => {
    const dir = tempDir("ferry-tls-");
    const openssl = Bun.which("openssl");
    if (!openssl) {
      console.log("skipped: openssl is not installed (needed to make a test certificate)");
      return;
    }
    const gen = Bun.spawnSync([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"), "-days", "1", "-subj", "/CN=hooks.test", "-addext", "subjectAltName=DNS:hooks.test"], { stderr: "pipe" });
    if (gen.exitCode !== 0 || !existsSync(join(dir, "cert.pem"))) {
      console.log(`skipped: openssl could not make a test certificate: ${gen.stderr.toString()}`);
      return;
    }
    const cert = await Bun.file(join(dir, "cert.pem")).text();
    const key = await Bun.file(join(dir, "key.pem")).text();
    const srv = Bun.serve({ hostname: "127.0.0.1", port: 0, tls: { cert, key }, fetch: (req) => new Response(req.headers.get("host")) });
    try {
      const resolve = async () => ["127.0.0.1"];
      const opts = { allowPrivate: false, allowed: ["127.0.0.0/8"], resolve };
      const ok = await guardedFetch(`https://hooks.test:${srv.port}/`, { tls: { ca: cert } }, opts);
      expect(await ok.text()).toBe(`hooks.test:${srv.port}`);
      // A name the certificate does not carry fails verification (no IP-only fallback).
      const err = await guardedFetch(`https://other.test:${srv.port}/`, { tls: { ca: cert } }, opts).catch((e) => e);
      expect(err.code).toBe("ERR_TLS_CERT_ALTNAME_INVALID");
    } finally {
      srv.stop(true);
    }
  });
});

const SECRET = "jobs-secret-ssrf";
const { fake, ferry } = perTestResources();

describe("through the real ferry", () => {
  test("subscriber URLs aimed at loopback through IPv6 tricks are refused and nothing is sent", async () => {
    const rx = await fake();
    const port = new URL(rx.url).port;
    const hosts = ["[::ffff:7f00:1]", "[::7f00:1]", "[::ffff:0:7f00:1]", "[64:ff9b::7f00:1]", "[2002:7f00:1::]"];
    const subs = hosts.map((h, i) => sub(`t${i}`, `http://${h}:${port}/hook`, { events: ["attempt.*"] }));
    const f = await ferry(subs, { webhooks: { allow_private_targets: false } });
    expect((await publish(f, { id: "evt_ssrf_v6", name: "attempt.started", data: { attemptId: "a1" } })).status).toBe(202);
    const ids = deliveryIds(f, "evt_ssrf_v6");
    expect(ids).toHaveLength(hosts.length);
    for (const id of ids) {
      const d = await waitStatus(f, id, "failed");
      expect(d.attempts[0].error).toMatch(/^refused: target .* resolves to private address/);
    }
    expect(rx.requests).toHaveLength(0);
  });

  test("webhooks.allowed_targets opens a host:port for subscribers only; job webhook URLs use jobs.allowed_targets", async () => {
    const rx = await fake();
    const other = await fake();
    const hook = await fake();
    const f = await ferry([sub("ok", rx.url, { events: ["attempt.*"] }), sub("otherport", other.url, { events: ["attempt.*"] })], {
      webhooks: { allow_private_targets: false, allowed_targets: [`127.0.0.1:${new URL(rx.url).port}`, `127.0.0.1:${new URL(hook.url).port}`] },
      config: { jobs: { secret: SECRET } },
    });
    await publish(f, { id: "evt_ports", name: "attempt.started", data: { attemptId: "a2" } });
    const ds = await Promise.all(deliveryIds(f, "evt_ports").map((id) => waitStatus(f, id, ["delivered", "failed"])));
    const bySub = Object.fromEntries(ds.map((d: any) => [d.subscriber_id, d]));
    expect(bySub.ok.status).toBe("delivered");
    expect(bySub.otherport.status).toBe("failed");
    expect(bySub.otherport.attempts[0].error).toContain("refused");
    expect(other.requests).toHaveLength(0);

    // A client's job webhook to a host:port the subscribers' list allows is still refused (mapped-IPv6 spelling too): 422 naming the field, no job.
    for (const url of [hook.url, `http://[::ffff:7f00:1]:${new URL(hook.url).port}/`, `http://localhost:${new URL(hook.url).port}/`]) {
      const raw = JSON.stringify({ type: "webhooks.replay", items: ["msg_1"], webhook_url: url });
      const r = await f.request("POST", "/api/v1/jobs", { body: raw, headers: { "x-signature": createHmac("sha256", SECRET).update(raw).digest("hex") } });
      expect([url, r.status]).toEqual([url, 422]);
      const e = ((await r.json()) as any).error;
      expect(e.message).toStartWith("invalid webhook_url: target ");
      expect(e.message).toContain("resolves to private address");
      expect(e.details[0].path).toBe("webhook_url");
    }
    expect((f.daemon.store.db.prepare("SELECT count(*) AS n FROM api_jobs").get() as { n: number }).n).toBe(0);
    expect(hook.requests).toHaveLength(0);

    // With jobs.allowed_targets the job webhook goes through.
    const g = await ferry([], { webhooks: { allow_private_targets: false }, config: { jobs: { secret: SECRET, allowed_targets: [`127.0.0.1:${new URL(hook.url).port}`] } } });
    const raw = JSON.stringify({ type: "webhooks.replay", items: ["msg_ok"], webhook_url: hook.url });
    const accepted = await g.request("POST", "/api/v1/jobs", { body: raw, headers: { "x-signature": createHmac("sha256", SECRET).update(raw).digest("hex") } });
    expect(accepted.status).toBe(202);
    const [req] = await hook.waitForRequests(1);
    expect(JSON.parse(req!.body).job_id).toBe(((await accepted.json()) as any).job_id);
  });
});

