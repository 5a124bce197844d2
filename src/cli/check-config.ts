import { loadConfig } from "../config/load";

/** Validates the file and prints the effective config with secrets masked. */
export function checkConfig(configPath: string): void {
  const config = loadConfig(configPath);
  console.log(`ferry: ${configPath} is valid`);
  console.log(JSON.stringify(maskSecrets(config), null, 2));
}

const SECRET = /(token|secret|api_key|password)/i;

export function maskSecrets(value: unknown, key = ""): unknown {
  if (Array.isArray(value)) return value.map((v) => maskSecrets(v, key));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskSecrets(v, k)]));
  }
  if (typeof value === "string" && SECRET.test(key)) return value ? "***" : "";
  return value;
}
