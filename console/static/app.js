// The console's shell: sign-in, navigation by the key's scopes, and one view per hash route.
import { ApiError, get, session } from "./api.js";
import { clear, field, h, problem } from "./dom.js";
import { worklist } from "./worklist.js";
import { customer } from "./customer.js";
import { portfolio } from "./portfolio.js";
import { configurator } from "./configurator.js";
import { models } from "./models.js";

const VIEWS = [
  { path: "worklist", title: "Worklist", scope: "customers", render: worklist },
  { path: "portfolio", title: "Portfolio", scope: "customers", render: portfolio },
  { path: "configurator", title: "Configurator", scope: "configure", render: configurator },
  { path: "models", title: "Models", scope: "admin", render: models },
  { path: "customer", title: "Customer", scope: "customers", render: customer, hidden: true },
];

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const who = document.getElementById("who");

function signIn(message) {
  nav.hidden = true;
  clear(who);
  const input = h("input", { type: "password", name: "key", autocomplete: "off", required: true, size: 44 });
  const form = h("form", {
    onsubmit: async (e) => {
      e.preventDefault();
      session.key = input.value.trim();
      await start();
    },
  }, h("h1", {}, "Sign in"), message || null,
    h("p", { class: "muted" }, "Paste an API key of your tenant. It is kept in this tab only and forgotten when the tab closes."),
    field("API key", input), " ", h("button", { type: "submit" }, "Sign in"));
  clear(main, form);
  input.focus();
  document.body.dataset.view = "sign-in";
}

async function start() {
  if (!session.key) return signIn();
  try {
    session.caller = await get("/v1/me");
  } catch (e) {
    session.key = null;
    return signIn(e instanceof ApiError ? problem(e) : h("div", { class: "error", role: "alert" }, String(e)));
  }
  clear(who, `${session.caller.tenant} · ${session.caller.scopes.join(", ")} `,
    h("button", { class: "secondary", type: "button", onclick: () => { session.key = null; location.hash = ""; signIn(); } }, "Sign out"));
  nav.hidden = false;
  window.onhashchange = route;
  await route();
}

function allowed() { return VIEWS.filter((v) => session.can(v.scope)); }

async function route() {
  const [path, ...rest] = location.hash.replace(/^#\/?/, "").split("/");
  const views = allowed();
  const view = views.find((v) => v.path === path) || views.find((v) => !v.hidden);
  clear(nav, views.filter((v) => !v.hidden).map((v) =>
    h("a", { href: `#/${v.path}`, "aria-current": v === view || (view?.path === "customer" && v.path === "worklist") ? "page" : null }, v.title)));
  if (!view) {
    clear(main, h("h1", {}, "Nothing to show"), h("p", {}, "This key has none of the scopes the console's views need (customers, configure, admin)."));
    return;
  }
  const started = performance.now();
  document.body.dataset.view = "loading";
  try {
    await view.render(main, rest.map(decodeURIComponent));
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) { session.key = null; return signIn(problem(e)); }
    clear(main, h("h1", {}, view.title), e instanceof ApiError ? problem(e) : h("div", { class: "error", role: "alert" }, String(e)));
  }
  document.body.dataset.renderMs = String(Math.round(performance.now() - started));
  document.body.dataset.view = view.path;
  document.title = `${view.title} · Atelier console`;
}

start();
