// Model versions (activate, roll back) and A/B experiments with their per-arm reports.
import { ApiError, enc, get, maybe, post } from "./api.js";
import { clear, fmt, h, pct, problem, table, when } from "./dom.js";

export async function models(main) {
  const [list, experiments] = await Promise.all([get("/v1/models"), maybe("/v1/experiments")]);
  const status = h("div", { role: "status" });
  const rerender = () => models(main);
  const metric = (v, name) => {
    const m = v.metrics || {};
    const value = m[name] ?? m.validation?.[name] ?? m.validation?.model?.[name];
    return typeof value === "number" ? fmt(value, 4) : "—";
  };
  clear(main, h("h1", {}, "Models"),
    h("p", {}, `Active version: ${list.active ?? "none"}`), status,
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
    experiments ? experimentsView(experiments) : null);
}

function experimentsView(answer) {
  const list = answer.experiments || (answer.experiment_id ? [answer] : []);
  return [h("h2", {}, "Experiments"), list.length ? list.map((x) => h("section", { class: "card", "aria-label": `Experiment ${x.experiment_id}` },
    h("h3", {}, `${x.experiment_id}${x.status ? ` (${x.status})` : ""}`),
    table("Arms", [["Arm", (a) => a.arm], ["Version", (a) => a.version], ["Split", (a) => pct(a.split), "num"],
      ["Impressions", (a) => fmt(a.impressions ?? a.results?.impressions, 0), "num"],
      ["CTR", (a) => ci(a.ctr ?? a.results?.ctr), "num"]],
    Object.entries(x.arms || {}).map(([arm, version]) => ({ arm, version, split: x.split?.[arm], ...(x.results?.[arm] || {}) }))))) : h("p", { class: "muted" }, "No experiment running.")];
}

function ci(v) {
  if (v === undefined || v === null) return "—";
  if (typeof v === "number") return pct(v);
  return `${pct(v.value ?? v.estimate)} [${pct(v.low ?? v.ci?.[0])}, ${pct(v.high ?? v.ci?.[1])}]`;
}
