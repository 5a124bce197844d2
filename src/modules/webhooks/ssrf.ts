import { lookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";

// Loopback, private, link-local, carrier-grade NAT, unspecified, multicast and reserved ranges:
// a subscriber URL must not make ferry call into the network it runs in.
const PRIVATE = new BlockList();
for (const [net, bits] of [
  ["0.0.0.0", 8], ["10.0.0.0", 8], ["100.64.0.0", 10], ["127.0.0.0", 8], ["169.254.0.0", 16], ["172.16.0.0", 12],
  ["192.0.0.0", 24], ["192.168.0.0", 16], ["198.18.0.0", 15], ["224.0.0.0", 4], ["240.0.0.0", 4],
] as const) PRIVATE.addSubnet(net, bits, "ipv4");
for (const [net, bits] of [["::", 128], ["::1", 128], ["fc00::", 7], ["fe80::", 10], ["ff00::", 8]] as const) PRIVATE.addSubnet(net, bits, "ipv6");

export class TargetRefused extends Error {}
/** DNS did not answer: worth a retry (the name may resolve later). */
export class ResolveFailed extends Error {}

/** True for addresses in the private/loopback/link-local ranges (IPv4-mapped IPv6 included). */
export function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return PRIVATE.check(mapped[1]!, "ipv4");
  const v = isIP(address);
  if (v === 4) return PRIVATE.check(address, "ipv4");
  if (v === 6) return PRIVATE.check(address, "ipv6");
  return true;
}

interface GuardOptions {
  allowPrivate: boolean;
  allowed: string[];
}

const cache = new Map<string, { at: number; addresses: string[] }>();
const CACHE_MS = 30_000;

function allowList(allowed: string[]): { hosts: Set<string>; nets: BlockList } {
  const hosts = new Set<string>();
  const nets = new BlockList();
  for (const a of allowed) {
    const [ip, bits] = a.split("/");
    const v = isIP(ip!);
    if (v) nets.addSubnet(ip!, bits ? Number(bits) : v === 4 ? 32 : 128, v === 4 ? "ipv4" : "ipv6");
    else hosts.add(a.toLowerCase());
  }
  return { hosts, nets };
}

let lastAllowed: string[] | null = null;
let lastList: ReturnType<typeof allowList> | null = null;

/**
 * Resolves the URL's host and refuses private targets unless allowed (SSRF guard). Checked at
 * delivery time, so a name that starts resolving to a private address is caught then.
 */
export async function checkTarget(url: string, opts: GuardOptions): Promise<void> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TargetRefused(`invalid URL`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new TargetRefused(`unsupported scheme ${parsed.protocol}`);
  if (opts.allowPrivate) return;
  if (lastAllowed !== opts.allowed) {
    lastAllowed = opts.allowed;
    lastList = allowList(opts.allowed);
  }
  const list = lastList!;
  const host = parsed.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (list.hosts.has(host)) return;
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else {
    const hit = cache.get(host);
    if (hit && Date.now() - hit.at < CACHE_MS) addresses = hit.addresses;
    else {
      try {
        addresses = (await lookup(host, { all: true })).map((a) => a.address);
      } catch (err) {
        throw new ResolveFailed(`DNS lookup of ${host} failed: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      cache.set(host, { at: Date.now(), addresses });
    }
  }
  for (const a of addresses) {
    if (!isPrivateAddress(a)) continue;
    const allowedNet = isIP(a) === 4 ? list.nets.check(a, "ipv4") : list.nets.check(a, "ipv6");
    if (!allowedNet) throw new TargetRefused(`target ${host} resolves to private address ${a} (webhooks.allow_private_targets is off)`);
  }
}
