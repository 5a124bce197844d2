// Fallback load generator (when wrk is not installed): closed-loop connections for a fixed time,
// run as its own process so it does not share an event loop with the server under test.
const [url, method, bodyB64, headersJson, connections, durationSec, rate] = process.argv.slice(2);
const body = bodyB64 ? Buffer.from(bodyB64, "base64").toString() : undefined;
const headers = JSON.parse(headersJson || "{}");
const conns = Number(connections || 50);
const end = performance.now() + Number(durationSec || 5) * 1000;
const targetRate = Number(rate || 0); // requests/s in total; 0 = as fast as possible
const latencies: number[] = [];
let errors = 0;
let sequence = 0;
let non2xx = 0;
async function worker(i: number) {
  let next = performance.now() + (targetRate ? (i * 1000) / targetRate : 0);
  while (performance.now() < end) {
    if (targetRate) {
      const wait = next - performance.now();
      if (wait > 0) await Bun.sleep(wait);
      next += (conns * 1000) / targetRate;
    }
    const t = performance.now();
    try {
      const r = await fetch(url!, { method, headers, body: body?.replaceAll("__SEQ__", String(++sequence)) });
      await r.arrayBuffer();
      if (r.status >= 300) non2xx++;
      latencies.push(performance.now() - t);
    } catch {
      errors++;
    }
  }
}
const started = performance.now();
await Promise.all(Array.from({ length: conns }, (_, i) => worker(i)));
const secs = (performance.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
console.log(JSON.stringify({ requests: latencies.length, rps: latencies.length / secs, p50: pct(50), p99: pct(99), errors, non2xx }));
export {};
