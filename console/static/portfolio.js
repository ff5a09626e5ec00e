// The portfolio in pictures: concentration, segments, retention, share of customer, service.
import { get, maybe } from "./api.js";
import { clear, fmt, h, pct, table, when } from "./dom.js";
import { barChart, heatMap, lineChart } from "./charts.js";

const card = (title, ...content) => h("section", { class: "card", "aria-label": title }, h("h2", {}, title), content);

export async function portfolio(main) {
  const [pareto, segments, needs, retention, share, service] = await Promise.all([
    maybe("/v1/insights/pareto"), maybe("/v1/insights/segments"), maybe("/v1/insights/segments?by=needs"),
    maybe("/v1/insights/retention?period=month"), maybe("/v1/insights/share-of-customer"), get("/v1/insights/service"),
  ]);
  clear(main, h("h1", {}, "Portfolio"),
    pareto ? paretoView(pareto) : h("p", { class: "muted" }, "No insights yet: the insights job has not run for this tenant."),
    segments ? segmentViews(segments) : null,
    needs && Object.keys(needs.segments || {}).length ? needsView(needs) : null,
    retention ? retentionView(retention) : null,
    share ? shareView(share) : null,
    serviceView(service));
}

function paretoView(p) {
  const points = p.curve.map((c) => [c.customer_share, c.revenue_share]);
  return card("Revenue concentration",
    h("p", {}, `The top ${pct(p.top_share)} of ${fmt(p.n_customers, 0)} customers bring ${pct(p.top_revenue_share)} of revenue; `,
      `the top ${pct(p.customers_for_80_percent)} bring 80 %. Gini ${fmt(p.gini, 3)}.`),
    lineChart("Pareto curve: share of revenue by share of customers", [
      { name: "revenue share", color: "#1d4ed8", points },
      { name: "equal shares", color: "#6b7280", points: [[0, 0], [1, 1]] },
    ], { xMax: 1, yMax: 1, xFormat: pct, yFormat: pct }),
    table("Pareto curve", [["Top customers", (r) => pct(r.customer_share), "num"], ["Share of revenue", (r) => pct(r.revenue_share), "num"]],
      p.curve.filter((_, i) => i % 4 === 0)));
}

function segmentViews(s) {
  const view = (title, groups) => {
    const rows = Object.entries(groups || {}).map(([name, g]) => ({ name, ...g }));
    return card(title,
      barChart(`${title}: customers`, rows.map((r) => ({ label: r.name, value: r.customers })), { yFormat: (v) => fmt(v, 0) }),
      table(title, [["Segment", (r) => r.name], ["Customers", (r) => fmt(r.customers, 0), "num"],
        ["Revenue", (r) => fmt(r.revenue), "num"], ["CLV", (r) => fmt(r.clv), "num"]], rows));
  };
  return h("div", { class: "row" }, view("By tier", s.by_tier), view("By lifecycle stage", s.by_lifecycle));
}

function needsView(n) {
  const rows = Object.entries(n.segments).map(([segment, g]) => ({ segment, ...g }));
  const tiers = ["MVC", "MGC", "standard", "BZ"];
  return card("Needs segments (value × needs)",
    barChart("Needs segments: customers", rows.map((r) => ({ label: r.label || r.segment, value: r.customers })), { yFormat: (v) => fmt(v, 0) }),
    table("Needs segments", [["Segment", (r) => r.label || r.segment], ["Customers", (r) => fmt(r.customers, 0), "num"],
      ["Revenue", (r) => fmt(r.revenue), "num"], ["CLV", (r) => fmt(r.clv), "num"],
      ...tiers.map((t) => [t, (r) => fmt(r.by_tier?.[t] ?? 0, 0), "num"])], rows));
}

function retentionView(r) {
  const cohorts = r.cohorts || [];
  const width = Math.max(0, ...cohorts.map((c) => (c.retention || []).length));
  const columns = Array.from({ length: width }, (_, j) => `+${j}`);
  return card("Retention by cohort",
    heatMap("Share of each cohort still buying, by period since first purchase", columns,
      cohorts.map((c) => ({ label: c.cohort, cells: c.retention || [] }))),
    table("Cohorts", [["Cohort", (c) => c.cohort], ["Customers", (c) => fmt(c.customers, 0), "num"],
      ...columns.map((name, j) => [name, (c) => pct((c.retention || [])[j]), "num"])], cohorts));
}

function shareView(s) {
  const rows = Object.entries(s.by_tier || {}).map(([tier, v]) => ({ tier, ...v }));
  const change = s.change?.share_of_wallet;
  return card("Share of customer",
    h("p", {}, `Share of wallet ${pct(s.share_of_wallet)} over ${fmt(s.customers, 0)} customers`,
      change !== undefined && change !== null ? ` (${change >= 0 ? "+" : ""}${(100 * change).toFixed(1)} points since the previous run)` : "",
      ` · ${fmt(s.products_per_customer)} products and ${fmt(s.categories_per_customer)} categories per customer`),
    runsView(s.runs || []),
    barChart("Share of wallet by tier", rows.map((r) => ({ label: r.tier, value: r.share_of_wallet ?? 0 })), { yFormat: pct }),
    table("Share of wallet by tier", [["Tier", (r) => r.tier], ["Customers", (r) => fmt(r.customers, 0), "num"],
      ["Spend", (r) => fmt(r.spend), "num"], ["Share of wallet", (r) => pct(r.share_of_wallet), "num"]], rows));
}

function runsView(runs) {
  if (!runs.length) return null;
  const chart = runs.length < 2 ? null : lineChart("Share of wallet across insight runs",
    [{ name: "share of wallet", color: "#166534", points: runs.map((r, j) => [j, r.share_of_wallet ?? 0]) }],
    { yMax: 1, xFormat: (x) => `run ${Math.round(x) + 1}`, yFormat: pct });
  return [chart, table("Share of customer by run", [["Run", (r) => when(r.computed_at)],
    ["Customers", (r) => fmt(r.customers, 0), "num"], ["Spend", (r) => fmt(r.spend), "num"],
    ["Wallet", (r) => fmt(r.wallet), "num"], ["Share of wallet", (r) => pct(r.share_of_wallet), "num"],
    ["Gap", (r) => fmt(r.gap), "num"]], runs)];
}

function serviceView(s) {
  const days = new Map();
  for (const d of s.per_day) days.set(d.date, (days.get(d.date) || 0) + d.opened);
  const perDay = [...days].map(([date, opened]) => ({ date, opened }));
  const tiers = Object.entries(s.by_tier).map(([tier, f]) => ({ tier, ...f }));
  const o = s.overall;
  return card("Service cases",
    h("p", {}, `${fmt(o.cases, 0)} cases (${fmt(o.open, 0)} open, ${fmt(o.complaints, 0)} complaints) · first-contact resolution ${pct(o.first_contact_resolution_rate)}`,
      o.median_hours_to_resolve !== null ? ` · median ${fmt(o.median_hours_to_resolve, 1)} hours to resolve` : ""),
    perDay.length ? barChart("Service cases opened per day", perDay.map((d) => ({ label: d.date, value: d.opened })), { yFormat: (v) => fmt(v, 0), color: "#b45309" }) : null,
    table("By tier", [["Tier", (r) => r.tier], ["Cases", (r) => fmt(r.cases, 0), "num"], ["Open", (r) => fmt(r.open, 0), "num"],
      ["First-contact resolution", (r) => pct(r.first_contact_resolution_rate), "num"],
      ["Median hours to resolve", (r) => fmt(r.median_hours_to_resolve, 1), "num"]], tiers));
}
