import pino, { type Logger } from "pino";

export type { Logger };

// Redaction is by key name at any depth we log: tokens, secrets, signatures, Authorization.
const SECRET_KEYS = [
  "authorization", "Authorization", "token", "tokens", "api_token", "api_tokens", "api_key", "apiKey",
  "secret", "webhook_secret", "signing_secret", "password", "signature", "x-signature", "x-moodle-token",
  "webhook-signature", "x-zendesk-webhook-signature", "x-chatwoot-signature", "api_access_token",
];
const redactPaths = SECRET_KEYS.flatMap((k) => {
  const key = /^[A-Za-z_$][\w$]*$/.test(k) ? k : `["${k}"]`;
  const dot = key.startsWith("[") ? "" : ".";
  return [key, `*${dot}${key}`, `*.*${dot}${key}`, `*.*.*${dot}${key}`, `headers${dot}${key}`, `req.headers${dot}${key}`];
});

/** JSON logs to stdout (journald keeps them); no transports, which break inside a compiled binary. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "ferry" },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: redactPaths, censor: "[redacted]" },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ fd: 1, sync: false }),
  );
}
