import type { AppContext } from "../../context";
import { HttpError } from "../../http/errors";
import type { BridgeConfig } from "./config";
import { parseChatwoot, parseZendesk, type SyncPayload } from "./model";
import { checkChatwoot, checkZendesk } from "./signatures";
import type { BridgeState } from "./state";

/** Webhook intake: check the signature (or path token), validate, store the payload with its job, answer. */
export class BridgeIntake {
  constructor(
    private ctx: AppContext,
    private state: BridgeState,
  ) {}

  private cfg(): BridgeConfig {
    return this.ctx.config().bridge;
  }

  private requireEnabled(): void {
    if (!this.cfg().enabled) {
      throw new HttpError(503, "bridge_disabled", "the Zendesk ↔ Chatwoot bridge is disabled (set bridge.enabled: true and its credentials in the config)");
    }
  }

  async receiveZendesk(headers: Headers, raw: string, body: unknown): Promise<void> {
    this.requireEnabled();
    checkZendesk(this.cfg(), headers, raw, this.ctx.clock.now());
    const parsed = parseZendesk(body);
    const eventId = (body as { id?: unknown }).id;
    const invocation = headers.get("x-zendesk-webhook-invocation-id");
    // Zendesk retries a delivery with the same event/invocation id: enqueue it once.
    const dedupeKey =
      "comment" in parsed && parsed.comment.shape === "event" && typeof eventId === "string" && eventId
        ? `bridge:zendesk:event:${eventId}`
        : invocation
          ? `bridge:zendesk:invocation:${invocation}`
          : undefined;
    await this.enqueue({ source: "zendesk", body, received_at: this.ctx.clock.now() }, dedupeKey);
  }

  async receiveChatwoot(headers: Headers, raw: string, body: unknown, pathToken: string | undefined): Promise<void> {
    this.requireEnabled();
    checkChatwoot(this.cfg(), headers, raw, pathToken, this.ctx.clock.now());
    const b = parseChatwoot(body);
    const delivery = headers.get("x-chatwoot-delivery");
    const dedupeKey =
      b.event === "message_created" && b.id !== undefined ? `bridge:chatwoot:message:${b.id}` : delivery ? `bridge:chatwoot:delivery:${delivery}` : undefined;
    await this.enqueue({ source: "chatwoot", body, received_at: this.ctx.clock.now() }, dedupeKey);
  }

  private enqueue(payload: SyncPayload, dedupeKey: string | undefined): Promise<unknown> {
    return this.state.enqueue(payload, dedupeKey, this.cfg().max_attempts);
  }
}
