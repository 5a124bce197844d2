import { Daemon } from "../daemon";

export async function serve(configPath: string): Promise<void> {
  await Daemon.start({ configPath, signals: true });
}
