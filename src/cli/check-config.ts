import { loadConfig } from "../config/load";
import { maskSecrets } from "../config/mask";

/** Validates the file and prints the effective config with secrets masked. */
export function checkConfig(configPath: string): void {
  const config = loadConfig(configPath);
  console.log(`ferry: ${configPath} is valid`);
  console.log(JSON.stringify(maskSecrets(config), null, 2));
}
