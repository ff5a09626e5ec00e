// Customer 360: profile and facts, value and tier, what to offer, the dialogue, saved specs.
import { ApiError, enc, get, maybe, patch, post, session, withQuery } from "./api.js";
import { clear, field, fmt, h, kv, pct, problem, select, table, when } from "./dom.js";
import { lineChart } from "./charts.js";

const CHANNELS = ["phone", "email", "visit", "chat", "sms", "post", "portal"];
const OUTCOMES = ["reached", "no_answer", "sale", "declined", "resolved", "follow_up"];
const KINDS = ["complaint", "question", "repair", "return", "other"];
const titles = new Map();

/** Titles and prices of the items shown, in one lookup for every id not seen before. */
async function titled(ids) {
  const missing = [...new Set(ids.filter((id) => !titles.has(id)))].slice(0, 100);
  if (missing.length) {
    const found = await get(withQuery("/v1/items", { ids: missing.join(",") }));
    for (const item of found.items) titles.set(item.item_id, { title: item.title ?? item.item_id, price: item.price });
    for (const id of found.missing) titles.set(id, { title: id });
  }
  return ids.map((id) => ({ item_id: id, ...(titles.get(id) || { title: id }) }));
}

export async function customer(main, [id]) {
  if (!id) { location.hash = "#/worklist"; return; }
  const base = `/v1/customers/${enc(id)}`;
  const [profile, insights, history, recos, contacts, cases, questions, configs, perks] = await Promise.all([
    get(base), maybe(`${base}/insights`), maybe(`${base}/insights/history`),
    session.can("recommend") ? maybe(`${base}/recommendations?n=6&explain=true`) : null,
    maybe(`${base}/contacts?limit=20`), maybe(`${base}/cases?limit=20`), maybe(`${base}/next-questions?n=2`),
    session.can("configure") ? maybe(`${base}/configurations`) : null,
    maybe(`${base}/entitlements`),
  ]);
  const refresh = () => customer(main, [id]);
  const offerIds = (insights?.next_best_action?.items || []).map((i) => (typeof i === "string" ? i : i.item_id));
  const recoIds = (recos?.items || []).map((i) => i.item_id);
  await titled([...offerIds, ...recoIds]);
  const [offered, recommended] = await Promise.all([titled(offerIds), titled(recoIds)]);
  clear(main,
    h("h1", {}, `Customer ${id}`),
    h("div", { class: "row" },
      card("Profile", profileView(profile)),
      card("Value", valueView(insights)),
      card("Next best action", actionView(insights, offered))),
    perks ? card("Tier and perks", perksView(perks)) : null,
    history ? historyView(history) : null,
    recos ? card("Recommendations", recoView(recos, recommended)) : null,
    h("div", { class: "row" },
      contacts ? card("Log a contact", contactForm(base, refresh)) : null,
      questions ? card("Ask", questionsView(base, questions, refresh)) : null,
      cases ? card("Open a case", caseForm(base, refresh)) : null),
    timeline(contacts, cases, base, refresh),
    configs ? card("Saved configurations", configsView(base, configs, refresh)) : null);
}

const card = (title, ...content) => h("section", { class: "card", "aria-label": title }, h("h2", {}, title), content);

function profileView(p) {
  const consent = p.consent || {};
  const channels = Object.entries(consent.channels || {}).filter(([, v]) => v).map(([k]) => k);
  return [kv([
    ["Account manager", p.account_manager ?? "—"],
    ["Personalization", consent.personalization === false ? "no consent" : "yes"],
    ["Channels", channels.length ? channels.join(", ") : "none consented"],
    ...Object.entries(p.attributes || {}).map(([k, v]) => [k, typeof v === "object" ? JSON.stringify(v) : String(v)]),
  ]), (p.facts || []).length ? h("h3", {}, "What they told us") : null,
  (p.facts || []).length ? kv(p.facts.map((f) => [f.question || f.question_id, `${f.value} (${when(f.timestamp || f.answered_at)})`])) : null];
}

function valueView(i) {
  if (!i || i.status === "no_history") return h("p", { class: "muted" }, "No purchases yet: no value figures.");
  return kv([
    ["Tier", i.tier], ["Lifecycle stage", i.lifecycle_stage], ["CLV", fmt(i.clv)],
    ["P(alive)", pct(i.p_alive)], ["Churn risk", pct(i.churn_risk)],
    i.share_of_wallet !== undefined && ["Share of wallet", `${pct(i.share_of_wallet)} of ${fmt(i.wallet_estimate)} (${i.wallet_source})`],
    i.needs_segment && ["Needs segment", typeof i.needs_segment === "object" ? i.needs_segment.label : i.needs_segment],
    ["RFM", i.rfm ? `${i.rfm.r}/${i.rfm.f}/${i.rfm.m}` : "—"],
    ["Next tier", i.next_tier ? `${i.next_tier.tier}: ${i.next_tier.requirement}` : "—"],
    ["Computed", when(i.computed_at)],
  ]);
}

function perksView(e) {
  const granted = e.granted || [];
  const withheld = e.withheld || [];
  const value = (p) => (p.value === null || p.value === undefined ? "" : p.kind === "discount" ? ` (${pct(p.value)})` : ` (${fmt(p.value, 0)})`);
  return [h("p", {}, `Tier ${e.tier}`, e.policy_version ? "" : " · this tenant has set no perks yet (PUT /v1/tiers/policy)"),
    granted.length ? [h("h3", {}, "Granted"), h("ul", {}, granted.map((p) => h("li", {}, `${p.title}${value(p)}`)))] : null,
    withheld.length ? table("What would earn the perks withheld", [
      ["Perk", (p) => `${p.title}${value(p)}`], ["Tier", (p) => p.requirement.tier],
      ["How to earn it", (p) => (p.requirement.reachable ? p.requirement.requirement : h("span", { class: "muted" }, p.requirement.requirement))],
    ], withheld) : null,
    e.effects && (e.effects.discount || e.effects.lead_time_days_saved)
      ? h("p", { class: "muted" }, `Applied in the configurator: ${pct(e.effects.discount)} off, ${fmt(e.effects.lead_time_days_saved, 0)} days sooner`) : null];
}

function actionView(i, offered) {
  const nba = i?.next_best_action;
  if (!nba) return h("p", { class: "muted" }, "No action proposed.");
  return [h("p", {}, h("strong", {}, nba.action), nba.channel ? ` via ${nba.channel}` : "", ` · value at stake ${fmt(nba.priority)}`),
    h("p", { class: "muted" }, nba.reason || ""),
    offered.length ? table("What to offer", [["Item", (r) => r.title], ["Price", (r) => fmt(r.price), "num"]], offered) : null];
}

function historyView(history) {
  const runs = history.runs || [];
  if (runs.length < 1) return null;
  const xs = runs.map((r, j) => j);
  const line = (name, color, key) => ({ name, color, points: runs.map((r, j) => [xs[j], r[key] ?? 0]) });
  const charts = runs.length < 2 ? [] : [
    lineChart("CLV across insight runs", [line("CLV", "#1d4ed8", "clv")], { xFormat: (x) => `run ${Math.round(x) + 1}` }),
    lineChart("P(alive) and churn risk across runs", [line("P(alive)", "#166534", "p_alive"), line("churn risk", "#b91c1c", "churn_risk")],
      { yMax: 1, xFormat: (x) => `run ${Math.round(x) + 1}`, yFormat: pct })];
  return card("History across runs", charts,
    table("Runs", [["Run", (r) => when(r.computed_at)], ["Tier", (r) => r.tier], ["Stage", (r) => r.lifecycle_stage],
      ["CLV", (r) => fmt(r.clv), "num"], ["P(alive)", (r) => pct(r.p_alive), "num"]], runs));
}

function recoView(recos, items) {
  const reasons = new Map((recos.items || []).map((i) => [i.item_id, i.reasons || []]));
  return [recos.fallback ? h("p", { class: "muted" }, `Fallback: ${recos.fallback}`) : null,
    table(`Model ${recos.model_version ?? "none"}`, [
      ["Item", (r) => r.title], ["Price", (r) => fmt(r.price), "num"],
      ["Why", (r) => reasons.get(r.item_id).map((x) => `${x.type}${x.item_ids ? ` (${x.item_ids.join(", ")})` : ""}`).join("; ") || "—"],
    ], items)];
}

function submitter(form, action, done) {
  const status = h("div", { role: "status" });
  form.append(status);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clear(status, "Saving…");
    try { await action(new FormData(form)); clear(status, h("span", { class: "ok" }, "Saved.")); await done(); } catch (err) {
      clear(status, err instanceof ApiError ? problem(err) : String(err));
    }
  });
  return form;
}

function contactForm(base, done) {
  const form = h("form", {},
    field("Channel", select("channel", CHANNELS.map((c) => [c, c]), "phone")),
    field("Direction", select("direction", [["outbound", "outbound"], ["inbound", "inbound"]], "outbound")),
    field("Outcome", select("outcome", OUTCOMES.map((c) => [c, c]), "reached")),
    field("Topic", h("input", { name: "topic", size: 16 })),
    field("Next contact", h("input", { name: "next_contact_at", type: "date" })),
    field("Note", h("textarea", { name: "note", rows: 2, cols: 30, maxlength: 4096 })),
    h("button", { type: "submit" }, "Log contact"));
  return submitter(form, (d) => post(`${base}/contacts`, clean({
    channel: d.get("channel"), direction: d.get("direction"), outcome: d.get("outcome"), topic: d.get("topic"),
    note: d.get("note"), next_contact_at: d.get("next_contact_at") ? `${d.get("next_contact_at")}T09:00:00Z` : "",
  })), done);
}

function caseForm(base, done) {
  const form = h("form", {},
    field("Kind", select("kind", KINDS.map((c) => [c, c]), "complaint")),
    field("Category", h("input", { name: "category", required: true, size: 14 })),
    field("Severity (1-5)", h("input", { name: "severity", type: "number", min: 1, max: 5, value: 3 })),
    field("Description", h("textarea", { name: "description", rows: 2, cols: 30 })),
    h("button", { type: "submit" }, "Open case"));
  return submitter(form, (d) => post(`${base}/cases`, clean({
    kind: d.get("kind"), category: d.get("category"), severity: Number(d.get("severity")), description: d.get("description"),
  })), done);
}

function questionsView(base, answer, done) {
  const list = answer.questions || [];
  if (!list.length) return h("p", { class: "muted" }, "Nothing to ask now.");
  return list.map((q) => {
    const input = q.kind === "choice"
      ? select("value", (q.options || []).map((o) => [o, o]), (q.options || [])[0])
      : h("input", { name: "value", type: q.kind === "number" ? "number" : "text", required: true, step: "any" });
    const form = h("form", {}, h("p", {}, h("strong", {}, q.text)), q.why ? h("p", { class: "why" }, q.why) : null,
      field("Answer", input), h("button", { type: "submit" }, "Record answer"));
    return submitter(form, (d) => post(`${base}/answers`, {
      question_id: q.question_id, value: q.kind === "number" ? Number(d.get("value")) : d.get("value"),
    }), done);
  });
}

function timeline(contacts, cases, base, done) {
  const entries = [
    ...(contacts?.contacts || []).map((c) => ({ at: c.timestamp, text: `${c.direction} ${c.channel} contact${c.topic ? ` on ${c.topic}` : ""}: ${c.outcome ?? "no outcome"}${c.note ? ` — ${c.note}` : ""}` })),
    ...(cases?.cases || []).map((c) => ({ at: c.opened_at, case: c, text: `${c.kind} (${c.category}, severity ${c.severity}): ${c.status}${c.resolution ? ` — ${c.resolution}` : ""}` })),
  ].sort((a, b) => String(b.at).localeCompare(String(a.at)));
  if (!contacts && !cases) return null;
  return card("Timeline", entries.length ? h("ol", { class: "timeline" }, entries.map((e) => h("li", {}, h("span", { class: "muted" }, when(e.at)), " ", e.text,
    e.case && e.case.status === "open" ? [" ", resolveButton(base, e.case, done)] : null))) : h("p", { class: "muted" }, "No contact or case yet."));
}

function resolveButton(base, c, done) {
  return h("button", {
    class: "secondary", type: "button", onclick: async () => {
      await patch(`${base}/cases/${enc(c.case_id)}`, { status: "resolved", resolution: "resolved from the console" });
      await done();
    },
  }, "Resolve");
}

function configsView(base, configs, done) {
  const rows = configs.configurations || [];
  if (!rows.length) return h("p", { class: "muted" }, "None saved.");
  return table("The customer's specs", [
    ["Product", (r) => r.product_id], ["Label", (r) => r.label ?? "—"], ["Code", (r) => h("code", {}, r.code)],
    ["Price", (r) => fmt(r.price), "num"], ["Saved", (r) => when(r.created_at)],
    ["", (r) => h("button", { class: "secondary", type: "button", onclick: async () => { await post(`${base}/configurations`, { code: r.code }); await done(); } }, "Reorder")],
  ], rows);
}

function clean(o) { return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== "" && v !== null && v !== undefined)); }
