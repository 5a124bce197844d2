// Prometheus text exposition, kept minimal: counters and one latency histogram are all we need,
// so no client library.
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

function esc(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** A family or several, as text; on PostgreSQL a collector may read the database (a promise). */
export type Collector = () => string | Promise<string>;

export class Metrics {
  private requests = new Map<string, number>();
  private latency = new Map<string, Histogram>();
  private collectors: Collector[] = [];

  observeRequest(method: string, route: string, status: number, seconds: number): void {
    const key = `${method}\u0000${route}\u0000${status}`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    const hkey = `${method}\u0000${route}`;
    let h = this.latency.get(hkey);
    if (!h) this.latency.set(hkey, (h = { counts: new Array(BUCKETS.length).fill(0), sum: 0, count: 0 }));
    for (let i = 0; i < BUCKETS.length; i++) if (seconds <= BUCKETS[i]!) h.counts[i]!++;
    h.sum += seconds;
    h.count++;
  }

  /** Feature modules add their own families (queue depth, deliveries…). */
  addCollector(collector: Collector): void {
    this.collectors.push(collector);
  }

  /** The exposition; collectors run concurrently. */
  async render(): Promise<string> {
    const out: string[] = [];
    out.push("# HELP ferry_http_requests_total HTTP requests by method, route and status.", "# TYPE ferry_http_requests_total counter");
    for (const [key, n] of this.requests) {
      const [method, route, status] = key.split("\u0000");
      out.push(`ferry_http_requests_total{method="${method}",route="${esc(route!)}",status="${status}"} ${n}`);
    }
    out.push("# HELP ferry_http_request_duration_seconds HTTP request latency.", "# TYPE ferry_http_request_duration_seconds histogram");
    for (const [key, h] of this.latency) {
      const [method, route] = key.split("\u0000");
      const labels = `method="${method}",route="${esc(route!)}"`;
      BUCKETS.forEach((b, i) => out.push(`ferry_http_request_duration_seconds_bucket{${labels},le="${b}"} ${h.counts[i]}`));
      out.push(`ferry_http_request_duration_seconds_bucket{${labels},le="+Inf"} ${h.count}`);
      out.push(`ferry_http_request_duration_seconds_sum{${labels}} ${h.sum}`);
      out.push(`ferry_http_request_duration_seconds_count{${labels}} ${h.count}`);
    }
    const texts = await Promise.all(this.collectors.map((c) => c()));
    for (const text of texts) if (text) out.push(text.trimEnd());
    return out.join("\n") + "\n";
  }
}

/** Helper for collectors: one gauge/counter family from rows of labels → value. */
export function family(name: string, type: "gauge" | "counter", help: string, rows: Array<[Record<string, string | number>, number]>): string {
  const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`];
  for (const [labels, value] of rows) {
    const l = Object.entries(labels)
      .map(([k, v]) => `${k}="${esc(String(v))}"`)
      .join(",");
    lines.push(`${name}${l ? `{${l}}` : ""} ${value}`);
  }
  return lines.join("\n");
}
