// Issue 10, finding 1: the bridge is signed by default, and a webhook body never decides or
// replaces a ticket ↔ conversation link.
import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseConfig } from "../../src/config/load";
import { BUN, ROOT, tempDir, writeConfig } from "../helpers/ferry";
import { CUSTOMER, startBridge, TICKET, type Bridge } from "./setup";

let open: Bridge[] = [];
afterEach(async () => {
  for (const b of open) await b.close();
  open = [];
});

const credentials = {
  enabled: true,
  chatwoot: { base_url: "https://chat.example.com", account_id: 1, inbox_id: 3, api_token: "cw-token" },
  zendesk: { subdomain: "acme", email: "ops@acme.test", api_token: "zd-token" },
};

/** A bridge that accepts unsigned webhooks (the fakes do not sign), for the forgery tests. */
async function unsignedBridge(logFile?: string): Promise<Bridge> {
  const b = await startBridge({ zd: { signingSecret: "" }, cw: { webhookSecret: "" }, bridge: { allow_unsigned: true }, logFile });
  open.push(b);
  return b;
}

/** A message_created body as Chatwoot sends it for an agent's public reply, but written by an attacker. */
function forgedReply(id: number, conversation: Record<string, unknown>, content: string) {
  return { event: "message_created", id, content, message_type: "outgoing", private: false, source_id: null, sender: { id: 2, type: "user", name: "Sam" }, conversation };
}

const post = (b: Bridge, path: string, body: unknown) => b.ferry.request("POST", path, { body });
const bridgeComments = (b: Bridge, ticket: number) => b.zd.tickets.get(ticket)!.comments.filter((c) => c.via === "api");
const links = (b: Bridge) => b.ferry.daemon.store.db.prepare("SELECT ticket_id, conversation_id FROM bridge_tickets ORDER BY ticket_id").all();

describe("enabling the bridge needs an inbound check on each side", () => {
  test("no signing secret and no Chatwoot secret or path token: a config error naming the keys", () => {
    let problems: string[] = [];
    try {
      parseConfig({ bridge: credentials });
    } catch (err) {
      problems = (err as { problems: string[] }).problems;
    }
    expect(problems.find((p) => p.startsWith("bridge.zendesk.signing_secret: required when bridge.enabled is true"))).toContain("bridge.allow_unsigned: true");
    expect(problems.find((p) => p.startsWith("bridge.chatwoot.webhook_secret:"))).toContain("bridge.chatwoot.webhook_secret or bridge.chatwoot.path_token");
    // One side checked is not enough.
    expect(() => parseConfig({ bridge: { ...credentials, zendesk: { ...credentials.zendesk, signing_secret: "s" } } })).toThrow("bridge.chatwoot.webhook_secret");
    // Each accepted form of a check, and the explicit opt-out.
    expect(parseConfig({ bridge: { ...credentials, zendesk: { ...credentials.zendesk, signing_secret: "s" }, chatwoot: { ...credentials.chatwoot, path_token: "t" } } }).bridge.enabled).toBe(true);
    expect(parseConfig({ bridge: { ...credentials, zendesk: { ...credentials.zendesk, signing_secret: "s" }, chatwoot: { ...credentials.chatwoot, webhook_secret: "w" } } }).bridge.enabled).toBe(true);
    expect(parseConfig({ bridge: { ...credentials, allow_unsigned: true } }).bridge.allow_unsigned).toBe(true);
    expect(parseConfig({}).bridge.allow_unsigned).toBe(false);
  });

  test("ferry check-config and serve refuse such a config and name the keys", async () => {
    const dir = tempDir("ferry-unsigned-");
    const configPath = writeConfig(dir, { bridge: { ...credentials, log_dir: join(dir, "logs") } });
    for (const cmd of ["check-config", "serve"]) {
      const proc = Bun.spawn([BUN, join(ROOT, "src/main.ts"), cmd, "--config", configPath], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
      const code = await proc.exited;
      const out = (await new Response(proc.stdout).text()) + (await new Response(proc.stderr).text());
      expect([cmd, code]).toEqual([cmd, 78]);
      expect(out).toContain("bridge.zendesk.signing_secret");
      expect(out).toContain("bridge.chatwoot.webhook_secret");
      expect(out).toContain("bridge.allow_unsigned");
    }
  });

  test("allow_unsigned: true starts with a warning in the log and in /health", async () => {
    const logFile = join(tempDir("ferry-unsigned-log-"), "ferry.log");
    const b = await unsignedBridge(logFile);
    const h = await b.health();
    expect(h.bridge.enabled).toBe(true);
    expect(h.bridge.warnings).toHaveLength(1);
    expect(h.bridge.warnings[0]).toContain("bridge.allow_unsigned is true");
    expect(h.bridge.warnings[0]).toContain("Zendesk (no bridge.zendesk.signing_secret)");
    expect(h.bridge.warnings[0]).toContain("Chatwoot (no bridge.chatwoot.webhook_secret or path_token)");
    const warn = readFileSync(logFile, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .find((l) => l.level === "warn" && String(l.msg).includes("bridge.allow_unsigned is true"));
    expect(warn).toBeDefined();

    // A signed bridge carries no warning.
    const signed = await startBridge();
    open.push(signed);
    expect((await signed.health()).bridge.warnings).toBeUndefined();
  });

  test("a signed bridge (the default) stores nothing from an unsigned forgery", async () => {
    const b = await startBridge();
    open.push(b);
    b.zd.comment(TICKET, "hello");
    await b.idle();
    const jobs = b.jobs().length;
    const r = await post(b, "/service-api-webhook/chatwoot-webhook", forgedReply(1, { id: 999, custom_attributes: { zendesk_ticket_id: String(TICKET) } }, "forged"));
    expect(r.status).toBe(401);
    const z = await post(b, "/service-api-webhook/zendesk-webhook", { ticket_id: String(TICKET), latest_comment: "forged" });
    expect(z.status).toBe(401);
    expect(b.jobs()).toHaveLength(jobs);
  });
});

describe("a webhook body never decides or replaces a link (even with allow_unsigned)", () => {
  test("a forged message_created naming another customer's ticket neither posts nor re-links", async () => {
    const b = await unsignedBridge();
    // Customer A (TICKET) talks to the bridge: conversation 42 is linked to the ticket.
    b.zd.comment(TICKET, "A: my question");
    await b.idle();
    const convA = b.cw.conversations[0]!.id;
    // Customer B has a conversation of their own in the inbox (made by an agent, no ticket attribute),
    // and one whose attributes an agent edited to claim A's ticket.
    b.cw.contacts.push({ id: 600, name: "B", email: null, identifier: "other", custom_attributes: {} });
    b.cw.conversations.push({ id: 500, inbox_id: b.cw.inboxId, contact_id: 600, source_id: "x", status: "open", custom_attributes: {}, additional_attributes: {} });
    b.cw.conversations.push({ id: 501, inbox_id: b.cw.inboxId, contact_id: 600, source_id: "y", status: "open", custom_attributes: { zendesk_ticket_id: String(TICKET) }, additional_attributes: {} });
    // …and one in another inbox.
    b.cw.conversations.push({ id: 502, inbox_id: 99, contact_id: 600, source_id: "z", status: "open", custom_attributes: { zendesk_ticket_id: "7777" }, additional_attributes: {} });
    b.zd.addTicket(7777, CUSTOMER);
    const claimA = { custom_attributes: { zendesk_ticket_id: String(TICKET) }, contact_inbox: { source_id: `zendesk:${TICKET}` } };
    const forged = [
      forgedReply(70001, { id: 999, ...claimA }, "forged into a conversation Chatwoot does not know"),
      forgedReply(70002, { id: 500, ...claimA }, "forged into B's conversation"),
      forgedReply(70003, { id: 501, ...claimA }, "forged into a conversation claiming A's ticket"),
      forgedReply(70004, { id: 502, custom_attributes: { zendesk_ticket_id: "7777" } }, "forged from another inbox"),
    ];
    for (const body of forged) expect((await post(b, "/service-api-webhook/chatwoot-webhook", body)).status).toBe(200);
    await b.idle();

    expect(bridgeComments(b, TICKET)).toHaveLength(0);
    expect(bridgeComments(b, 7777)).toHaveLength(0);
    expect(b.zd.requestsTo("PUT", /./)).toHaveLength(0);
    expect(links(b)).toEqual([{ ticket_id: String(TICKET), conversation_id: convA }]);
    const log = b.dayLog();
    expect(log).toContain("conversation 999 message 70001 not forwarded: conversation not found in Chatwoot");
    expect(log).toContain("conversation 500 message 70002 not forwarded: conversation is not linked to a Zendesk ticket");
    expect(log).toContain(`conversation 501 message 70003 not forwarded: conversation names ticket ${TICKET}, which is linked to conversation ${convA}`);
    expect(log).toContain("conversation 502 message 70004 not forwarded: conversation is in inbox 99, not the bridge's inbox");

    // A's next comment still lands in A's conversation, nowhere else.
    b.zd.comment(TICKET, "A: follow-up");
    await b.idle();
    const incoming = b.cw.messages.filter((m) => m.message_type === "incoming");
    expect(incoming.map((m) => [m.conversation_id, m.content])).toEqual([
      [convA, "A: my question"],
      [convA, "A: follow-up"],
    ]);
  });

  test("a forged Zendesk body cannot choose whose contact a new ticket's conversation gets", async () => {
    const b = await unsignedBridge();
    const B = 9100;
    b.zd.addCustomer(B, "Bob Other", "bob@example.com");
    const t = b.zd.addTicket(8000, B);
    // The body claims customer A (CUSTOMER) as requester of B's ticket.
    const body = { ticket_id: "8000", requester_id: String(CUSTOMER), requester_name: "Jane Customer", requester_email: "jane@example.com", current_user_id: String(B), latest_comment: "hi" };
    t.comments.push({ id: 1, author_id: B, body: "hi", public: true, via: "email" });
    expect((await post(b, "/service-api-webhook/zendesk-webhook", body)).status).toBe(200);
    await b.idle();
    expect(b.cw.contacts.map((c) => [c.identifier, c.name])).toEqual([[`zendesk:${B}`, "Bob Other"]]);
    expect(b.cw.conversations[0]!.contact_id).toBe(b.cw.contacts[0]!.id);
  });

  test("a conversation already linked to one ticket is never taken over by another, whatever its attributes say", async () => {
    const b = await startBridge();
    open.push(b);
    b.zd.comment(TICKET, "A: hello");
    await b.idle();
    const convA = b.cw.conversations[0]!;
    // Someone edits A's conversation in Chatwoot to claim ticket 7000 of the same customer.
    convA.source_id = "zendesk:7000";
    convA.custom_attributes = { zendesk_ticket_id: "7000" };
    b.zd.addTicket(7000, CUSTOMER, "Second question");
    b.zd.comment(7000, "about ticket 7000");
    await b.idle();
    expect(b.cw.conversations).toHaveLength(2);
    const conv7000 = b.cw.conversations[1]!;
    expect(b.cw.messages.filter((m) => m.message_type === "incoming").map((m) => [m.conversation_id, m.content])).toEqual([
      [convA.id, "A: hello"],
      [conv7000.id, "about ticket 7000"],
    ]);
    expect(links(b)).toEqual([
      { ticket_id: String(TICKET), conversation_id: convA.id },
      { ticket_id: "7000", conversation_id: conv7000.id },
    ]);
  });
});
