// A configurable webhook receiver on 127.0.0.1: answers 200 by default, or what a test scripts
// (4xx, 410, 429 + Retry-After, 500, hanging past the client's timeout, refusing connections),
// and records every request with its raw body and headers.
import type { Server } from "bun";

export type Reply =
  | { status: number; headers?: Record<string, string>; body?: string }
  | "hang"
  | ((req: RecordedRequest) => Response | Promise<Response>);

export interface RecordedRequest {
  at: number;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

export class FakeSubscriber {
  requests: RecordedRequest[] = [];
  private server: Server<unknown> | null = null;
  private script: Reply[] = [];
  private fallback: Reply = { status: 200, body: "ok" };
  private hanging: Array<() => void> = [];
  port = 0;

  static async start(opts: { port?: number; reply?: Reply } = {}): Promise<FakeSubscriber> {
    const f = new FakeSubscriber();
    if (opts.reply) f.fallback = opts.reply;
    f.listen(opts.port ?? 0);
    return f;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  /** Replies for the next requests, in order; afterwards the default applies. */
  reply(...replies: Reply[]): this {
    this.script.push(...replies);
    return this;
  }

  /** The reply for every request once the script is used up. */
  setDefault(reply: Reply): this {
    this.fallback = reply;
    return this;
  }

  private listen(port: number): void {
    this.server = Bun.serve({
      hostname: "127.0.0.1",
      port,
      idleTimeout: 0, // "hang" must outlast any client timeout
      fetch: async (req) => {
        const rec: RecordedRequest = {
          at: Date.now(),
          method: req.method,
          path: new URL(req.url).pathname,
          headers: Object.fromEntries(req.headers.entries()),
          body: await req.text(),
        };
        this.requests.push(rec);
        const r = this.script.length ? this.script.shift()! : this.fallback;
        if (r === "hang") return new Promise<Response>((resolve) => this.hanging.push(() => resolve(new Response("late", { status: 200 }))));
        if (typeof r === "function") return r(rec);
        return new Response(r.body ?? "", { status: r.status, headers: r.headers });
      },
    });
    this.port = this.server.port!;
  }

  /** Closes the listening socket: connections to the port are refused until `resume()`. */
  async refuse(): Promise<void> {
    this.releaseHanging();
    await this.server?.stop(true);
    this.server = null;
  }

  resume(): void {
    if (!this.server) this.listen(this.port);
  }

  private releaseHanging(): void {
    for (const h of this.hanging.splice(0)) h();
  }

  /** Waits until at least `n` requests arrived. */
  async waitForRequests(n: number, timeoutMs = 10_000): Promise<RecordedRequest[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.requests.length < n) {
      if (Date.now() > deadline) throw new Error(`fake subscriber got ${this.requests.length} of ${n} requests`);
      await Bun.sleep(10);
    }
    return this.requests;
  }

  async stop(): Promise<void> {
    this.releaseHanging();
    await this.server?.stop(true);
    this.server = null;
  }
}
