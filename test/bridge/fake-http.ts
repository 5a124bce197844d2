// Shared bits of the fake Zendesk and Chatwoot servers: recorded requests, injected failures,
// and webhook deliveries back to ferry that tests can wait for.

export interface Recorded {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Headers;
  body: any;
}

export interface Failure {
  method: string;
  path: RegExp;
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** How many matching requests fail (default 1). */
  times?: number;
}

export interface Delivery {
  status: number;
  body: unknown;
  response: string;
}

export class FakeBase {
  requests: Recorded[] = [];
  deliveries: Delivery[] = [];
  /** Where webhooks go (ferry's endpoint); null = send none. */
  webhookUrl: string | null = null;
  private failures: Failure[] = [];
  private inFlight = new Set<Promise<void>>();

  /** The next `times` requests matching method + path are answered with this status (e.g. 429 with Retry-After). */
  failNext(f: Failure): void {
    this.failures.push({ times: 1, ...f });
  }

  protected injected(method: string, path: string): Response | null {
    const i = this.failures.findIndex((f) => f.method === method && f.path.test(path));
    if (i < 0) return null;
    const f = this.failures[i]!;
    if (--f.times! <= 0) this.failures.splice(i, 1);
    return new Response(f.body ?? "", { status: f.status, headers: { "content-type": "application/json", ...(f.headers ?? {}) } });
  }

  protected async record(req: Request): Promise<Recorded> {
    const url = new URL(req.url);
    const text = await req.text();
    let body: any = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = text;
    }
    const r = { method: req.method, path: url.pathname, query: url.searchParams, headers: req.headers, body };
    this.requests.push(r);
    return r;
  }

  /** POSTs a webhook to ferry after the current answer went out (as the real products do: asynchronously). */
  protected deliver(body: unknown, headers: (raw: string) => Record<string, string>): void {
    const url = this.webhookUrl;
    if (!url) return;
    const p = (async () => {
      await Bun.sleep(1);
      const raw = JSON.stringify(body);
      const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", accept: "application/json", ...headers(raw) }, body: raw });
      this.deliveries.push({ status: res.status, body, response: await res.text() });
    })().catch((err) => {
      this.deliveries.push({ status: 0, body, response: String(err) });
    });
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  /** Resolves when every webhook sent so far has been answered. */
  async settled(): Promise<void> {
    while (this.inFlight.size) await Promise.all([...this.inFlight]);
  }

  requestsTo(method: string, path: RegExp): Recorded[] {
    return this.requests.filter((r) => r.method === method && path.test(r.path));
  }
}

export const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
