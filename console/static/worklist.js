// The account manager's worklist: their customers, what to do first at the top.
import { enc, get, withQuery } from "./api.js";
import { clear, field, fmt, h, pct, select, table, when } from "./dom.js";

const TIERS = ["", "MVC", "MGC", "BZ", "standard"];
const STAGES = ["", "exploration", "formation", "stable", "decline"];
// The values of the worklist's query parameters (tests/console checks them against /openapi.json).
const ACTIONS = ["", "recover", "retain", "cross_sell", "upgrade", "self_service"];
const ORDERS = ["action", "wallet_gap"];
const ORDER_NAMES = { action: "what to do first", wallet_gap: "wallet gap (largest first)" };
const state = { manager: sessionStorage.getItem("atelier.manager") || "", tier: "", lifecycle_stage: "", action: "", needs_segment: "", order: "action", cursor: null, pages: [] };

const filtered = () => ["tier", "lifecycle_stage", "action", "needs_segment"].some((k) => state[k]);

const questions = (row) => (row.questions || []).map((q) => h("div", {}, q.text));

function columns(rows) {
  const has = (k) => rows.some((r) => r[k] !== undefined && r[k] !== null);
  return [
    ["Customer", (r) => h("a", { href: `#/customer/${enc(r.customer_id)}` }, r.customer_id)],
    ["Tier", (r) => r.tier ?? "—"],
    ["Churn risk", (r) => pct(r.churn_risk), "num"],
    ["CLV", (r) => fmt(r.clv), "num"],
    ["Value at stake", (r) => fmt(r.priority), "num"],
    has("share_of_wallet") && ["Share of wallet", (r) => pct(r.share_of_wallet), "num"],
    has("wallet_gap") && ["Wallet gap", (r) => fmt(r.wallet_gap), "num"],
    ["Next best action", (r) => r.next_best_action ? [h("strong", {}, r.next_best_action.action), " ", h("span", { class: "muted" }, r.next_best_action.reason || "")] : "—"],
    ["Channel", (r) => r.next_best_action?.channel ?? r.channel ?? "—"],
    ["Next contact", (r) => [when(r.next_contact_due), r.overdue ? h("strong", { class: "bad" }, " overdue") : null]],
    ["Ask", questions],
  ].filter(Boolean);
}

export async function worklist(main) {
  const managers = await get("/v1/account-managers");
  const list = managers.managers;
  if (!state.manager && list.length) state.manager = list[0].manager_id;
  const heading = h("h1", {}, "Worklist");
  const managerControl = list.length
    ? select("manager", list.map((m) => [m.manager_id, `${m.manager_id} (${m.portfolio_size} customers)`]), state.manager)
    : h("input", { name: "manager", value: state.manager, placeholder: "account manager id", required: true });
  const filters = [
    ["tier", "Tier", TIERS], ["lifecycle_stage", "Lifecycle stage", STAGES], ["action", "Next best action", ACTIONS],
  ].map(([key, text, values]) => field(text, select(key, values.map((v) => [v, v || "any"]), state[key])));
  const needs = field("Needs segment", h("input", { name: "needs_segment", value: state.needs_segment, size: 12 }));
  const order = field("Order by", select("order", ORDERS.map((o) => [o, ORDER_NAMES[o]]), state.order));
  const body = h("div", {});
  const form = h("form", {
    class: "row", onsubmit: (e) => {
      e.preventDefault();
      const data = new FormData(form);
      for (const k of ["manager", "tier", "lifecycle_stage", "action", "needs_segment", "order"]) state[k] = String(data.get(k) || "");
      sessionStorage.setItem("atelier.manager", state.manager);
      state.cursor = null; state.pages = [];
      load(body, list, managers.portfolio_cap);
    },
  }, field("Account manager", managerControl), filters, needs, order, h("button", { type: "submit" }, "Show"));
  clear(main, heading, form, body);
  if (state.manager) await load(body, list, managers.portfolio_cap);
  else clear(body, h("p", {}, "Choose an account manager."));
}

async function load(body, list, cap) {
  const path = withQuery(`/v1/account-managers/${enc(state.manager)}/customers`, {
    limit: 50, cursor: state.cursor, tier: state.tier, lifecycle_stage: state.lifecycle_stage,
    action: state.action, needs_segment: state.needs_segment, order: state.order === "action" ? "" : state.order,
  });
  const page = await get(path);
  const rows = page.customers || [];
  const portfolio = list.find((m) => m.manager_id === state.manager);
  const warning = portfolio?.warning;
  const pager = h("div", { class: "row" },
    state.pages.length ? h("button", { class: "secondary", type: "button", onclick: () => { state.cursor = state.pages.pop(); load(body, list, cap); } }, "Previous page") : null,
    page.next_cursor ? h("button", { class: "secondary", type: "button", onclick: () => { state.pages.push(state.cursor); state.cursor = page.next_cursor; load(body, list, cap); } }, "Next page") : null);
  clear(body,
    portfolio ? h("p", {}, `Portfolio: ${fmt(portfolio.portfolio_size, 0)} customers of a cap of ${fmt(cap, 0)}`,
      ` · value at stake ${fmt(portfolio.value_at_stake)} · ${fmt(portfolio.contacts_overdue, 0)} contacts overdue`,
      ` · ${fmt(portfolio.open_complaints, 0)} open complaints`) : null,
    warning ? h("p", { class: "warn", role: "status" }, warning) : null,
    rows.length ? table(`${rows.length} customers on this page${filtered() ? " matching the filters" : ""}, ${state.order === "wallet_gap" ? "the largest wallet gap" : "what to do first"} at the top`, columns(rows), rows)
      : h("p", {}, "No customer of this manager matches."),
    pager);
}
