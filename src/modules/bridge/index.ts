import { Elysia } from "elysia";
import { rawBody, readJson } from "../../http/plugin";
import type { BridgeIntake } from "./intake";

const OK = { status: "success" } as const;

/** Webhook endpoints (paths kept from the old service): check, store, answer 200 at once; the work is a queued job. */
export function bridgeRoutes(service: BridgeIntake, bodyLimit: () => number) {
  return new Elysia({ name: "bridge" })
    .post(
      "/service-api-webhook/zendesk-webhook",
      async ({ request }) => {
        const body = await readJson(request, bodyLimit());
        await service.receiveZendesk(request.headers, rawBody(request), body);
        return OK;
      },
      { parse: "none" },
    )
    .post(
      "/service-api-webhook/chatwoot-webhook",
      async ({ request, query }) => {
        const body = await readJson(request, bodyLimit());
        await service.receiveChatwoot(request.headers, rawBody(request), body, query.token);
        return OK;
      },
      { parse: "none" },
    )
    .post(
      "/service-api-webhook/chatwoot-webhook/:token",
      async ({ request, params }) => {
        const body = await readJson(request, bodyLimit());
        await service.receiveChatwoot(request.headers, rawBody(request), body, params.token);
        return OK;
      },
      { parse: "none" },
    );
}
