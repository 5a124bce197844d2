// The baseline: a bare Bun.serve that reads the body and answers like ferry's write routes
// (202 + small JSON) or its read routes (200). Started as its own process, like ferry.
const port = Number(process.argv[2] ?? 0);
const server = Bun.serve({
  hostname: "127.0.0.1",
  port,
  async fetch(req) {
    if (req.method === "POST") {
      await req.text();
      return Response.json({ status: "accepted" }, { status: 202 });
    }
    return Response.json({ status: "ok" });
  },
});
console.log(`listening ${server.port}`);
export {};
