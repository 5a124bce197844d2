// The harness ceiling for the delivery burst: a hub that stores nothing — it answers 202 and
// forwards each event to the subscriber at once. What the load generator and the receiver
// manage through it is the most any hub could show in this harness.
// Usage: bun test/bench/delivery/forwarder.ts <port> <subscriber url>
const [port, target] = process.argv.slice(2);
Bun.serve({
  hostname: "127.0.0.1",
  port: Number(port),
  async fetch(req) {
    if (req.method === "GET") return Response.json({ status: "ok" });
    const body = await req.text();
    const id = `evt_${Bun.randomUUIDv7()}`;
    void fetch(target!, { method: "POST", headers: { "content-type": "application/json" }, body }).then((r) => r.arrayBuffer(), () => {});
    return Response.json({ id }, { status: 202 });
  },
});
console.log(`listening ${port}`);
