// A webhooks node on PostgreSQL in its own process, so a test can SIGKILL it mid-delivery.
// usage: bun pg-node-child.ts URL SCHEMA NODE_ID CONFIG_JSON — prints "ready <http url>".
import { startPgNode } from "./pg-node";

const [url, schema, nodeId, config] = process.argv.slice(2);
const node = await startPgNode({ url: url!, schema: schema!, nodeId: nodeId!, config: JSON.parse(config!) });
console.log(`ready ${node.url}`);
