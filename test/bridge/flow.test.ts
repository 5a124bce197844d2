import { afterEach, describe, expect, test } from "bun:test";
import { LOOP_TAGS } from "../../src/modules/bridge/markers";
import { CUSTOMER, startBridge, TICKET, type Bridge } from "./setup";

let open: Bridge[] = [];
afterEach(async () => {
  for (const b of open) await b.close();
  open = [];
});
async function bridge(...args: Parameters<typeof startBridge>): Promise<Bridge> {
  const b = await startBridge(...args);
  open.push(b);
  return b;
}

const incoming = (b: Bridge) => b.cw.messages.filter((m) => m.message_type === "incoming");
const bridgeComments = (b: Bridge) => b.zd.tickets.get(TICKET)!.comments.filter((c) => c.via === "api");

describe("both directions through the real ferry", () => {
  test("a comment crosses exactly once each way, its echo stops, the loop tags never stop a customer", async () => {
    const b = await bridge();
    b.zd.comment(TICKET, "I still cannot log in");
    await b.idle();

    // Zendesk → Chatwoot: one contact, one conversation, one incoming message marked as the bridge's.
    expect(b.cw.contacts).toHaveLength(1);
    expect(b.cw.contacts[0]!.identifier).toBe(`zendesk:${CUSTOMER}`);
    expect(b.cw.contacts[0]!.name).toBe("Jane Customer");
    expect(b.cw.conversations).toHaveLength(1);
    const conv = b.cw.conversations[0]!;
    expect(conv.source_id).toBe(`zendesk:${TICKET}`);
    expect(conv.custom_attributes.zendesk_ticket_id).toBe(String(TICKET));
    expect(incoming(b).map((m) => m.content)).toEqual(["I still cannot log in"]);
    expect(incoming(b)[0]!.source_id).toMatch(/^zendesk-comment:\d+$/);
    // Chatwoot's echo (message_created for that incoming message) reached ferry and was dropped.
    expect(b.cw.deliveries).toHaveLength(1);
    expect(b.cw.deliveries[0]!.status).toBe(200);
    expect(b.cw.deliveries[0]!.response).toBe('{"status":"success"}');
    expect(bridgeComments(b)).toHaveLength(0);
    // The API calls carried the credentials the real products expect.
    expect(b.cw.requests.every((r) => r.headers.get("api_access_token") === b.cw.apiToken)).toBe(true);
    expect(b.zd.requests[0]!.headers.get("authorization")).toBe("Basic " + Buffer.from(`${b.zd.email}/token:${b.zd.apiToken}`).toString("base64"));

    // Chatwoot → Zendesk: the agent's reply becomes one public comment with the loop tags.
    b.cw.reply(conv.id, "We have reset your password.");
    await b.idle();
    const comments = bridgeComments(b);
    expect(comments.map((c) => [c.body, c.public])).toEqual([["We have reset your password.", true]]);
    const put = b.zd.requestsTo("PUT", /\/api\/v2\/tickets\/5158\.json$/);
    expect(put).toHaveLength(1);
    expect(put[0]!.body.ticket.additional_tags).toEqual(LOOP_TAGS);
    expect(put[0]!.body.ticket.tags).toBeUndefined(); // never replaces the ticket's tags
    expect(b.zd.tickets.get(TICKET)!.tags).toEqual(LOOP_TAGS);
    // Zendesk's echo (comment_added by the bridge's user) reached ferry and was dropped.
    const echo = b.zd.deliveries.find((d) => (d.body as any).event?.comment?.id === String(comments[0]!.id));
    expect(echo?.status).toBe(200);
    expect(incoming(b)).toHaveLength(1);

    // The ticket now carries the loop tags; the customer's next comment still crosses.
    b.zd.comment(TICKET, "Thanks, it works now");
    await b.idle();
    expect(incoming(b).map((m) => m.content)).toEqual(["I still cannot log in", "Thanks, it works now"]);
    expect(b.cw.conversations).toHaveLength(1);
    expect(bridgeComments(b)).toHaveLength(1);

    // A second ticket of the same customer: same contact, a new conversation.
    b.zd.addTicket(6000, CUSTOMER, "Another question");
    b.zd.comment(6000, "One more thing");
    await b.idle();
    expect(b.cw.contacts).toHaveLength(1);
    expect(b.cw.conversations).toHaveLength(2);
    expect(b.zd.requestsTo("POST", /./)).toHaveLength(0);
    expect(b.cw.requestsTo("POST", /\/contacts$/)).toHaveLength(1);

    const log = b.dayLog();
    expect(log).toContain(`Zendesk → Chatwoot: ${TICKET} → ${conv.id}`);
    expect(log).toContain(`Chatwoot → Zendesk: ${conv.id} → ${TICKET}`);
    expect(log).toContain("not forwarded: echo of a comment the bridge wrote");
    expect(log).toContain("not forwarded: echo of a message the bridge posted");
    expect(log).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3} INFO  ✅ Zendesk → Chatwoot: 5158 → 42/m);

    const h = await b.health();
    expect(h.bridge.enabled).toBe(true);
    expect(h.bridge.ok).toBe(true);
    expect(h.bridge.zendesk_to_chatwoot.last_success).toBe(`6000 → 43`);
    expect(h.bridge.chatwoot_to_zendesk.last_success).toBe(`42 → ${TICKET}`);
    expect(h.bridge.jobs.dead).toBe(0);
  });

  test("private notes, bot messages, staff and private Zendesk comments stay put", async () => {
    const b = await bridge();
    b.zd.comment(TICKET, "hello");
    await b.idle();
    const conv = b.cw.conversations[0]!;

    b.cw.reply(conv.id, "internal: customer is VIP", { private: true });
    b.cw.reply(conv.id, "I am a bot", { senderType: "agent_bot" });
    b.cw.reply(conv.id, "I am captain", { senderType: "captain_assistant" });
    await b.idle();
    expect(bridgeComments(b)).toHaveLength(0);
    // The private note is the newest message, yet conversation.messages[] shows an older public one:
    // the bridge reads the message's own fields, not the conversation's last message.
    expect(b.cw.deliveries.map((d) => (d.body as any).private)).toContain(true);

    b.zd.comment(TICKET, "internal note", { isPublic: false });
    b.zd.comment(TICKET, "agent typed in Zendesk", { authorId: 555, staff: true });
    await b.idle();
    expect(incoming(b).map((m) => m.content)).toEqual(["hello"]);

    const log = b.dayLog();
    expect(log).toContain("not forwarded: private note");
    expect(log).toContain("not forwarded: sender is agent_bot");
    expect(log).toContain("not forwarded: private comment");
    expect(log).toContain("not forwarded: written by staff");
    expect(b.jobs().every((j) => j.status === "done")).toBe(true);
  });

  test("duplicate deliveries are ignored", async () => {
    const b = await bridge();
    const c = b.zd.comment(TICKET, "first");
    await b.idle();
    const t = b.zd.tickets.get(TICKET)!;
    // Same comment, new envelopes (new event ids): the durable processed ids stop it.
    b.zd.sendWebhook(b.zd.eventBody(t, c, false));
    b.zd.sendWebhook(b.zd.eventBody(t, c, false));
    await b.idle();
    expect(incoming(b)).toHaveLength(1);

    const m = b.cw.reply(b.cw.conversations[0]!.id, "reply once");
    await b.idle();
    const again = b.cw.messageCreated(m);
    b.cw.sendWebhook(again);
    b.cw.sendWebhook(again);
    await b.idle();
    expect(bridgeComments(b)).toHaveLength(1);
    expect(b.dayLog()).toContain("already forwarded (duplicate)");
  });

  test("echoes without the author are stopped by the comment id, trigger echoes by the updater or the text", async () => {
    // Event echo that hides its author: only the recorded comment id can stop it.
    const a = await bridge({ zd: { echoRevealsAuthor: false } });
    a.zd.comment(TICKET, "hi");
    await a.idle();
    a.cw.reply(a.cw.conversations[0]!.id, "answer A");
    await a.idle();
    expect(incoming(a)).toHaveLength(1);
    expect(a.dayLog()).toContain("a comment the bridge wrote");
    const hidden = a.zd.deliveries.filter((d) => (d.body as any).event.comment.author.name === "hidden");
    expect(hidden.map((d) => d.status)).toEqual([200]);

    // Trigger echo with {{current_user.id}} = the bridge's user.
    const b = await bridge({ zd: { echo: "trigger" } });
    b.zd.comment(TICKET, "hi");
    await b.idle();
    b.cw.reply(b.cw.conversations[0]!.id, "answer B");
    await b.idle();
    expect(incoming(b)).toHaveLength(1);
    expect(b.dayLog()).toContain("written by the bridge's own Zendesk user");

    // Trigger echo without any id: the text the bridge wrote to that ticket stops it.
    const c = await bridge({ zd: { echo: "trigger", echoRevealsAuthor: false } });
    c.zd.comment(TICKET, "hi");
    await c.idle();
    c.cw.reply(c.cw.conversations[0]!.id, "answer C");
    await c.idle();
    expect(incoming(c)).toHaveLength(1);
    expect(c.dayLog()).toContain("same text as a comment the bridge wrote");
    expect(c.zd.deliveries.filter((d) => (d.body as any).ticket_id && (d.body as any).current_user_id === "").map((d) => d.status)).toEqual([200]);

    // A customer's trigger body (current_user = customer) still crosses.
    const t = c.zd.tickets.get(TICKET)!;
    const customer = { id: 1, author_id: CUSTOMER, body: "customer via trigger", public: true, via: "email" };
    t.comments.push(customer);
    c.zd.sendWebhook(c.zd.triggerBody(t, customer, CUSTOMER));
    await c.idle();
    expect(incoming(c).map((m) => m.content)).toEqual(["hi", "customer via trigger"]);
  });

  test("a restart between the two directions loses no mapping; an empty map is recovered from custom_attributes", async () => {
    const b = await bridge();
    b.zd.comment(TICKET, "before restart");
    await b.idle();
    const conv = b.cw.conversations[0]!;
    await b.restart();
    b.cw.reply(conv.id, "after restart");
    await b.idle();
    expect(bridgeComments(b).map((c) => c.body)).toEqual(["after restart"]);
    // The map answered: no conversation lookup in Chatwoot was needed.
    expect(b.cw.requestsTo("GET", /\/conversations\/\d+$/)).toHaveLength(0);
    // The customer's next comment reuses the stored contact and conversation.
    b.zd.comment(TICKET, "still here");
    await b.idle();
    expect(b.cw.conversations).toHaveLength(1);
    expect(b.cw.requestsTo("POST", /\/contacts$/)).toHaveLength(1);
    expect(b.cw.requestsTo("POST", /\/conversations$/)).toHaveLength(1);

    // A ferry with an empty database (no map) finds the ticket from the conversation's custom_attributes.
    const fresh = await bridge();
    fresh.cw.contacts.push({ id: 500, name: "Jane", email: null, identifier: `zendesk:${CUSTOMER}`, custom_attributes: {} });
    fresh.cw.conversations.push({ id: 77, inbox_id: 3, contact_id: 500, source_id: "zendesk:5158", status: "open", custom_attributes: { zendesk_ticket_id: "5158" }, additional_attributes: {} });
    fresh.cw.reply(77, "recovered");
    await fresh.idle();
    expect(bridgeComments(fresh).map((c) => c.body)).toEqual(["recovered"]);
    expect(fresh.cw.requestsTo("GET", /\/conversations\/77$/)).toHaveLength(1);
    // …and then the customer's answer goes to that same conversation.
    fresh.zd.comment(TICKET, "thanks");
    await fresh.idle();
    expect(fresh.cw.messages.filter((m) => m.conversation_id === 77 && m.message_type === "incoming").map((m) => m.content)).toEqual(["thanks"]);
    expect(fresh.cw.conversations).toHaveLength(1);
  });

  test("a 429 delays the comment by Retry-After but does not drop or double it", async () => {
    const b = await bridge();
    b.zd.comment(TICKET, "hello");
    await b.idle();
    b.zd.failNext({ method: "PUT", path: /\/api\/v2\/tickets\/5158\.json$/, status: 429, headers: { "retry-after": "1", "content-type": "text/plain" }, body: "Rate limited" });
    const started = Date.now();
    b.cw.reply(b.cw.conversations[0]!.id, "after the limit");
    await b.zd.settled();
    await Bun.sleep(300);
    // Failed once, waiting for Retry-After: health shows it.
    const h1 = await b.health();
    expect(h1.bridge.chatwoot_to_zendesk.last_failure).toContain("429 rate limited");
    expect(h1.bridge.jobs.retry).toBe(1);
    await b.idle();
    const puts = b.zd.requestsTo("PUT", /\/api\/v2\/tickets\/5158\.json$/);
    expect(puts).toHaveLength(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(bridgeComments(b).map((c) => c.body)).toEqual(["after the limit"]);
    expect(b.dayLog()).toContain("retry in 1 s");
    const h2 = await b.health();
    expect(h2.bridge.ok).toBe(true);
    expect(h2.bridge.chatwoot_to_zendesk.ok).toBe(true);
  });

  test("401, 404 and 422 from the APIs are reported clearly in health and the day file", async () => {
    const b = await bridge({ bridge: { chatwoot: { api_token: "wrong-token-value" } } });
    b.zd.comment(TICKET, "hello");
    await Bun.sleep(50);
    await b.zd.settled();
    const h = await waitForHealth(b, (x) => x.bridge.zendesk_to_chatwoot.last_failure);
    expect(h.bridge.ok).toBe(false);
    expect(h.bridge.zendesk_to_chatwoot.last_failure).toContain("Chatwoot GET /api/v1/accounts/1/contacts/search: 401 credentials rejected");
    expect(JSON.stringify(h)).not.toContain("wrong-token-value");
    expect(b.jobs()[0]!.status).toBe("retry"); // a credential fix (SIGHUP) lets it through later

    const c = await bridge();
    c.zd.comment(TICKET, "hello");
    await c.idle();
    // 422 on the ticket update: no retry helps → dead (kept, replayable), health not ok.
    c.zd.failNext({ method: "PUT", path: /tickets\/5158\.json$/, status: 422, body: JSON.stringify({ error: "RecordInvalid", description: "Record validation errors" }) });
    c.cw.reply(c.cw.conversations[0]!.id, "too long");
    await c.idle();
    const h2 = await c.health();
    expect(h2.bridge.jobs.dead).toBe(1);
    expect(h2.bridge.ok).toBe(false);
    expect(h2.bridge.chatwoot_to_zendesk.last_failure).toContain("Zendesk PUT /api/v2/tickets/5158.json: 422 rejected as invalid (RecordInvalid: Record validation errors)");
    expect(c.dayLog()).toContain("gave up (job is dead");
    // 404: a reply in a conversation whose ticket was deleted in Zendesk.
    c.zd.tickets.delete(TICKET);
    c.cw.reply(c.cw.conversations[0]!.id, "ticket gone");
    await c.idle();
    expect(c.jobs().filter((j) => j.status === "dead")).toHaveLength(2);
    expect((await c.health()).bridge.chatwoot_to_zendesk.last_failure).toContain("404 not found");
  });

  test("a 5xx is retried with backoff and the message is posted once", async () => {
    const b = await bridge({ bridge: { max_attempts: 3 } });
    b.cw.failNext({ method: "POST", path: /\/messages$/, status: 502, body: "bad gateway" });
    b.zd.comment(TICKET, "through a flaky proxy");
    await b.idle(15_000);
    expect(incoming(b).map((m) => m.content)).toEqual(["through a flaky proxy"]);
    // The contact and conversation recorded before the failure were not created again.
    expect(b.cw.requestsTo("POST", /\/contacts$/)).toHaveLength(1);
    expect(b.cw.requestsTo("POST", /\/conversations$/)).toHaveLength(1);
    expect(b.jobs().find((j) => j.attempts === 2)?.status).toBe("done");
  });
});

describe("recovery", () => {
  test("a conversation deleted in Chatwoot is forgotten and recreated on retry", async () => {
    const b = await bridge();
    b.zd.comment(TICKET, "first");
    await b.idle();
    const old = b.cw.conversations[0]!.id;
    b.cw.conversations = []; // deleted by an admin
    b.zd.comment(TICKET, "second");
    await b.idle(15_000);
    expect(b.cw.conversations).toHaveLength(1);
    const fresh = b.cw.conversations[0]!;
    expect(fresh.id).not.toBe(old);
    expect(b.cw.messages.filter((m) => m.conversation_id === fresh.id && m.message_type === "incoming").map((m) => m.content)).toEqual(["second"]);
    expect(b.cw.requestsTo("POST", /\/contacts$/)).toHaveLength(1); // the stored contact was reused
    expect(b.dayLog()).toContain(`conversation ${old} is gone`);
  });
});

async function waitForHealth(b: Bridge, ok: (h: any) => unknown, timeoutMs = 5000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const h = await b.health();
    if (ok(h)) return h;
    if (Date.now() > deadline) throw new Error("health never matched: " + JSON.stringify(h.bridge));
    await Bun.sleep(25);
  }
}
