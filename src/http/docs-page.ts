// GET /docs: the API reference as one static HTML page rendered from /openapi.json on the server
// (no JavaScript, no CDN, works offline and in the compiled binary).

interface Operation {
  summary?: string;
  description?: string;
  tags?: string[];
  security?: Array<Record<string, string[]>>;
  parameters?: Array<{ name: string; in: string; required?: boolean; schema?: unknown }>;
  requestBody?: { content?: Record<string, { schema?: unknown }> };
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: unknown }> }>;
}

interface Document {
  info: { title: string; version: string; description?: string };
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes?: Record<string, { description?: string; type: string; name?: string; scheme?: string }> };
}

const BASE = "http://127.0.0.1:8000";
// The development config's tokens, so an example runs as it is against `npm start`.
const CREDENTIALS: Record<string, string> = {
  apiToken: "-H 'Authorization: Bearer dev-api-token'",
  moodleToken: "-H 'X-Moodle-Token: dev-moodle-token'",
  moodleBearer: "-H 'Authorization: Bearer dev-moodle-token'",
};

/** A curl command for the operation: dev credentials, example path values and body where the schemas give them. */
function curlExample(method: string, path: string, op: Operation): string {
  const params = new Map((op.parameters ?? []).map((p) => [p.name, p]));
  const example = (schema: unknown) => (schema as { examples?: unknown[] } | undefined)?.examples?.[0];
  const url = path.replace(/\{([^}]+)\}/g, (_, name: string) => String(example(params.get(name)?.schema) ?? `{${name}}`));
  const parts = [`curl -s${method === "get" ? "" : ` -X ${method.toUpperCase()}`} '${BASE}${url}'`];
  const scheme = op.security?.map((s) => Object.keys(s)[0]).find((k) => k && CREDENTIALS[k]);
  if (scheme) parts.push(CREDENTIALS[scheme]!);
  const body = example(op.requestBody?.content?.["application/json"]?.schema);
  if (body !== undefined) parts.push("-H 'Content-Type: application/json'", `-d '${JSON.stringify(body).replace(/'/g, "'\\''")}'`);
  return parts.join(" \\\n  ");
}

const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const json = (v: unknown) => `<pre>${esc(JSON.stringify(v, null, 2))}</pre>`;

function operation(method: string, path: string, op: Operation, doc: Document): string {
  const id = `${method}-${path}`.replace(/[^\w-]+/g, "-");
  const auth = op.security?.length
    ? op.security.map((s) => Object.keys(s).map((k) => esc(doc.components.securitySchemes?.[k]?.name ?? k)).join(" + ")).join(" or ")
    : "none";
  const params = op.parameters?.length
    ? `<table><tr><th>parameter</th><th>in</th><th>required</th><th>schema</th></tr>${op.parameters
        .map((p) => `<tr><td><code>${esc(p.name)}</code></td><td>${esc(p.in)}</td><td>${p.required ? "yes" : "no"}</td><td><code>${esc(JSON.stringify(p.schema))}</code></td></tr>`)
        .join("")}</table>`
    : "";
  const body = op.requestBody?.content
    ? Object.entries(op.requestBody.content).map(([type, c]) => `<details><summary>request body (${esc(type)})</summary>${json(c.schema)}</details>`).join("")
    : "";
  const responses = Object.entries(op.responses ?? {})
    .map(([status, r]) => {
      const schema = r.content ? Object.values(r.content)[0]?.schema : undefined;
      return `<details><summary><b>${esc(status)}</b> ${esc(r.description ?? "")}</summary>${schema ? json(schema) : ""}</details>`;
    })
    .join("");
  return `<section id="${esc(id)}"><h3><code>${esc(method.toUpperCase())} ${esc(path)}</code></h3><p>${esc(op.summary ?? "")}</p>${
    op.description ? `<p>${esc(op.description)}</p>` : ""
  }<p>Auth: ${auth}</p><pre>${esc(curlExample(method, path, op))}</pre>${params}${body}${responses}</section>`;
}

export function renderDocs(doc: Document): string {
  const byTag = new Map<string, string[]>();
  const index: string[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const tag = op.tags?.[0] ?? "other";
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag)!.push(operation(method, path, op, doc));
      index.push(`<li><a href="#${esc(`${method}-${path}`.replace(/[^\w-]+/g, "-"))}"><code>${esc(method.toUpperCase())} ${esc(path)}</code></a> ${esc(op.summary ?? "")}</li>`);
    }
  }
  const schemes = Object.entries(doc.components.securitySchemes ?? {})
    .map(([k, s]) => `<li><code>${esc(s.name ?? `Authorization: ${s.scheme ?? ""}`)}</code> (${esc(k)}): ${esc(s.description ?? "")}</li>`)
    .join("");
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(doc.info.title)} API ${esc(doc.info.version)}</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:70rem;margin:0 auto;padding:1rem}pre{background:#f4f4f4;padding:.5rem;overflow:auto}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .4rem;text-align:left}section{border-top:1px solid #ddd;margin-top:1rem}</style></head>
<body><h1>${esc(doc.info.title)} API <small>${esc(doc.info.version)}</small></h1><p>${esc(doc.info.description ?? "")}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).</p><h2>Authentication</h2><ul>${schemes}</ul>
<h2>Routes</h2><ul>${index.join("")}</ul>${[...byTag].map(([tag, ops]) => `<h2>${esc(tag)}</h2>${ops.join("")}`).join("")}</body></html>`;
}
