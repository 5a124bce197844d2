import { Elysia } from "elysia";
import { doc } from "../../http/openapi";
import { rawBody, readJson } from "../../http/plugin";
import type { BridgeIntake } from "./intake";
import { bridgeAnswer, chatwootWebhook, zendeskEvent, zendeskTrigger } from "./model";

const OK = { status: "success" } as const;
const tags = ["bridge"];
const errors = [400, 401, 413, 415, 422, 503];
const chatwootDoc = (summary: string) =>
  doc({
    summary,
    description: "Each configured check must pass: X-Chatwoot-Signature with webhook_secret, the path/query token with path_token. 503 bridge_disabled while bridge.enabled is false.",
    tags,
    body: chatwootWebhook,
    responses: { 200: bridgeAnswer },
    errors,
    security: [{ chatwootSignature: [] }, { chatwootPathToken: [] }, {}],
  });

/**
 * Webhook endpoints (paths kept from the old service): check, store, answer 200 at once; the work
 * is a queued job. The body is read here as raw bytes (`parse: "none"`) because the signatures
 * are over exactly what was sent; the service checks them, the zod models document the bodies.
 */
export function bridgeRoutes(service: BridgeIntake, bodyLimit: () => number) {
  return new Elysia({ name: "bridge" })
    .post(
      "/service-api-webhook/zendesk-webhook",
      async ({ request }) => {
        const body = await readJson(request, bodyLimit());
        await service.receiveZendesk(request.headers, rawBody(request), body);
        return OK;
      },
      {
        parse: "none",
        detail: doc({
          summary: "Zendesk webhook (event subscription or trigger body)",
          description:
            "With bridge.zendesk.signing_secret: X-Zendesk-Webhook-Signature and X-Zendesk-Webhook-Signature-Timestamp within signature_tolerance. 503 bridge_disabled while bridge.enabled is false.",
          tags,
          body: zendeskEvent.or(zendeskTrigger),
          responses: { 200: bridgeAnswer },
          errors,
          security: [{ zendeskSignature: [] }, {}],
        }),
      },
    )
    .post(
      "/service-api-webhook/chatwoot-webhook",
      async ({ request, query }) => {
        const body = await readJson(request, bodyLimit());
        await service.receiveChatwoot(request.headers, rawBody(request), body, query.token);
        return OK;
      },
      { parse: "none", detail: chatwootDoc("Chatwoot webhook (message_created is forwarded; ?token= for path_token)") },
    )
    .post(
      "/service-api-webhook/chatwoot-webhook/:token",
      async ({ request, params }) => {
        const body = await readJson(request, bodyLimit());
        await service.receiveChatwoot(request.headers, rawBody(request), body, params.token);
        return OK;
      },
      { parse: "none", detail: chatwootDoc("Chatwoot webhook with the path token") },
    );
}
