// The baseline: a bare Bun.serve that reads the body and answers like ferry's write routes
// (202 + small JSON) or its read routes (200). Started as its own process, like ferry.
const port = Number(process.argv[2] ?? 0);
const bodies = new Map<number, string>();
function padded(size: number): string {
  let b = bodies.get(size);
  if (!b) bodies.set(size, (b = `{"pad":"${"x".repeat(size - 10)}"}`));
  return b;
}
const server = Bun.serve({
  hostname: "127.0.0.1",
  port,
  async fetch(req) {
    if (req.method === "POST") {
      await req.text();
      return Response.json({ status: "accepted" }, { status: 202 });
    }
    // ?size=N: a JSON answer of N bytes, to compare with a route whose answer is that big.
    const size = Number(new URL(req.url).searchParams.get("size") ?? 0);
    if (size > 16) return new Response(padded(size), { headers: { "content-type": "application/json" } });
    return Response.json({ status: "ok" });
  },
});
console.log(`listening ${server.port}`);
export {};
