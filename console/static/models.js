// Model versions (activate, roll back), their live report, and A/B experiments with per-arm results.
import { ApiError, enc, get, post } from "./api.js";
import { clear, fmt, h, kv, pct, problem, table, when } from "./dom.js";

export async function models(main, [chosen] = []) {
  const [list, report, experiments, detail] = await Promise.all([
    get("/v1/models"), get("/v1/reports/recommendations?by=model_version"), get("/v1/experiments"),
    chosen ? get(`/v1/models/${enc(chosen)}`) : null]);
  const status = h("div", { role: "status" });
  const rerender = () => models(main);
  const metric = (v, name) => {
    const m = v.metrics || {};
    const value = m[name] ?? m.validation?.[name] ?? m.validation?.model?.[name];
    return typeof value === "number" ? fmt(value, 4) : "—";
  };
  clear(main, h("h1", {}, "Models"),
    h("p", {}, `Active version: ${list.active ?? "none"}`), status,
    detail ? detailView(detail) : null,
    table("Versions, newest first", [
      ["Version", (v) => h("a", { href: `#/models/${enc(v.version)}` }, v.version)],
      ["Family", (v) => v.family ?? "—"], ["Created", (v) => when(v.created_at)],
      ["nDCG@10", (v) => metric(v, "ndcg@10"), "num"], ["P@10", (v) => metric(v, "precision@10"), "num"],
      ["", (v) => (v.active ? h("strong", {}, "active") : h("button", {
        type: "button", class: "secondary", onclick: async () => {
          try { await post(`/v1/models/${enc(v.version)}/activate`); await rerender(); } catch (e) {
            clear(status, e instanceof ApiError ? problem(e) : String(e));
          }
        },
      }, list.active && v.created_at < (list.versions.find((x) => x.active)?.created_at ?? 0) ? "Roll back to this" : "Activate"))],
    ], [...list.versions].sort((a, b) => (b.created_at > a.created_at ? 1 : -1))),
    h("h2", {}, "How each version does on live traffic"), reportView(report),
    experimentsView(experiments.experiments || []));
}

const text = (v) => (v === null || v === undefined ? "—" : typeof v === "object" ? JSON.stringify(v) : String(v));

/** One version in full: what it learned from, its validation figures and, for a retrain, how it
 * compared with the version active when it was trained (same validation slice). */
function detailView(d) {
  const metrics = Object.entries(d.metrics || {}).filter(([, v]) => typeof v === "number");
  const validation = d.metrics?.validation;
  const comparison = d.comparison ? Object.entries(d.comparison) : [];
  return h("section", { class: "card", "aria-label": `Version ${d.version}` }, h("h2", {}, `Version ${d.version}${d.active ? " (active)" : ""}`),
    kv([["Family", d.family ?? "—"], ["Parameters", text(d.params)], ["Weighting", text(d.weights)], ["Created", when(d.created_at)],
      d.data && ["Trained on", `${fmt(d.data.n_events, 0)} events, ${fmt(d.data.n_customers, 0)} customers, ${fmt(d.data.n_items, 0)} items`]]),
    metrics.length ? table("Validation metrics", [["Metric", ([k]) => k], ["Value", ([, v]) => fmt(v, 4), "num"]], metrics) : null,
    validation && typeof validation === "object" ? kv(Object.entries(validation).map(([k, v]) => [k, text(v)])) : null,
    comparison.length ? [h("h3", {}, "Compared with the version active when it was trained"),
      kv(comparison.map(([k, v]) => [k, text(v)]))] : h("p", { class: "muted" }, "No comparison recorded (not trained by a retrain)."));
}

function reportView(report) {
  const groups = report.groups || [];
  if (!groups.length) return h("p", { class: "muted" }, "No impressions reported yet.");
  return table(`Recommendation report by ${report.by} (95 % intervals: ${report.methods.rates})`, [
    ["Version or arm", (g) => g.key], ["Impressions", (g) => fmt(g.impressions, 0), "num"],
    ["Clicks", (g) => fmt(g.clicks, 0), "num"], ["CTR", (g) => ci(g.ctr), "num"],
    ["Conversion", (g) => ci(g.conversion_rate), "num"],
    ["Revenue / impression", (g) => `${fmt(g.revenue_per_impression.value)} [${fmt(g.revenue_per_impression.low)}, ${fmt(g.revenue_per_impression.high)}]`, "num"],
  ], groups);
}

function experimentsView(list) {
  const out = h("div", { role: "status" });
  const show = async (id) => {
    try {
      const x = await get(`/v1/experiments/${enc(id)}`);
      clear(out, h("h3", {}, `${x.experiment_id}: ${x.status}${x.promoted ? `, promoted ${x.promoted}` : ""}`),
        table("Arms", [["Arm", (a) => a.arm], ["Version", (a) => a.version], ["Split", (a) => pct(a.split), "num"],
          ["Serving", (a) => (a.status?.serving ? "yes" : `no: ${a.status?.problem ?? "unknown"} (served by ${a.status?.served_by})`)]],
        Object.entries(x.arms).map(([arm, version]) => ({ arm, version, split: x.split[arm], status: x.arm_status[arm] }))),
        reportView(x.results),
        (x.results.comparisons || []).length ? table("Difference with the first arm", [
          ["Arm", (c) => c.variant], ["CTR difference", (c) => ci(c.ctr_difference), "num"],
          ["Conversion difference", (c) => ci(c.conversion_rate_difference), "num"],
        ], x.results.comparisons) : null);
    } catch (err) { clear(out, err instanceof ApiError ? problem(err) : String(err)); }
  };
  const rows = list.map((x) => ({ ...x }));
  return h("section", { class: "card", "aria-label": "Experiments" }, h("h2", {}, "Experiments"),
    rows.length ? table("Experiments, the running one first", [
      ["Experiment", (x) => x.experiment_id], ["Status", (x) => x.status],
      ["Arms", (x) => Object.entries(x.arms).map(([arm, v]) => `${arm}: ${v} (${pct(x.split[arm])})`).join(" · ")],
      ["Started", (x) => when(x.started_at)], ["Ended", (x) => when(x.ended_at)],
      ["Promoted", (x) => x.promoted ?? "—"],
      ["", (x) => h("button", { type: "button", class: "secondary", "aria-label": `Show the results of ${x.experiment_id}`, onclick: () => show(x.experiment_id) }, "Results")],
    ], rows) : h("p", { class: "muted" }, "No experiment yet: start one with PUT /v1/experiments/{id}."),
    out);
}

function ci(v) {
  if (v === undefined || v === null) return "—";
  return `${pct(v.value)} [${pct(v.low)}, ${pct(v.high)}]`;
}
