// Chromium (Debian's /usr/bin/chromium) driven by playwright-core, for the console's browser tests.
// Absent Chromium: `chromiumPath` is null and the tests skip with a printed reason.
import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { tempDir } from "../helpers/ferry";

const CANDIDATES = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser"].filter(Boolean) as string[];
export const chromiumPath: string | null = CANDIDATES.find((p) => existsSync(p)) ?? null;
if (!chromiumPath) console.log("[skip] test/console browser tests: Chromium not found (apt-get install chromium, or set CHROMIUM_PATH)");

/** Every run saves one screenshot per page here (look at them); failures add a failure-*.png. */
export const SHOTS = join(tmpdir(), "ferry-console-screenshots");

export async function launch(): Promise<BrowserContext> {
  mkdirSync(SHOTS, { recursive: true });
  // Failures of an earlier run would mislead whoever looks at the folder.
  for (const f of readdirSync(SHOTS)) if (f.startsWith("failure-")) rmSync(join(SHOTS, f));
  return chromium.launchPersistentContext(tempDir("ferry-chromium-"), {
    executablePath: chromiumPath!,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 1280, height: 900 },
  });
}

export async function shot(page: Page, name: string): Promise<string> {
  const path = join(SHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Runs a browser test body; on failure saves a full-page screenshot and names it in the error. */
export async function withPage(context: BrowserContext, name: string, body: (page: Page, errors: string[]) => Promise<void>): Promise<void> {
  const page = await context.newPage();
  // Console errors and CSP violations of the page fail the test.
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console: ${m.text()}`);
  });
  try {
    await body(page, errors);
  } catch (err) {
    const path = await shot(page, `failure-${name}`).catch(() => "(no screenshot)");
    (err as Error).message += `\nscreenshot: ${path}\npage errors: ${errors.join("; ") || "none"}`;
    throw err;
  } finally {
    await page.close();
  }
}

/** Polls until the page's visible text matches (the console refreshes every 3 s). */
export async function waitForText(page: Page, pattern: RegExp | string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    last = await page.locator("body").innerText();
    if (typeof pattern === "string" ? last.includes(pattern) : pattern.test(last)) return;
    if (Date.now() > deadline) throw new Error(`page text never matched ${pattern}; last text:\n${last.slice(0, 2000)}`);
    await Bun.sleep(100);
  }
}

export async function signIn(page: Page, url: string, token: string): Promise<void> {
  await page.goto(`${url}/ui`);
  await page.getByLabel("API token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("navigation", { name: "Console pages" }).waitFor({ state: "visible" });
}
