// Config: the running configuration as ferry applied it, secrets masked by the server.
import { h, replace } from "./dom.js";

export const configPage = {
  title: () => "Config",
  nav: "config",
  live: false,
  render(view, _params, ui) {
    const box = h("div");
    view.append(h("p", { class: "muted" }, "The configuration in effect (after defaults and reloads). Secrets are masked by the server."), box);
    return async () => {
      const c = await ui.api("GET", "/api/v1/config");
      replace(box, Object.entries(c).map(([section, value]) => h("details", { open: true, "data-key": `cfg-${section}` }, h("summary", {}, h("strong", {}, section)), h("pre", { class: "tall" }, JSON.stringify(value, null, 2)))));
    };
  },
};
