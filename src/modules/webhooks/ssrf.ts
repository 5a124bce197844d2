import { lookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";
import { networkInterfaces } from "node:os";
import { z } from "zod";

// Loopback, private, link-local, carrier-grade NAT, unspecified, multicast and reserved ranges:
// a subscriber URL must not make ferry call into the network it runs in.
const PRIVATE = new BlockList();
for (const [net, bits] of [
  ["0.0.0.0", 8], ["10.0.0.0", 8], ["100.64.0.0", 10], ["127.0.0.0", 8], ["169.254.0.0", 16], ["172.16.0.0", 12],
  ["192.0.0.0", 24], ["192.0.2.0", 24], ["192.168.0.0", 16], ["198.18.0.0", 15], ["198.51.100.0", 24], ["203.0.113.0", 24],
  ["224.0.0.0", 4], ["240.0.0.0", 4],
] as const) PRIVATE.addSubnet(net, bits, "ipv4");
for (const [net, bits] of [
  ["::", 128], ["::1", 128], ["fc00::", 7], ["fe80::", 10], ["fec0::", 10], ["ff00::", 8],
  // Discard-only, documentation, and local-use NAT64 (RFC 8215; where it embeds the IPv4 address varies).
  ["100::", 64], ["2001:db8::", 32], ["64:ff9b:1::", 48],
] as const) PRIVATE.addSubnet(net, bits, "ipv6");

export class TargetRefused extends Error {}
/** DNS did not answer: worth a retry (the name may resolve later). */
export class ResolveFailed extends Error {}

/** The 16 bytes of an IPv6 address (dotted IPv4 tail allowed), or null when it is not one. */
function ipv6Bytes(address: string): number[] | null {
  if (isIP(address) !== 6) return null;
  let text = address.replace(/%.*$/, "");
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split(".").map(Number) as [number, number, number, number];
    text = text.slice(0, -dotted[1]!.length) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split("::") as [string, string | undefined];
  const words = (s: string | undefined) => (s ? s.split(":").map((w) => parseInt(w, 16)) : []);
  const h = words(head);
  const t = words(tail);
  const all = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill(0), ...t];
  return all.flatMap((w) => [w >> 8, w & 0xff]);
}

const v4 = (b: number[], at: number) => b.slice(at, at + 4).join(".");
const zero = (b: number[], from: number, to: number) => b.slice(from, to).every((x) => x === 0);

/**
 * IPv4 addresses an IPv6 address carries (and so may reach): IPv4-compatible ::a.b.c.d, IPv4-mapped
 * ::ffff:a.b.c.d, IPv4-translated ::ffff:0:a.b.c.d, NAT64 64:ff9b::a.b.c.d, 6to4 2002:AABB:CCDD::,
 * Teredo 2001:0::/32 (server, and the client XOR 0xff).
 */
export function embeddedIPv4(address: string): string[] {
  const b = ipv6Bytes(address);
  if (!b) return [];
  if (zero(b, 0, 10) && ((b[10] === 0 && b[11] === 0) || (b[10] === 0xff && b[11] === 0xff))) return [v4(b, 12)];
  if (zero(b, 0, 8) && b[8] === 0xff && b[9] === 0xff && b[10] === 0 && b[11] === 0) return [v4(b, 12)];
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zero(b, 4, 12)) return [v4(b, 12)];
  if (b[0] === 0x20 && b[1] === 0x02) return [v4(b, 2)];
  if (b[0] === 0x20 && b[1] === 0x01 && b[2] === 0 && b[3] === 0) return [v4(b, 4), b.slice(12, 16).map((x) => x ^ 0xff).join(".")];
  return [];
}

// The host's own addresses reach ferry itself (and whatever listens beside it) whatever range they are in.
let own: { at: number; addresses: Set<string> } | null = null;
function ownAddresses(): Set<string> {
  if (!own || Date.now() - own.at > 30_000) {
    const addresses = new Set<string>();
    for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) addresses.add(normalize(a.address));
    own = { at: Date.now(), addresses };
  }
  return own.addresses;
}

function normalize(address: string): string {
  const b = ipv6Bytes(address);
  if (!b) return address;
  const words = Array.from({ length: 8 }, (_, i) => ((b[2 * i]! << 8) | b[2 * i + 1]!).toString(16));
  return words.join(":");
}

/**
 * True for addresses in the private/loopback/link-local/reserved ranges, IPv4 embedded in IPv6
 * included, and the host's own addresses (`own`: os.networkInterfaces(), refreshed every 30 s).
 */
export function isPrivateAddress(address: string, own: Set<string> = ownAddresses()): boolean {
  const a = address.replace(/^\[|\]$/g, "");
  const v = isIP(a);
  if (v === 0) return true;
  if (own.has(normalize(a))) return true;
  if (v === 4) return PRIVATE.check(a, "ipv4");
  if (PRIVATE.check(a, "ipv6")) return true;
  return embeddedIPv4(a).some((x) => PRIVATE.check(x, "ipv4") || own.has(x));
}

// ---- allow-lists: "host", "host:port", "10.1.0.0/16", "10.1.2.3:8080", "[fd00::1]:8443" ----

type AllowEntry = { kind: "host"; host: string; port: number | null } | { kind: "net"; list: BlockList; port: number | null };

/** Parses one allow-list entry; a string saying what is wrong when it is none of the forms. */
export function parseAllowEntry(entry: string): AllowEntry | string {
  const text = entry.trim().toLowerCase();
  let host = text;
  let port: number | null = null;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  const hostPort = /^([^:/\[\]]+):(\d+)$/.exec(text);
  if (bracket) [host, port] = [bracket[1]!, bracket[2] ? Number(bracket[2]) : null];
  else if (hostPort) [host, port] = [hostPort[1]!, Number(hostPort[2])];
  if (port !== null && (port < 1 || port > 65535)) return `port ${port} is out of range`;
  const [ip, bits, extra] = host.split("/");
  const v = isIP(ip!);
  if (v) {
    const max = v === 4 ? 32 : 128;
    if (extra !== undefined || (bits !== undefined && !/^\d+$/.test(bits)) || Number(bits ?? max) > max) return `bad CIDR prefix in ${entry}`;
    const list = new BlockList();
    list.addSubnet(ip!, Number(bits ?? max), v === 4 ? "ipv4" : "ipv6");
    return { kind: "net", list, port };
  }
  if (bits !== undefined || !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/.test(host)) {
    return `expected a host name, IP or CIDR range, optionally with :port (e.g. hooks.internal, hooks.internal:8443, 10.1.0.0/16, [fd00::1]:8443), got "${entry}"`;
  }
  return { kind: "host", host: host.replace(/\.$/, ""), port };
}

/** Config schema of an allow-list entry (webhooks.allowed_targets, jobs.allowed_targets, jobs.allowed_webhook_hosts). */
export const allowEntry = z.string().superRefine((s, ctx) => {
  const e = parseAllowEntry(s);
  if (typeof e === "string") ctx.addIssue({ code: "custom", message: e });
});

const parsedLists = new WeakMap<string[], AllowEntry[]>();
function entries(allowed: string[]): AllowEntry[] {
  let list = parsedLists.get(allowed);
  if (!list) {
    list = allowed.map(parseAllowEntry).filter((e): e is AllowEntry => typeof e !== "string");
    parsedLists.set(allowed, list);
  }
  return list;
}

const portOf = (u: URL) => (u.port ? Number(u.port) : u.protocol === "https:" ? 443 : 80);
const hostOf = (u: URL) => u.hostname.replace(/^\[|\]$/g, "").toLowerCase().replace(/\.$/, "");

/** True when the URL's host (and port) is in an allow-list: by name, or an IP literal inside a listed range (jobs.allowed_webhook_hosts uses this too). */
export function hostAllowed(url: URL, allowed: string[]): boolean {
  const host = hostOf(url);
  const port = portOf(url);
  if (isIP(host)) return addressAllowed(host, port, allowed);
  return entries(allowed).some((e) => e.kind === "host" && e.host === host && (e.port === null || e.port === port));
}

function addressAllowed(address: string, port: number, allowed: string[]): boolean {
  const family = isIP(address) === 4 ? "ipv4" : "ipv6";
  return entries(allowed).some((e) => e.kind === "net" && e.list.check(address, family) && (e.port === null || e.port === port));
}

// ---- the guard ----

export interface GuardOptions {
  /** webhooks.allow_private_targets: the guard is off. */
  allowPrivate: boolean;
  /** Allow-list entries (host, host:port, IP, CIDR) reachable even when private. */
  allowed: string[];
  /** Name resolution (tests); default: the system resolver, answers cached 30 s. */
  resolve?: (host: string) => Promise<string[]>;
}

const cache = new Map<string, { at: number; addresses: string[] }>();
const CACHE_MS = 30_000;

async function systemResolve(host: string): Promise<string[]> {
  const hit = cache.get(host);
  if (hit && Date.now() - hit.at < CACHE_MS) return hit.addresses;
  let addresses: string[];
  try {
    addresses = (await lookup(host, { all: true })).map((a) => a.address);
  } catch (err) {
    throw new ResolveFailed(`DNS lookup of ${host} failed: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  cache.set(host, { at: Date.now(), addresses });
  return addresses;
}

function parse(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TargetRefused(`invalid URL`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new TargetRefused(`unsupported scheme ${parsed.protocol}`);
  return parsed;
}

/**
 * Resolves the URL's host once and refuses private targets unless allowed (SSRF guard). Returns the
 * checked address to connect to, or null when the guard is off or the host is allowed by name.
 */
async function check(parsed: URL, opts: GuardOptions): Promise<string | null> {
  if (opts.allowPrivate || hostAllowed(parsed, opts.allowed)) return null;
  const host = hostOf(parsed);
  const port = portOf(parsed);
  const addresses = isIP(host) ? [host] : await (opts.resolve ?? systemResolve)(host);
  if (addresses.length === 0) throw new ResolveFailed(`DNS lookup of ${host} returned no address`);
  for (const a of addresses) {
    if (isPrivateAddress(a) && !addressAllowed(a, port, opts.allowed)) {
      throw new TargetRefused(`target ${host} resolves to private address ${a} (not allowed by allow_private_targets or an allowed_targets entry)`);
    }
  }
  return addresses[0]!;
}

/** Checks a target without connecting (delivery time is where it counts: see guardedFetch). */
export async function checkTarget(url: string, opts: GuardOptions): Promise<void> {
  await check(parse(url), opts);
}

/**
 * fetch() that cannot be rebound: resolves and checks the host once, then connects to that very
 * address (the URL's host goes in the Host header and, for https, in SNI and the certificate check,
 * via Bun's `tls.serverName`). Never follows redirects (a redirect would skip the guard). Throws
 * TargetRefused / ResolveFailed like checkTarget.
 */
export async function guardedFetch(url: string, init: BunFetchRequestInit, opts: GuardOptions): Promise<Response> {
  const parsed = parse(url);
  const address = await check(parsed, opts);
  const redirect = init.redirect === "error" ? "error" : "manual";
  if (address === null) return fetch(parsed, { ...init, redirect });
  const host = hostOf(parsed);
  const pinned = new URL(parsed);
  pinned.hostname = isIP(address) === 6 ? `[${address}]` : address;
  const headers = new Headers(init.headers);
  headers.set("host", parsed.host);
  const tls = parsed.protocol === "https:" && !isIP(host) ? { ...init.tls, serverName: host } : init.tls;
  return fetch(pinned, { ...init, headers, redirect, ...(tls ? { tls } : {}) });
}
