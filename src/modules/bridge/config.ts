import { z } from "zod";

export const bridgeConfig = z
  .strictObject({
    /** Zendesk <-> Chatwoot bridge on/off (spec/bridge.md). */
    enabled: z.boolean().default(false),
  })
  .prefault({});
