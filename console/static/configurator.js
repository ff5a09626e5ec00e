// The configurator as a storefront would use it: option by option, invalid options greyed with
// their reason, conflicts dropped in one click, price and lead time live, save for a customer.
import { ApiError, enc, get, post } from "./api.js";
import { clear, field, fmt, h, kv, problem, table } from "./dom.js";

const state = { product: null, selections: {}, measurements: {}, texts: {} };

export async function configurator(main, [productId]) {
  const { products } = await get("/v1/configurator/products");
  const decode = decodeForm();
  if (!productId) {
    clear(main, h("h1", {}, "Configurator"),
      table("Configurable products", [
        ["Product", (p) => h("a", { href: `#/configurator/${enc(p.product_id)}` }, p.name)],
        ["Kind", (p) => p.kind], ["From", (p) => `${fmt(p.base_price)} ${p.currency}`, "num"],
        ["Variants", (p) => fmt(p.variant_count, 0), "num"],
      ], products), decode);
    return;
  }
  if (state.product?.product_id !== productId) {
    state.product = await get(`/v1/configurator/products/${enc(productId)}`);
    state.selections = {}; state.measurements = {}; state.texts = {};
  }
  const body = h("div", {});
  clear(main, h("h1", {}, state.product.name), h("p", { class: "muted" }, state.product.description), body, decode);
  await step(body);
}

async function step(body) {
  const p = state.product;
  let answer;
  try {
    answer = await post(`/v1/configurator/products/${enc(p.product_id)}/configure`, {
      selections: { ...state.selections, ...state.texts }, measurements: state.measurements,
    });
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    clear(body, problem(e), h("button", { type: "button", onclick: () => { state.selections = {}; state.measurements = {}; step(body); } }, "Start over"));
    return;
  }
  const redo = () => step(body);
  clear(body,
    h("div", { class: "row" },
      h("section", { class: "card", "aria-label": "Choices" }, measurementsForm(p, redo),
        p.attributes.map((a) => attributeView(a, answer.options[a.name] || [], redo)), textsForm(p, answer, redo)),
      h("section", { class: "card", "aria-label": "Your variant" }, summary(p, answer, redo))));
}

function measurementsForm(p, redo) {
  if (!p.measurements.length) return null;
  const form = h("form", {
    onsubmit: (e) => {
      e.preventDefault();
      const d = new FormData(form);
      state.measurements = {};
      for (const m of p.measurements) if (d.get(m.name) !== "") state.measurements[m.name] = Number(d.get(m.name));
      redo();
    },
  }, h("h2", {}, "Measurements"), p.measurements.map((m) =>
    field(`${m.label || m.name} (${m.unit}, ${m.min}–${m.max})`, h("input", {
      name: m.name, type: "number", step: "any", min: m.min, max: m.max, value: state.measurements[m.name] ?? "",
    }))), h("button", { type: "submit" }, "Apply measurements"));
  return form;
}

/** Options as buttons; a long list (Levi's 227 waist/hip sizes) as a drop-down instead. */
function attributeView(a, states, redo) {
  return a.options.length > 24 ? attributeSelect(a, states, redo) : attributeButtons(a, states, redo);
}

function attributeSelect(a, states, redo) {
  const byValue = new Map(states.map((s) => [s.value, s]));
  const chosen = state.selections[a.name] ?? "";
  const valid = a.options.filter((o) => byValue.get(o.value)?.valid || o.value === chosen);
  const control = h("select", {
    name: a.name, onchange: (e) => {
      if (e.target.value) state.selections[a.name] = e.target.value; else delete state.selections[a.name];
      redo();
    },
  }, h("option", { value: "" }, `any (${valid.length} of ${a.options.length} possible)`),
  a.options.map((o) => {
    const s = byValue.get(o.value) || { valid: false, reason: "not available" };
    const ok = s.valid || o.value === chosen;
    return h("option", { value: o.value, selected: o.value === chosen, disabled: !ok },
      ok ? `${o.label}${o.price_delta ? ` (+${fmt(o.price_delta)})` : ""}` : `${o.label}: ${s.reason}`);
  }));
  return h("div", {}, h("h2", {}, a.label), field(`${a.label}: choose`, control));
}

function attributeButtons(a, states, redo) {
  const byValue = new Map(states.map((s) => [s.value, s]));
  const chosen = state.selections[a.name];
  const why = [];
  const buttons = a.options.map((o) => {
    const s = byValue.get(o.value) || { valid: false, reason: "not available" };
    const pressed = chosen === o.value;
    if (!s.valid && !pressed && s.reason) why.push(`${o.label}: ${s.reason}`);
    return h("button", {
      type: "button", class: `opt${s.valid || pressed ? "" : " invalid"}`, "aria-pressed": pressed ? "true" : "false",
      "aria-disabled": s.valid || pressed ? null : "true", title: s.valid ? `${fmt(o.price_delta)} · ${o.lead_time_days} days` : s.reason,
      onclick: () => {
        if (!s.valid && !pressed) return;
        if (pressed) delete state.selections[a.name]; else state.selections[a.name] = o.value;
        redo();
      },
    }, o.label, o.price_delta ? ` (+${fmt(o.price_delta)})` : "");
  });
  return [h("h2", { id: `attr-${a.name}` }, a.label), h("div", { class: "opts", role: "group", "aria-labelledby": `attr-${a.name}` }, buttons),
    why.length ? h("details", { class: "why" }, h("summary", {}, `${why.length} unavailable: why`), h("ul", {}, why.map((w) => h("li", {}, w)))) : null];
}

function textsForm(p, answer, redo) {
  const wanted = p.text_options.filter((t) => (answer.missing || []).includes(t.name) || state.texts[t.name] !== undefined);
  if (!wanted.length) return null;
  const form = h("form", {
    onsubmit: (e) => {
      e.preventDefault();
      const d = new FormData(form);
      for (const t of wanted) { const v = String(d.get(t.name) || ""); if (v) state.texts[t.name] = v; else delete state.texts[t.name]; }
      redo();
    },
  }, h("h2", {}, "Personal text"), wanted.map((t) => field(`${t.label} (up to ${t.max_length})`, h("input", {
    name: t.name, maxlength: t.max_length, value: state.texts[t.name] ?? "",
  }))), h("button", { type: "submit" }, "Apply text"));
  return form;
}

function summary(p, answer, redo) {
  const v = answer.variant;
  const conflicts = answer.conflicts || [];
  return [h("h2", {}, answer.complete ? "Your variant" : "So far"),
    kv([["Variants left", fmt(answer.remaining_variants, 0)],
      v && ["Price", `${fmt(v.price)} ${p.currency}`], v && ["Lead time", `${v.lead_time_days} days`],
      v && ["Code", h("code", {}, v.code)], (answer.missing || []).length && ["Still to choose", answer.missing.join(", ")]]),
    conflicts.length ? h("div", { class: "warn", role: "status" }, h("p", {}, "These choices do not go together:"),
      conflicts.map((c) => h("p", {}, `${c.attribute} = ${c.value}: ${c.reason} `,
        h("button", { type: "button", class: "secondary", onclick: () => { delete state.selections[c.attribute]; if (c.source === "measurements") delete state.measurements[c.attribute]; redo(); } }, `Drop ${c.attribute}`)))) : null,
    answer.suggested && !answer.complete ? h("p", {}, `Suggested: ${fmt(answer.suggested.price)} ${p.currency}, ${answer.suggested.lead_time_days} days `,
      h("button", { type: "button", class: "secondary", onclick: () => { state.selections = { ...answer.suggested.selections }; redo(); } }, "Use the suggestion")) : null,
    v && answer.complete ? saveForm(p, v) : null,
    h("p", {}, h("button", { type: "button", class: "secondary", onclick: () => { state.selections = {}; state.measurements = {}; state.texts = {}; redo(); } }, "Start over"))];
}

function saveForm(p, v) {
  const status = h("div", { role: "status" });
  const form = h("form", {
    onsubmit: async (e) => {
      e.preventDefault();
      const d = new FormData(form);
      try {
        const saved = await post(`/v1/customers/${enc(String(d.get("customer_id")))}/configurations`, {
          product_id: p.product_id, selections: v.selections, measurements: state.measurements, label: String(d.get("label") || "") || undefined,
        });
        clear(status, h("span", { class: "ok" }, `Saved as ${saved.configuration_id} (code ${saved.code}).`));
      } catch (err) { clear(status, err instanceof ApiError ? problem(err) : String(err)); }
    },
  }, h("h2", {}, "Save for a customer"), field("Customer id", h("input", { name: "customer_id", required: true, size: 14 })),
    field("Label", h("input", { name: "label", size: 14 })), h("button", { type: "submit" }, "Save"), status);
  return form;
}

function decodeForm() {
  const out = h("div", { role: "status" });
  const form = h("form", {
    onsubmit: async (e) => {
      e.preventDefault();
      const code = String(new FormData(form).get("code") || "").trim();
      try {
        const d = await get(`/v1/configurator/variants/${enc(code)}`);
        clear(out, kv([["Product", `${d.product_id} v${d.version}`], ["Price", `${fmt(d.price)} ${d.currency}`], ["Lead time", `${d.lead_time_days} days`],
          ...Object.entries(d.selections).map(([k, val]) => [k, val])]));
      } catch (err) { clear(out, err instanceof ApiError ? problem(err) : String(err)); }
    },
  }, h("h2", {}, "Decode a variant code"), field("Variant code", h("input", { name: "code", required: true, size: 32 })),
    h("button", { type: "submit" }, "Decode"), out);
  return h("section", { class: "card", "aria-label": "Decode a variant code" }, form);
}

