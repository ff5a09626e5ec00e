// Building the page from data. Text is always set as text (never parsed as HTML), so a customer
// attribute holding "<script>" is shown as it is written.
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el, ...children) { el.replaceChildren(); append(el, children); return el; }

export function fmt(value, digits = 2) {
  if (value === null || value === undefined) return "—";
  if (typeof value === "number") {
    return value.toLocaleString("en", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
  }
  return String(value);
}

export const pct = (v) => (v === null || v === undefined ? "—" : `${(100 * v).toFixed(1)} %`);
/** A time as "YYYY-MM-DD HH:MM UTC", from RFC 3339 text or epoch seconds. */
export function when(v) {
  if (v === null || v === undefined || v === "") return "—";
  const text = typeof v === "number" ? new Date(v * 1000).toISOString() : String(v);
  return text.replace("T", " ").replace(/:\d\d(\.\d+)?(Z|[+-]00:00)$/, " UTC");
}

/** A table with a caption; `columns` is [[heading, row => cell, "num"?], ...]. */
export function table(caption, columns, rows) {
  return h("table", {},
    h("caption", { class: "muted" }, caption),
    h("thead", {}, h("tr", {}, columns.map(([name, , cls]) => h("th", { scope: "col", class: cls }, name)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, columns.map(([, cell, cls]) => h("td", { class: cls }, cell(r)))))));
}

export function kv(pairs) {
  return h("dl", { class: "kv" }, pairs.filter(Boolean).map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

export function problem(error) {
  const p = error.problem || {};
  const fields = (p.errors || []).map((e) => `${(e.loc || []).join(".")}: ${e.msg}`);
  return h("div", { class: "error", role: "alert" },
    error.status === 401 ? "This key is unknown or revoked: sign in again." :
    error.status === 403 ? `Your key may not do this: ${error.message}.` : error.message,
    fields.length ? h("ul", {}, fields.map((f) => h("li", {}, f))) : null);
}

/** A labelled form control; `control` is an input/select element. */
export function field(text, control) { return h("label", {}, text, control); }

export function select(name, values, current) {
  return h("select", { name }, values.map(([v, text]) => h("option", { value: v, selected: v === current }, text)));
}
