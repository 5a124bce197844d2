import { Elysia } from "elysia";
import { rawBody } from "../../http/plugin";
import type { BridgeService } from "./service";

const OK = { status: "success" } as const;

/** Webhook endpoints (paths kept from the old service): check, store, answer 200 at once; the work is a queued job. */
export function bridgeRoutes(service: BridgeService) {
  return new Elysia({ name: "bridge" })
    .post("/service-api-webhook/zendesk-webhook", async ({ request, body }) => {
      await service.receiveZendesk(request.headers, rawBody(request), body);
      return OK;
    })
    .post("/service-api-webhook/chatwoot-webhook", async ({ request, body, query }) => {
      await service.receiveChatwoot(request.headers, rawBody(request), body, query.token);
      return OK;
    })
    .post("/service-api-webhook/chatwoot-webhook/:token", async ({ request, body, params }) => {
      await service.receiveChatwoot(request.headers, rawBody(request), body, params.token);
      return OK;
    });
}
