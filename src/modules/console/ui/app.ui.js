// The console shell: sign-in gate, hash router, polling, confirm dialog and status messages.
import { ApiError, api, setToken, signedIn, tokenAccepted, whenRejected } from "./api.js";
import { h } from "./dom.js";
import { overviewPage } from "./overview.js";
import { subscribersPage } from "./subscribers.js";
import { deliveriesPage, deliveryPage } from "./deliveries.js";
import { jobsPage, jobPage } from "./jobs.js";
import { bridgePage } from "./bridge.js";
import { learnerPage } from "./learner.js";
import { configPage } from "./config.js";

const PAGES = {
  overview: overviewPage,
  subscribers: subscribersPage,
  deliveries: deliveriesPage,
  delivery: deliveryPage,
  jobs: jobsPage,
  job: jobPage,
  bridge: bridgePage,
  learner: learnerPage,
  config: configPage,
};
const POLL_MS = 3000;

const $ = (id) => document.getElementById(id);
let current = null;
let statusTimer = 0;

function notify(text, bad = false) {
  const el = $("status");
  el.className = bad ? "status bad" : "status";
  el.textContent = text;
  clearTimeout(statusTimer);
  statusTimer = setTimeout(() => (el.textContent = ""), 8000);
}

/** Resolves true when the operator confirms (the dialog is modal; Escape cancels). */
function confirmAction(text, okLabel = "Confirm") {
  const d = $("confirm");
  $("confirm-text").textContent = text;
  $("confirm-ok").textContent = okLabel;
  d.returnValue = "cancel";
  d.showModal();
  $("confirm-cancel").focus();
  return new Promise((resolve) => d.addEventListener("close", () => resolve(d.returnValue === "ok"), { once: true }));
}

/** Confirm, run a state-changing call, say what happened, refresh the page. */
async function act(button, question, okLabel, run) {
  if (!(await confirmAction(question, okLabel))) return;
  if (button) button.disabled = true;
  try {
    notify(await run());
  } catch (err) {
    notify(err instanceof ApiError ? `Failed: ${err.message}` : `Failed: ${String(err)}`, true);
  } finally {
    if (button) button.disabled = false;
  }
  await tick();
}

const ui = { api, notify, act, confirm: confirmAction, go: (hash) => (location.hash = hash), refresh: () => tick() };

function parseHash() {
  const [path, query = ""] = location.hash.replace(/^#\/?/, "").split("?");
  const [name, ...rest] = path.split("/");
  const params = Object.fromEntries(new URLSearchParams(query));
  if (rest.length) params.id = decodeURIComponent(rest.join("/"));
  return { name: name || "overview", params };
}

function showSignedIn(yes) {
  $("signin-page").hidden = yes;
  $("page").hidden = !yes;
  $("nav").hidden = !yes;
  $("session").hidden = !yes;
}

function signOut(message = "") {
  setToken(null);
  current = null;
  $("page").replaceChildren(); // nothing the server sent stays in the document
  showSignedIn(false);
  $("signin-error").textContent = message;
  $("token").focus();
}

async function route() {
  if (!signedIn()) return signOut();
  const { name, params } = parseHash();
  const page = PAGES[name] ?? overviewPage;
  const view = $("page");
  const heading = h("h1", { tabindex: "-1" }, page.title(params));
  const error = h("p", { class: "error", role: "alert" });
  const body = h("div");
  view.replaceChildren(heading, error, body);
  document.title = `${page.title(params)} · ferry console`;
  for (const a of $("nav").querySelectorAll("a")) {
    if (a.getAttribute("href") === `#/${page.nav}`) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  current = { refresh: page.render(body, params, ui), live: page.live !== false, busy: false, error };
  heading.focus();
  await tick();
}

async function tick() {
  const c = current;
  if (!c) return;
  // A refresh asked for during one (after an action, say) runs right after it.
  if (c.busy) return void (c.again = true);
  c.busy = true;
  try {
    await c.refresh();
    c.error.textContent = "";
  } catch (err) {
    if (c === current && signedIn()) c.error.textContent = `Could not load: ${err.message}`;
  } finally {
    c.busy = false;
  }
  if (c.again && c === current) {
    c.again = false;
    await tick();
  }
}

$("signin").addEventListener("submit", async (e) => {
  e.preventDefault();
  const input = $("token");
  const candidate = input.value.trim();
  input.value = "";
  $("signin-error").textContent = "";
  if (!candidate) return;
  try {
    if (!(await tokenAccepted(candidate))) {
      $("signin-error").textContent = "That token was refused.";
      return input.focus();
    }
  } catch (err) {
    $("signin-error").textContent = `Cannot reach ferry: ${err.message}`;
    return;
  }
  setToken(candidate);
  showSignedIn(true);
  if (!location.hash) history.replaceState(null, "", "#/overview");
  await route();
});
$("signout").addEventListener("click", () => signOut("Signed out."));
$("confirm-ok").addEventListener("click", () => $("confirm").close("ok"));
$("confirm-cancel").addEventListener("click", () => $("confirm").close("cancel"));
whenRejected(() => signOut("The server refused the token; sign in again."));
window.addEventListener("hashchange", () => void route());
setInterval(() => {
  if (current?.live && $("live").checked && !document.hidden && !$("confirm").open) void tick();
}, POLL_MS);
signOut();
