import { openStore } from "./store/db";
import { prepared } from "./store/prepared";
const store = openStore({ path: "/tmp/pb/m.db", durability: "full" });
const db = store.db;
const q = () => prepared<[number, number, number], any>(db, "SELECT id, k, CAST(body AS BLOB) AS body FROM recommendations WHERE user_id = ? AND module_id = ? AND course_id = ?").get(2, 14, 2);
for (let r = 0; r < 3; r++) { const t = performance.now(); for (let i = 0; i < 20000; i++) q(); console.log("daemon-like store get", ((performance.now() - t) * 1000 / 20000).toFixed(2), "µs"); }
// now with a write in between, as the daemon does periodically
await store.write((d) => d.prepare("SELECT 1").get());
const t = performance.now(); for (let i = 0; i < 20000; i++) q(); console.log("after a write", ((performance.now() - t) * 1000 / 20000).toFixed(2), "µs");
