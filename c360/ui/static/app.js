// The staff workspace: search as you type at #/, the 360 view at #/customer/<id>.
// A client of /graphql (through /ui/graphql, which adds the signed-in person's
// token). Every value from the API is put on the page as text (textContent,
// createTextNode), never parsed as HTML.
import { PURPOSES, WORDS } from "./i18n.js";

const $ = (id) => document.getElementById(id);
const state = {
  lang: localStorage.getItem("c360.lang") === "en" ? "en" : "zh",
  session: null, facets: [], filters: {}, active: -1, hits: [], after: null,
  seq: 0, controller: null, customer: null, timelineSize: 20,
};
const FACETS = [
  ["KIND", "kind", "kind"], ["PROVINCE", "province", "province"], ["CITY", "city", "city"],
  ["TIER", "tier", "tier"], ["LIFECYCLE_STAGE", "lifecycle_stage", "lifecycleStage"],
  ["RISK_LEVEL", "risk_level", "riskLevel"], ["TAGS", "tags", "tag"], ["SOURCE", "source", "source"],
  ["AUTHENTICITY_BAND", "authenticity_band", "authenticityBand"], ["CASE_STATUS", "case_status", "caseStatus"],
];
const CARD_FIELDS = ["phone", "email", "company", "province", "city"];
const DEBOUNCE_MS = 40;

function t(key, vars = {}) {
  const text = WORDS[state.lang][key] ?? WORDS.zh[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ""));
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

class ApiError extends Error {}

async function gql(query, variables = {}, signal = undefined) {
  const response = await fetch("/ui/graphql", {
    method: "POST",
    credentials: "same-origin",
    signal,
    headers: {
      "Content-Type": "application/json",
      "X-CSRF-Token": state.session.csrf,
      "X-Purpose": $("purpose").value,
    },
    body: JSON.stringify({ query, variables }),
  });
  if (response.status === 401) {
    location.assign("/signin");
    throw new ApiError(t("sessionEnded"));
  }
  const body = await response.json();
  if (!response.ok && !body.data) {
    throw new ApiError((body.errors || []).map((e) => e.message).join("; ") || response.statusText);
  }
  return body;
}

function applyLanguage() {
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  const other = state.lang === "zh" ? "English" : "中文";
  $("lang").textContent = other;
  $("lang").setAttribute("aria-label", other);
  document.title = t("title");
}

// ------------------------------------------------------------------ search

const SEARCH = `query Search($q: String, $f: CustomerFilter, $after: String, $facets: [CustomerFacetField!]!) {
  customers(first: 20, search: $q, filter: $f, after: $after) {
    totalCount searchNotes
    pageInfo { hasNextPage endCursor }
    facets(fields: $facets) { field values { value count } }
    edges { score matches { field kind term }
      node { customerId kind displayName tags attributes { name value } } }
  }
}`;

function filterInput() {
  const f = {};
  for (const [key, value] of Object.entries(state.filters)) {
    if (!value) continue;
    f[key] = key === "kind" ? value.toUpperCase() : value;
  }
  return Object.keys(f).length ? f : null;
}

function scheduleSearch() {
  clearTimeout(scheduleSearch.timer);
  scheduleSearch.timer = setTimeout(() => runSearch(false), DEBOUNCE_MS);
}

async function runSearch(more) {
  const q = $("q").value.trim();
  const seq = ++state.seq;
  if (state.controller) state.controller.abort();
  state.controller = new AbortController();
  const facets = state.facets.map(([field]) => field);
  try {
    const body = await gql(
      SEARCH,
      { q: q || null, f: filterInput(), after: more ? state.after : null, facets },
      state.controller.signal,
    );
    if (seq !== state.seq) return;
    const page = body.data?.customers;
    if (!page) throw new ApiError((body.errors || []).map((e) => e.message).join("; "));
    state.after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
    renderResults(page, more);
    renderFacets(page.facets);
    $("results").dataset.renderedFor = q;  // what the list shows (tests and bench/ui.py wait on it)
  } catch (error) {
    if (error.name === "AbortError") return;
    if (seq === state.seq) $("status").textContent = t("failed") + error.message;
  }
}

function highlighted(text, terms) {
  // The text with the first occurrence of each matched term marked.
  const span = el("span");
  const lower = text.toLowerCase();
  let best = null;
  for (const term of terms) {
    const at = term ? lower.indexOf(term.toLowerCase()) : -1;
    if (at >= 0 && (best === null || term.length > best[1])) best = [at, term.length];
  }
  if (best === null) { span.textContent = text; return span; }
  const [at, size] = best;
  span.append(text.slice(0, at), el("mark", { text: text.slice(at, at + size) }), text.slice(at + size));
  return span;
}

function fieldOfMatch(field) {
  if (field.startsWith("name")) return "name";
  if (field.startsWith("email")) return "email";
  if (field.startsWith("company") || field.startsWith("employer")) return "company";
  if (field === "region") return "city";
  return field;
}

function renderResults(page, more) {
  const list = $("results");
  if (!more) { list.replaceChildren(); state.hits = []; state.active = -1; }
  for (const edge of page.edges) {
    const node = edge.node;
    const index = state.hits.length;
    state.hits.push(node.customerId);
    const attrs = Object.fromEntries(node.attributes.map((a) => [a.name, a.value]));
    const matched = new Map();
    for (const m of edge.matches) {
      const f = fieldOfMatch(m.field);
      matched.set(f, [...(matched.get(f) || []), m.term]);
    }
    const name = node.displayName ?? `#${node.customerId}`;
    const title = el("div", { class: "name" },
      matched.has("name") ? highlighted(name, matched.get("name")) : name,
      el("span", { class: "badge", text: t(node.kind.toLowerCase()) }));
    const lines = el("div", { class: "line" });
    for (const field of CARD_FIELDS) {
      const value = attrs[field];
      if (value === undefined || value === null) continue;
      const item = el("span", { "data-field": field, class: matched.has(field) ? "hit" : null },
        `${t(field)}: `);
      item.append(matched.has(field) ? highlighted(value, matched.get(field)) : value, "  ");
      if (field === "phone" && matched.has("phone")) item.querySelector("span")?.classList.add("hit");
      lines.append(item);
    }
    const why = el("div", { class: "why",
      text: `${t("matchedBy")}: ${edge.matches.map((m) => `${m.field} (${m.kind})`).join(", ") || "—"} · ${t("customerNo")} ${node.customerId}` });
    const item = el("li", { id: `hit-${index}`, role: "option", "aria-selected": "false",
      "data-customer": node.customerId }, title, lines, why);
    if (edge.matches.some((m) => m.field === "phone")) lines.querySelector("[data-field=phone]")?.append(el("mark", { text: "✓" }));
    item.addEventListener("click", () => openCustomer(node.customerId));
    list.append(item);
  }
  const notes = page.searchNotes.length ? ` (${page.searchNotes.join("; ")})` : "";
  $("status").textContent = (page.totalCount ? t("found", { n: page.totalCount }) : t("nothing")) + notes;
  $("more").hidden = !state.after;
  $("q").setAttribute("aria-expanded", String(state.hits.length > 0));
}

function renderFacets(facets) {
  const box = $("facet-list");
  box.replaceChildren();
  for (const facet of facets || []) {
    const spec = FACETS.find(([, name]) => name === facet.field);
    if (!spec) continue;
    const [, name, filterKey] = spec;
    const id = `facet-${name}`;
    const select = el("select", { id });
    select.append(el("option", { value: "", text: t("all") }));
    const current = state.filters[filterKey];
    const values = facet.values.slice();
    if (current && !values.some((v) => v.value.toLowerCase() === String(current).toLowerCase())) values.unshift({ value: current, count: 0 });
    for (const v of values) {
      const option = el("option", { value: v.value, text: `${v.value} (${v.count})` });
      if (current && v.value.toLowerCase() === String(current).toLowerCase()) option.selected = true;
      select.append(option);
    }
    select.addEventListener("change", () => {
      state.filters[filterKey] = select.value || null;
      runSearch(false);
    });
    box.append(el("label", { for: id, text: t(name) }), select);
  }
}

function moveActive(delta) {
  if (!state.hits.length) return;
  const items = $("results").children;
  if (state.active >= 0) items[state.active]?.setAttribute("aria-selected", "false");
  state.active = Math.max(0, Math.min(state.hits.length - 1, state.active + delta));
  const item = items[state.active];
  item.setAttribute("aria-selected", "true");
  item.scrollIntoView({ block: "nearest" });
  $("q").setAttribute("aria-activedescendant", item.id);
}

async function probeApi() {
  // Which queries and mutations this API has (introspection of the running
  // schema): a panel whose GraphQL is not there is left off, not guessed at.
  const body = await gql(`query Api { __schema { queryType { fields { name } } mutationType { fields { name } } }
    customerType: __type(name: "Customer") { fields { name } } }`);
  const schema = body.data?.__schema;
  state.api = new Set([...(schema?.queryType?.fields || []), ...(schema?.mutationType?.fields || [])].map((f) => f.name));
  state.customerFields = new Set((body.data?.customerType?.fields || []).map((f) => f.name));
  if (state.api.has("caseWorkflow")) {
    const flow = await gql(`query W { caseWorkflow { state name label open moves supervisorMoves } }`);
    // keyed by the state's value (as moves name it) and its enum name (as a case's state reads)
    state.workflow = new Map((flow.data?.caseWorkflow || []).flatMap((w) => [[w.state, w], [w.name, w]]));
  }
}

async function probeFacets() {
  // Which dimensions this role may count by: the API refuses the others.
  const allowed = [];
  await Promise.all(FACETS.map(async (spec) => {
    const body = await gql(`query F { customers(first: 1) { facets(fields: [${spec[0]}]) { field } } }`);
    if (body.data?.customers) allowed.push(spec);
  }));
  state.facets = FACETS.filter((spec) => allowed.includes(spec));
}

// ------------------------------------------------------------------ 360 view

const CUSTOMER = `query Customer($id: ID!, $events: Int!) {
  customer(id: $id) {
    customerId kind displayName createdAt updatedAt mergedIds tags
    attributes { name value verified conflicting
      lineage { value source stream trust observedAt chosen verified } }
    timeline(first: $events) { origin eventType occurredAt amount currency channel source detail text case { caseId } }
    notes(first: 50) { noteId text author createdAt }
    related(first: 20) { kind direction via basis value node { customerId displayName } }
    sourceRecords { recordId source stream externalId status linkMethod linkScore explanation }
    credit { status grade points basePoints modelVersion computedAt probabilityOfDefault
      reasons { feature text points } creditLimit termsDays measures manualReview
      decisions(first: 5) { decisionId kind measures grade creditLimit termsDays reason decidedBy decidedAt }
      alerts { alertId kind severity message raisedAt } }
    AUTHENTICITY
    VALUE
  }
}`;
const VALUE = `value { status tier stage tierReason stageReason interests recencyDays frequency monetary rfmScore
      repeatRate tenureDays pAlive expectedPurchases90d nextPurchaseAt expectedOrderValue clv12m modelVersion
      csat nps sentiment computedAt timeline(first: 5) { kind fromValue toValue reason at } }`;
const AUTHENTICITY = `authenticity { score band policyVersion computedAt reasons { code weight text attribute }
      flags { flag severity text } consistency { aspect left right verdict detail }
      verifications { attribute status verifiedBy verifiedAt method dueAt outcome } }`;

function customerQuery() {
  // Customer.authenticity where the running API has it (read by introspection).
  return CUSTOMER.replace("AUTHENTICITY", state.customerFields?.has("authenticity") ? AUTHENTICITY : "")
    .replace("VALUE", state.customerFields?.has("value") ? VALUE : "");
}

async function openCustomer(id) {
  location.hash = `#/customer/${id}`;
}

async function showCustomer(id, keepFocus = false) {
  showView("customer-view");
  const body = await gql(customerQuery(), { id: String(id), events: state.timelineSize });
  const c = body.data?.customer;
  if (!c) {
    $("customer-title").textContent = t("nothing");
    $("customer-meta").textContent = (body.errors || []).map((e) => e.message).join("; ");
    return;
  }
  state.customer = c;
  const refused = new Set((body.errors || []).map((e) => (e.path || []).join(".")));
  $("customer-title").textContent = c.displayName ?? `#${c.customerId}`;
  $("customer-meta").textContent = `${t("customerNo")} ${c.customerId} · ${t(c.kind.toLowerCase())} · ${t("updated")} ${c.updatedAt}`
    + (c.mergedIds.length ? ` · ${t("mergedIds")}: ${c.mergedIds.join(", ")}` : "");
  renderMerged(c);
  renderProfile(c, refused);
  renderTags(c.tags);
  renderNotes(c.notes);
  renderTimeline(c.timeline);
  renderRelated(c);
  renderRecords(c);
  renderCredit(c.credit, refused);
  renderAuthenticity(c, refused);
  renderValue(c.value, refused);
  await showConsents(c.customerId);
  await showCustomerCases(c.customerId);
  $("report-card").hidden = !(state.session.reports && readable("background_report"));
  $("report-customer").value = String(c.customerId);
  const can = new Set(state.session.mutations);
  $("tag-form").hidden = !can.has("tag");
  $("note-form").hidden = !can.has("note");
  $("admin").hidden = !can.has("merge");
  if (!keepFocus) $("customer-view").focus();
}

function renderProfile(c, refused) {
  const body = $("profile").tBodies[0];
  body.replaceChildren();
  c.attributes.forEach((a, i) => {
    const value = el("td", { class: "value" });
    if (a.value === null) value.append(el("span", { class: "badge masked", text: t("refused") }));
    else value.append(a.value);
    if (a.verified) value.append(el("span", { class: "badge verified", text: t("verified") }));
    if (a.conflicting) value.append(el("span", { class: "badge conflict", text: t("conflict") }));
    const lineage = el("td", { class: "lineage" });
    for (const l of a.lineage) {
      lineage.append(el("div", { text:
        `${l.chosen ? "★ " : ""}${l.value ?? "—"} · ${l.source ?? ""}/${l.stream ?? ""} · ${t("trust")} ${l.trust ?? ""} · ${l.observedAt ?? ""}` }));
    }
    body.append(el("tr", { "data-field": a.name, "data-refused": refused.has(`customer.attributes.${i}.value`) || null },
      el("th", { scope: "row", text: t(a.name) }), value, lineage));
  });
}

// Customer.credit's fields by the policy row that governs them: a row the
// role may not read is refused by the API and left off the page.
const CREDIT_ROWS = [
  ["credit_grade", ["status", "grade"]], ["credit_score", ["points", "basePoints", "modelVersion", "computedAt"]],
  ["credit_pd", ["probabilityOfDefault"]], ["credit_limit", ["creditLimit", "termsDays"]],
  ["credit_measures", ["measures", "manualReview"]], ["credit_reasons", ["reasons"]],
  ["credit_decisions", ["decisions"]], ["credit_alert", ["alerts"]],
];

function creditText(row, c) {
  switch (row) {
    case "credit_grade": return c.status === "scored" ? c.grade ?? "—" : t(`credit_${c.status}`) ;
    case "credit_score": return c.points === null ? "—" : `${c.points.toFixed(1)} (${t("basePoints")} ${c.basePoints?.toFixed(1) ?? "—"}, ${t("modelVersion")} ${c.modelVersion ?? "—"})`;
    case "credit_pd": return c.probabilityOfDefault === null ? "—" : `${(100 * c.probabilityOfDefault).toFixed(2)}%`;
    case "credit_limit": return c.creditLimit === null ? "—" : `${c.creditLimit.toLocaleString()} · ${c.termsDays ?? "—"} ${t("days")}`;
    case "credit_measures": return `${(c.measures || []).join("、") || t("none")}${c.manualReview ? ` · ${t("manualReview")}` : ""}`;
    default: return null;
  }
}

function renderCredit(credit, refused) {
  const card = $("credit-card");
  const body = $("credit").tBodies[0];
  body.replaceChildren();
  let shown = 0;
  for (const [row, names] of CREDIT_ROWS) {
    if (!credit || names.some((n) => refused.has(`customer.credit.${n}`))) continue;
    shown += 1;
    const cell = el("td", { "data-cell": row });
    const text = creditText(row, credit);
    if (text !== null) cell.textContent = text;
    else if (row === "credit_reasons") {
      cell.append(el("ul", {}, ...(credit.reasons || []).map((r) => el("li", { text: `${r.text}` }))));
    } else if (row === "credit_decisions") {
      // newest first: the first is the decision in force (an override once one is recorded)
      cell.append(el("ul", {}, ...(credit.decisions || []).map((d, i) => el("li", { "data-decision": d.decisionId,
        "data-kind": d.kind, "data-in-force": i === 0 || null, class: i === 0 ? "in-force" : "meta" },
        i === 0 ? el("strong", { class: "badge", text: t("inForce") }) : null,
        `${d.decidedAt} · ${t(d.kind)} · ${d.grade ?? ""} · ${d.creditLimit.toLocaleString()} / ${d.termsDays} ${t("days")}`
        + `${d.measures?.length ? ` · ${d.measures.join("、")}` : ""} · ${d.decidedBy}${d.reason ? ` · ${d.reason}` : ""}`))));
    } else if (row === "credit_alert") {
      cell.append(el("ul", {}, ...(credit.alerts || []).map((a) => el("li", { class: `severity-${a.severity}`, text:
        `${a.raisedAt} · ${a.severity} · ${a.message}` }))));
    }
    if (!cell.textContent) cell.textContent = t("none");
    body.append(el("tr", { "data-row": row }, el("th", { scope: "row", text: t(row) }), cell));
  }
  card.hidden = shown === 0;
  // An override needs a decision to override: offered where the role may run it.
  $("override-form").hidden = card.hidden || !credit?.decisions?.length
    || !(state.api.has("overrideCreditDecision") && new Set(state.session.mutations).has("override_credit"));
}

async function overrideCredit() {
  const status = $("override-status");
  const reason = $("override-reason").value.trim();
  const limit = $("override-limit").value.trim(), terms = $("override-terms").value.trim();
  const measures = $("override-measures").value.split(/[,，、]/).map((m) => m.trim()).filter(Boolean);
  if (!reason) { status.className = "error"; status.textContent = t("failed") + t("needReason"); $("override-reason").focus(); return; }
  if (!limit && !terms && !measures.length) { status.className = "error"; status.textContent = t("failed") + t("needChange"); $("override-limit").focus(); return; }
  const body = await gql(`mutation O($c: ID!, $why: String!, $limit: Float, $terms: Int, $measures: [String!]) {
    overrideCreditDecision(customerId: $c, reason: $why, creditLimit: $limit, termsDays: $terms, measures: $measures) { decisionId } }`,
  { c: String(state.customer.customerId), why: reason, limit: limit ? Number(limit) : null,
    terms: terms ? Number(terms) : null, measures: measures.length ? measures : null });
  if (!body.data?.overrideCreditDecision) { status.className = "error"; status.textContent = t("failed") + errorText(body); return; }
  for (const id of ["override-limit", "override-terms", "override-measures", "override-reason"]) $(id).value = "";
  await showCustomer(state.customer.customerId, true);
  status.className = "ok";
  status.textContent = t("saved");
}

// Customer.value's fields by the policy row that governs them.
const VALUE_ROWS = [
  ["value_tier", ["tier", "stage"]],
  ["value_rfm", ["recencyDays", "frequency", "monetary", "rfmScore", "repeatRate", "tenureDays"]],
  ["value_clv", ["pAlive", "expectedPurchases90d", "nextPurchaseAt", "expectedOrderValue", "clv12m"]],
  ["value_satisfaction", ["csat", "nps", "sentiment"]],
];

function num(v, digits = 1) { return v === null || v === undefined ? "—" : Number(v).toFixed(digits); }

function valueText(row, v) {
  switch (row) {
    case "value_tier": return `${t("tier")} ${v.tier ?? "—"}${v.tierReason ? ` (${v.tierReason})` : ""} · ${t("lifecycle_stage")} ${v.stage ?? "—"}${v.stageReason ? ` (${v.stageReason})` : ""}`;
    case "value_rfm": return `RFM ${v.rfmScore ?? "—"} · R ${num(v.recencyDays, 0)} ${t("days")} · F ${v.frequency ?? "—"} · M ${num(v.monetary, 2)} · ${t("repeatRate")} ${v.repeatRate === null ? "—" : `${(100 * v.repeatRate).toFixed(0)}%`}`;
    case "value_clv": return `CLV 12m ${num(v.clv12m, 2)} · P(alive) ${v.pAlive === null ? "—" : `${(100 * v.pAlive).toFixed(1)}%`} · ${t("expected90")} ${num(v.expectedPurchases90d, 2)} · ${t("nextPurchase")} ${v.nextPurchaseAt?.slice(0, 10) ?? "—"}`;
    case "value_satisfaction": return `CSAT ${num(v.csat)} · NPS ${num(v.nps, 0)} · ${t("sentiment")} ${num(v.sentiment, 2)}`;
    default: return "";
  }
}

function renderValue(v, refused) {
  const body = $("value");
  body.replaceChildren();
  if (!v) { $("value-card").hidden = true; return; }
  for (const [row, names] of VALUE_ROWS) {
    if (names.some((n) => refused.has(`customer.value.${n}`))) continue;
    body.append(el("tr", { "data-row": row }, el("th", { scope: "row", text: t(row) }), el("td", { text: valueText(row, v) })));
  }
  if (v.timeline?.length) {
    body.append(el("tr", { "data-row": "value_changes" }, el("th", { scope: "row", text: t("valueChanges") }),
      el("td", {}, el("ul", {}, ...v.timeline.map((x) => el("li", { text: `${x.at.slice(0, 10)} · ${x.kind} ${x.fromValue ?? "—"} → ${x.toValue} · ${x.reason}` }))))));
  }
  $("value-card").hidden = body.children.length === 0;
}

async function showConsents(customerId) {
  // The customer's consents (compliance, admin) and, for a role that may,
  // recording one: the purpose from the catalogue and the evidence.
  const card = $("consent-card");
  card.hidden = !(state.api.has("customerConsents") && readable("consents"));
  $("consent-form").hidden = card.hidden || !new Set(state.session.mutations).has("record_consent");
  if (card.hidden) return;
  const body = await gql(`query K($c: ID!) { customerConsents(customerId: $c) { id purpose basis evidence recordedBy recordedAt expiresAt revokedAt revokedBy active } }`,
    { c: String(customerId) });
  const list = body.data?.customerConsents;
  const canWithdraw = state.api.has("withdrawConsent") && new Set(state.session.mutations).has("withdraw_consent");
  $("consents").replaceChildren(...(list ? (list.length ? list.map((k) => {
    const item = el("li", { "data-consent": k.id, "data-active": String(k.active), class: k.active ? "" : "meta" },
      `${k.purpose} · ${k.basis} · `, el("span", { class: "consent-evidence", text: k.evidence }),
      ` · ${k.recordedBy} · ${k.recordedAt.slice(0, 10)}${k.expiresAt ? ` → ${k.expiresAt.slice(0, 10)}` : ""}`,
      k.active ? null : el("span", { class: "consent-withdrawn", text: ` · ${t("withdrawn")} ${k.revokedAt?.slice(0, 10) ?? ""}${k.revokedBy ? ` · ${k.revokedBy}` : ""}` }));
    if (k.active && canWithdraw) {
      const button = el("button", { type: "button", class: "withdraw", text: t("withdraw"),
        "aria-label": t("withdrawConsent", { purpose: k.purpose, id: k.id }) });
      button.addEventListener("click", () => withdrawConsent(k.id));
      item.append(" ", button);
    }
    return item;
  }) : [el("li", { text: t("none") })]) : [el("li", { class: "error", text: errorText(body) })]));
}

async function withdrawConsent(id) {
  // Effective from the next request; the record stays in the history, withdrawn.
  const status = $("consent-status");
  const body = await gql(`mutation W($id: Int!) { withdrawConsent(consentId: $id) { id active revokedAt } }`, { id });
  if (!body.data?.withdrawConsent) { status.className = "error"; status.textContent = t("failed") + errorText(body); return; }
  await showConsents(state.customer.customerId);
  status.className = "ok";
  status.textContent = t("consentWithdrawn", { id });
  // the button is gone with the re-rendered list: focus the withdrawn entry
  const item = document.querySelector(`#consents li[data-consent="${id}"]`);
  if (item) { item.setAttribute("tabindex", "-1"); item.focus(); }
}

async function recordConsent() {
  const data = await mutate(`mutation R($c: ID!, $p: String!, $e: String!) { recordConsent(customerId: $c, purpose: $p, evidence: $e) { id } }`,
    { c: String(state.customer.customerId), p: $("consent-purpose").value, e: $("consent-evidence").value });
  if (data?.recordConsent) { $("consent-evidence").value = ""; await showConsents(state.customer.customerId); }
}

function verificationBadge(v) {
  const due = v.dueAt ? ` · ${t("dueAt")} ${v.dueAt.slice(0, 10)}` : "";
  return el("span", { class: `badge verification ${v.status}`, "data-verification": v.attribute,
    text: `${t(`verif_${v.status}`)}${v.method ? ` (${v.method})` : ""}${due}` });
}

function renderAuthenticity(c, refused) {
  // Customer.authenticity by its policy rows: authenticity_score (score,
  // version, time), authenticity_band, authenticity_reasons (reasons, flags,
  // consistency), verification_state (each attribute's verification).
  const card = $("authenticity-card");
  const a = c.authenticity;
  const body = $("authenticity");
  body.replaceChildren();
  if (!a) { card.hidden = true; $("verify-form").hidden = true; return; }
  const ok = (name) => !refused.has(`customer.authenticity.${name}`);
  const rows = [];
  if (ok("band") || ok("score")) {
    const band = ok("band") && a.band ? el("span", { class: `badge band-${a.band}`, text: t(`band_${a.band}`) }) : null;
    const score = ok("score") && a.score !== null ? ` ${a.score}/100` : "";
    const meta = ok("score") && a.computedAt ? el("div", { class: "meta", text: `${a.policyVersion ?? ""} · ${a.computedAt}` }) : null;
    rows.push(["authenticity_score", el("div", {}, a.band === null && a.score === null ? t("notJudged") : "", band, score, meta)]);
  }
  if (ok("reasons") && a.reasons) {
    rows.push(["authenticity_reasons", el("ul", {}, ...a.reasons.map((r) =>
      el("li", { text: `${r.weight > 0 ? "+" : ""}${r.weight} · ${r.text}` })),
      ...(a.flags || []).map((f) => el("li", { class: `flag severity-${f.severity}`, text: `⚑ ${f.severity} · ${f.text}` })))]);
    if (a.consistency?.length) {
      rows.push(["consistency", el("ul", {}, ...a.consistency.map((x) =>
        el("li", { class: `verdict-${x.verdict}`, text: `${x.aspect}: ${x.left} ↔ ${x.right} · ${t(x.verdict)}${x.detail ? ` · ${x.detail}` : ""}` })))]);
    }
  }
  const verifications = ok("verifications") ? a.verifications || [] : null;
  if (verifications) {
    rows.push(["verification_state", verifications.length
      ? el("ul", {}, ...verifications.map((v) => el("li", {}, `${t(v.attribute)} `, verificationBadge(v),
        v.verifiedBy ? el("span", { class: "meta", text: ` ${v.verifiedBy} · ${v.verifiedAt ?? ""}` }) : null)))
      : t("none")]);
    // The badge beside the attribute in the profile too.
    for (const v of verifications.filter((x) => x.status !== "unverified")) $("profile").querySelector(`tr[data-field="${CSS.escape(v.attribute)}"] td.value`)?.append(verificationBadge(v));
  }
  for (const [row, content] of rows) {
    body.append(el("tr", { "data-row": row }, el("th", { scope: "row", text: t(row) }), el("td", {}, content)));
  }
  card.hidden = rows.length === 0;
  const form = $("verify-form");
  form.hidden = !(state.api.has("verifyAttribute") && new Set(state.session.mutations).has("verify"));
  if (!form.hidden) {
    const select = $("verify-attribute");
    const keep = select.value;
    select.replaceChildren(...c.attributes.filter((x) => x.value !== null).map((x) => el("option", { value: x.name, text: t(x.name) })));
    if (keep) select.value = keep;
  }
}

async function verifyAttribute() {
  const data = await mutate(`mutation V($c: ID!, $a: String!, $how: VerificationMethod!, $e: String) {
    verifyAttribute(customerId: $c, attribute: $a, how: $how, evidence: $e) { attribute status } }`,
  { c: String(state.customer.customerId), a: $("verify-attribute").value, how: $("verify-method").value,
    e: $("verify-evidence").value.trim() || null });
  if (data?.verifyAttribute) { $("verify-evidence").value = ""; await showCustomer(state.customer.customerId, true); }
}

function renderMerged(c) {
  // Each id merged into this customer, with an unmerge button for a role that may.
  const can = new Set(state.session.mutations).has("unmerge");
  $("merged").replaceChildren(...c.mergedIds.map((id) => {
    const item = el("li", { "data-merged": id }, el("a", { href: `#/customer/${id}`, text: `#${id}` }));
    if (can) {
      const button = el("button", { type: "button", class: "unmerge", text: t("unmerge"),
        "aria-label": `${t("unmerge")} #${id}` });
      button.addEventListener("click", () => unmerge(id));
      item.append(" ", button);
    }
    return item;
  }));
}

async function unmerge(id) {
  if (!confirm(`${t("unmerge")} #${id}?`)) return;
  const data = await mutate(`mutation U($c: ID!, $why: String) { unmergeCustomer(customerId: $c, reason: $why) { restored { customerId } previous { customerId } } }`,
    { c: String(id), why: "staff workspace" });
  if (data) await showCustomer(state.customer.customerId, true);
}

function renderTags(tags) {
  $("tags").replaceChildren(...(tags.length ? tags.map((tag) => el("li", { text: tag })) : [el("li", { text: t("none") })]));
}

function renderNotes(notes) {
  $("notes").replaceChildren(...notes.map((n) => el("li", { "data-note": n.noteId },
    el("div", { class: "note-text", text: n.text ?? t("refused") }),
    el("div", { class: "meta", text: `${n.author} · ${n.createdAt ?? ""}` }))));
}

function renderTimeline(events) {
  // Events from sources, changes of the customer's cases (linked to the case)
  // and tier and stage transitions, newest first as the API orders them.
  $("timeline").replaceChildren(...events.map((e) => el("li", { "data-origin": e.origin },
    el("strong", { text: `${e.occurredAt ?? ""} ${e.eventType}` }),
    ` · ${e.source}${e.channel ? ` · ${e.channel}` : ""}${e.amount !== null ? ` · ${e.amount} ${e.currency ?? ""}` : ""}`,
    e.detail ? ` · ${e.detail}` : "",
    e.case ? el("a", { href: `#/case/${e.case.caseId}`, text: ` #${e.case.caseId}` }) : null,
    e.text ? el("div", { text: e.text }) : null)));
  $("timeline-more").hidden = events.length < state.timelineSize || state.timelineSize >= 100;
}

function renderRelated(c) {
  const svg = $("graph");
  const ns = "http://www.w3.org/2000/svg";
  svg.replaceChildren();
  const n = c.related.length;
  const center = [160, 100];
  const shape = (tag, attrs) => {
    const node = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    return node;
  };
  c.related.forEach((r, i) => {
    const angle = (2 * Math.PI * i) / Math.max(n, 1);
    const x = center[0] + 110 * Math.cos(angle), y = center[1] + 70 * Math.sin(angle);
    svg.append(shape("line", { x1: center[0], y1: center[1], x2: x, y2: y, stroke: "#888" }));
    svg.append(shape("circle", { cx: x, cy: y, r: 14, fill: "#e8f0fa", stroke: "#0b5cad" }));
    const label = shape("text", { x, y: y + 28, "text-anchor": "middle", "font-size": 11 });
    label.textContent = r.node.displayName ?? `#${r.node.customerId}`;
    svg.append(label);
  });
  svg.append(shape("circle", { cx: center[0], cy: center[1], r: 18, fill: "#0b5cad" }));
  $("related").replaceChildren(...c.related.map((r) => {
    const link = el("a", { href: `#/customer/${r.node.customerId}`, text: r.node.displayName ?? `#${r.node.customerId}` });
    return el("li", {}, link, ` · ${r.kind} · ${r.via}${r.value ? ` (${r.value})` : ""} · ${r.basis}`);
  }));
}

function renderRecords(c) {
  const can = new Set(state.session.mutations);
  $("records").replaceChildren(...c.sourceRecords.map((r) => {
    const item = el("li", { "data-record": r.recordId },
      el("strong", { text: `${r.source}/${r.stream} ${r.externalId ?? ""}` }),
      ` · ${r.linkMethod} · ${r.linkScore.toFixed(2)}`,
      el("div", { class: "meta", text: r.explanation }));
    if (can.has("split") && c.sourceRecords.length > 1) {
      const button = el("button", { type: "button", class: "split", text: t("split") });
      button.addEventListener("click", () => split(r.recordId));
      item.append(button);
    }
    return item;
  }));
}

async function mutate(query, variables) {
  const status = $("action-status");
  try {
    const body = await gql(query, variables);
    if (body.errors?.length) throw new ApiError(body.errors.map((e) => e.message).join("; "));
    status.className = "ok";
    status.textContent = t("saved");
    return body.data;
  } catch (error) {
    status.className = "error";
    status.textContent = t("failed") + error.message;
    return null;
  }
}

async function split(recordId) {
  if (!confirm(t("confirmSplit"))) return;
  const data = await mutate(`mutation S($r: Int!, $why: String) { splitRecord(recordId: $r, reason: $why) { created { customerId } } }`,
    { r: recordId, why: "staff workspace" });
  if (data) await showCustomer(state.customer.customerId, true);
}

async function explainMerge() {
  const other = $("merge-other").value.trim();
  const box = $("merge-explanation");
  box.replaceChildren();
  $("merge-confirm").disabled = true;
  if (!/^[0-9]+$/.test(other)) return;
  const body = await gql(customerQuery(), { id: other, events: 1 });
  const o = body.data?.customer;
  if (!o) { box.append(el("p", { class: "error", text: t("nothing") })); return; }
  const mine = new Map(state.customer.attributes.map((a) => [a.name, new Set(a.lineage.map((l) => l.value).concat(a.value))]));
  const shared = [];
  for (const a of o.attributes) {
    const values = new Set(a.lineage.map((l) => l.value).concat(a.value));
    for (const v of values) if (v !== null && mine.get(a.name)?.has(v)) shared.push([a.name, v]);
  }
  box.append(el("p", { text: `${t("other")}: ${o.displayName ?? ""} (#${o.customerId})` }));
  box.append(await matchExplanation(state.customer.customerId, o.customerId));
  box.append(el("p", { text: shared.length ? t("shared") : t("noShared") }));
  const list = el("ul", { class: "explain" });
  for (const [name, v] of shared) list.append(el("li", { text: `${t(name)}: ${v}` }));
  box.append(list);
  for (const r of o.sourceRecords) box.append(el("div", { class: "meta", text: `${r.source}/${r.stream}: ${r.explanation}` }));
  $("merge-confirm").disabled = false;
}

const MATCH = `query Why($a: ID!, $b: ID!) { matchExplanation(customerId: $a, otherId: $b) {
  probability comparedPairs differentKinds
  pairs { recordId otherRecordId source otherSource probability matchWeight priorWeight
          comparisons { comparison level weight } } } }`;

async function matchExplanation(mine, theirs) {
  // "Why are these the same": the match model's score of each record pair,
  // comparison by comparison (levels and bits; the values are in the profile).
  const section = el("section", { class: "why-same", "aria-label": t("whySame") },
    el("h4", { text: t("whySame") }));
  const body = await gql(MATCH, { a: String(mine), b: String(theirs) });
  const m = body.data?.matchExplanation;
  if (!m) {
    section.append(el("p", { class: "error", text: (body.errors || []).map((e) => e.message).join("; ") }));
    return section;
  }
  if (m.differentKinds) { section.append(el("p", { text: t("differentKinds") })); return section; }
  section.append(el("p", { class: "probability", text: t("matchProbability", { p: (100 * m.probability).toFixed(1) }) }));
  for (const pair of m.pairs.slice(0, 3)) {
    const table = el("table", { class: "pair", "data-pair": `${pair.recordId}-${pair.otherRecordId}` });
    table.append(el("caption", { text:
      `${pair.source} #${pair.recordId} ↔ ${pair.otherSource} #${pair.otherRecordId} · ${(100 * pair.probability).toFixed(1)}% · ${pair.matchWeight.toFixed(1)} bits` }));
    table.append(el("tr", {}, el("th", { scope: "col", text: t("comparison") }),
      el("th", { scope: "col", text: t("level") }), el("th", { scope: "col", text: t("weight") })));
    table.append(el("tr", {}, el("td", { text: t("prior") }), el("td", { text: "" }),
      el("td", { text: pair.priorWeight.toFixed(2) })));
    for (const c of pair.comparisons) {
      table.append(el("tr", { class: c.weight < 0 ? "against" : "for" }, el("td", { text: c.comparison }),
        el("td", { text: c.level }), el("td", { text: (c.weight > 0 ? "+" : "") + c.weight.toFixed(2) })));
    }
    section.append(table);
  }
  return section;
}

// ------------------------------------------------------------------ cases

const CASE_FIELDS = `caseId customerId kind channel category severity state stateLabel owner team region
  openedAt reopenCount sla { state remainingHours due targetHours firstResponseState } description`;

function casesAvailable() {
  return state.api?.has("cases") && readable("case");
}

function slaText(sla) {
  const hours = sla.remainingHours;
  const left = hours < 0 ? t("overdueBy", { h: (-hours).toFixed(1) }) : t("hoursLeft", { h: hours.toFixed(1) });
  return `${t(`sla_${sla.state.toLowerCase()}`)} · ${left}${sla.due ? ` · ${t("due")} ${sla.due}` : ""}`;
}

function caseItem(c, onOpen) {
  const open = el("a", { href: `#/case/${c.caseId}`, text: `#${c.caseId} · ${t(c.kind)} · ${c.category}` });
  if (onOpen) open.addEventListener("click", (event) => { event.preventDefault(); onOpen(c.caseId); });
  return el("li", { "data-case": c.caseId, "data-state": c.state, class: `sla-${c.sla.state.toLowerCase()}` },
    el("div", {}, open, ` · ${c.severity} · `, el("strong", { class: "case-state", text: c.stateLabel }),
      ` · `, el("a", { href: `#/customer/${c.customerId}`, text: `${t("customerNo")} ${c.customerId}` })),
    el("div", { class: "sla", text: slaText(c.sla) }),
    c.description ? el("div", { class: "case-text", text: c.description }) : null,
    el("div", { class: "meta", text: `${c.owner ?? "—"}${c.team ? ` · ${c.team}` : ""} · ${c.openedAt}` }));
}

async function showCustomerCases(customerId) {
  const card = $("cases-card");
  card.hidden = !casesAvailable();
  $("case-form").hidden = card.hidden || !new Set(state.session.mutations).has("open_case");
  if (card.hidden) return;
  const body = await gql(`query C($f: CaseFilter) { cases(filter: $f, first: 20) { totalCount nodes { ${CASE_FIELDS} } } }`,
    { f: { customerId: String(customerId) } });
  const page = body.data?.cases;
  $("customer-cases").replaceChildren(...(page ? (page.nodes.length ? page.nodes.map((c) => caseItem(c)) : [el("li", { text: t("none") })])
    : [el("li", { class: "error", text: errorText(body) })]));
}

async function openCase() {
  const input = {
    customerId: String(state.customer.customerId), kind: $("case-kind").value, channel: $("case-channel").value,
    category: $("case-category").value, severity: $("case-severity").value, description: $("case-text").value,
  };
  const data = await mutate(`mutation O($c: OpenCaseInput!) { openCase(case: $c) { caseId } }`, { c: input });
  // the whole view again: the case is on the customer's timeline as well as in its cases
  if (data?.openCase) { $("case-text").value = ""; await showCustomer(state.customer.customerId, true); }
}

const QUEUES = {
  mine: { mine: true }, team: { myTeams: true }, breaching: { breachingWithinHours: 24 }, all: {},
};

async function showCases(queue = state.queue || "mine") {
  state.queue = queue;
  for (const b of document.querySelectorAll("#cases-view [data-queue]")) b.setAttribute("aria-pressed", String(b.dataset.queue === queue));
  const body = await gql(`query Q($f: CaseFilter) { cases(filter: $f, first: 50) { totalCount nodes { ${CASE_FIELDS} } } }`,
    { f: QUEUES[queue] });
  const page = body.data?.cases;
  if (!page) { $("cases").replaceChildren(); $("cases-status").textContent = t("failed") + errorText(body); return; }
  $("cases-status").textContent = t("casesFound", { n: page.totalCount });
  $("cases").replaceChildren(...page.nodes.map((c) => caseItem(c, (id) => { location.hash = `#/case/${id}`; })));
}

async function showCase(caseId) {
  const body = await gql(`query One($id: Int!) { case(caseId: $id) { ${CASE_FIELDS} yourActions assignees history { at actor action note }
    surveys { requestedAt answeredAt csat recordedBy comment } } }`, { id: caseId });
  const c = body.data?.case;
  const box = $("case-detail");
  box.hidden = false;
  if (!c) {
    $("case-title").textContent = t("nothing"); $("case-status").textContent = errorText(body);
    state.case = null;
    for (const id of ["assign-form", "survey-form", "case-moves"]) $(id).hidden = true;
    return;
  }
  state.case = c;
  $("case-title").textContent = `#${c.caseId} · ${t(c.kind)} · ${c.category} · ${c.stateLabel}`;
  $("case-title").dataset.state = c.state;
  $("case-meta").replaceChildren(`${c.channel} · ${c.severity} · ${c.owner ?? "—"}${c.team ? ` · ${c.team}` : ""} · `,
    el("a", { href: `#/customer/${c.customerId}`, text: `${t("customerNo")} ${c.customerId}` }));
  $("case-sla").textContent = slaText(c.sla);
  $("case-sla").className = `sla-${c.sla.state.toLowerCase()}`;
  $("case-description").textContent = c.description ?? t("refused");
  // What this caller may run on this case, as the API decides it (reassigning and
  // escalating need the case's team's supervisor unless the role sees every row).
  const can = new Set(c.yourActions);
  const step = state.workflow?.get(c.state);
  const buttons = (step?.moves || [])
    .filter((to) => !step.supervisorMoves.includes(to) || can.has("escalate_case"))
    .filter(() => can.has("move_case"))
    .map((to) => {
      const next = state.workflow.get(to);
      const button = el("button", { type: "button", "data-move": to, text: next?.label ?? to });
      button.addEventListener("click", () => moveCase(c.caseId, next?.name ?? to.toUpperCase()));
      return button;
    });
  $("case-moves").replaceChildren($("case-moves-label") ?? el("span", { id: "case-moves-label", text: t("moveTo") }), ...buttons);
  $("case-moves").hidden = buttons.length === 0;
  $("case-history").replaceChildren(...c.history.map((h) => el("li", {},
    el("strong", { text: `${h.at} ${h.action}` }), ` · ${h.actor}`, h.note ? el("div", { text: h.note }) : null)));
  // the staff who would see the case and may work it, offered as the owner is typed
  $("assign-owners").replaceChildren(...(c.assignees || []).map((a) => el("option", { value: a })));
  $("assign-form").hidden = !(state.api.has("assignCase") && can.has("assign_case"));
  $("survey-form").hidden = !(state.api.has("recordSurvey") && can.has("record_survey"));
  const surveys = c.surveys || [];
  $("case-surveys").replaceChildren(...(surveys.length ? surveys.map((v) => el("li", { "data-csat": v.csat ?? "" },
    el("strong", { text: v.csat === null ? t("notAnswered") : `CSAT ${v.csat}` }),
    ` · ${v.answeredAt ?? v.requestedAt}${v.recordedBy ? ` · ${v.recordedBy}` : ""}`,
    v.comment ? el("div", { class: "survey-comment", text: v.comment }) : null)) : [el("li", { text: t("none") })]));
}

async function assignCase() {
  const owner = $("assign-owner").value.trim() || null;
  const team = $("assign-team").value.trim() || null;
  const status = $("case-status");
  if (!owner && !team) { status.textContent = t("failed") + t("needOwner"); $("assign-owner").focus(); return; }
  const caseId = state.case.caseId;
  const body = await gql(`mutation G($id: Int!, $owner: String, $team: String) { assignCase(caseId: $id, owner: $owner, team: $team) { caseId owner team } }`,
    { id: caseId, owner, team });
  if (body.data?.assignCase) {
    $("assign-owner").value = ""; $("assign-team").value = "";
    await showCase(caseId);
    status.textContent = t("saved");
    await showCases();
  } else {
    status.textContent = t("failed") + errorText(body);
  }
}

async function recordSurvey() {
  const caseId = state.case.caseId;
  const before = state.case.state;
  const status = $("case-status");
  const body = await gql(`mutation V($id: Int!, $csat: Int!, $comment: String) { recordSurvey(caseId: $id, csat: $csat, comment: $comment) { caseId state } }`,
    { id: caseId, csat: Number($("survey-csat").value), comment: $("survey-comment").value.trim() || null });
  const done = body.data?.recordSurvey;
  if (done) {
    $("survey-comment").value = "";
    await showCase(caseId);  // a dissatisfied answer reopens the case: the page shows its new state
    status.textContent = done.state !== before ? t("surveyReopened") : t("saved");
    await showCases();
  } else {
    status.textContent = t("failed") + errorText(body);
  }
}

async function moveCase(caseId, stateName) {
  const note = $("case-note").value.trim() || null;
  const body = await gql(`mutation M($id: Int!, $s: CaseState!, $note: String) { moveCase(caseId: $id, state: $s, note: $note) { caseId state } }`,
    { id: caseId, s: stateName, note });
  if (body.data?.moveCase) {
    $("case-note").value = "";
    $("case-status").textContent = t("saved");
    await showCase(caseId);
    await showCases();
  } else {
    $("case-status").textContent = t("failed") + errorText(body);
  }
}

// ------------------------------------------------------------------ work pages

function readable(field) {
  // Whether the session's roles read a policy field at all (the navigation
  // only; every read is still the API's to allow or refuse).
  const access = state.session.fields?.[field];
  return access !== undefined && access !== "hidden";
}

function errorText(body) {
  return (body.errors || []).map((e) => e.message).join("; ");
}

const ALERTS = `query Alerts($state: AlertState!, $after: String) {
  creditAlerts(state: $state, first: 50, after: $after) { totalCount hasNextPage endCursor
    nodes { alertId customerId kind severity message raisedAt acknowledged acknowledgedAt
            acknowledgedBy acknowledgement } } }`;

async function showAlerts() {
  const body = await gql(ALERTS, { state: $("alert-state").value });
  const page = body.data?.creditAlerts;
  const list = $("alerts");
  list.replaceChildren();
  if (!page) { $("alerts-status").textContent = t("failed") + errorText(body); return; }
  $("alerts-status").textContent = t("alertsFound", { n: page.totalCount });
  const canAck = new Set(state.session.mutations).has("acknowledge_alert");
  for (const a of page.nodes) {
    const item = el("li", { "data-alert": a.alertId, class: `severity-${a.severity}` },
      el("div", {}, el("strong", { text: `${a.severity} · ${a.kind}` }), ` · ${a.raisedAt} · `,
        el("a", { href: `#/customer/${a.customerId}`, text: `${t("customerNo")} ${a.customerId}` })),
      el("div", { class: "alert-message", text: a.message }));
    if (a.acknowledged) {
      item.append(el("div", { class: "meta", text:
        `${t("acknowledged")} · ${a.acknowledgedBy ?? ""} · ${a.acknowledgedAt ?? ""}${a.acknowledgement ? ` · ${a.acknowledgement}` : ""}` }));
    } else if (canAck) {
      const id = `ack-${a.alertId}`;
      const form = el("form", { class: "inline" },
        el("label", { for: id, text: t("ackNote") }), el("input", { id, maxlength: 1000 }),
        el("button", { type: "submit", text: t("acknowledge") }));
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const note = form.querySelector("input").value.trim() || null;
        const done = await gql(`mutation A($id: Int!, $note: String) { acknowledgeAlert(alertId: $id, note: $note) { alertId acknowledged } }`,
          { id: a.alertId, note });
        if (done.data?.acknowledgeAlert) { $("alerts-status").textContent = t("saved"); await showAlerts(); }
        else $("alerts-status").textContent = t("failed") + errorText(done);
      });
      item.append(form);
    }
    list.append(item);
  }
}

const QUALITY = `query Q($fresh: Boolean!) { dataQuality(fresh: $fresh) { generatedAt records accepted quarantined refusedValues customers conflictingCustomers
  completeness { source kind attribute records present rate }
  refusals { scope source field reason count }
  freshness { source connector records lastRunAt lastRunStatus lastSuccessAt hoursSinceSuccess newestRecordAt } } }`;

function svgNode(tag, attrs = {}) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

function barChart(label, bars, format) {
  // Horizontal bars drawn as SVG elements (no inline style, no markup from
  // data: every label is a text node), with a table of the same figures for
  // screen readers and copying.
  const max = Math.max(...bars.map((b) => b.value), 0) || 1;
  const row = 22, left = 300, width = 560;
  const height = Math.max(1, bars.length) * row + 4;
  const svg = svgNode("svg", { role: "img", "aria-label": label, viewBox: `0 0 ${left + width + 80} ${height}`,
    width: "100%", class: "chart", preserveAspectRatio: "xMinYMin meet" });
  const short = (text) => (text.length > 40 ? `${text.slice(0, 39)}…` : text);
  bars.forEach((b, i) => {
    const y = i * row + 2;
    const name = svgNode("text", { x: left - 6, y: y + 15, "text-anchor": "end", class: "chart-label" });
    name.textContent = short(b.label);
    const full = svgNode("title"); full.textContent = b.label; name.append(full);
    const bar = svgNode("rect", { x: left, y, height: row - 6, width: Math.max(1, (width * b.value) / max),
      class: `bar ${b.tone ?? ""}`, "data-label": b.label, "data-value": b.value });
    const tip = svgNode("title"); tip.textContent = `${b.label}: ${format(b.value)}`; bar.append(tip);
    const value = svgNode("text", { x: left + Math.max(1, (width * b.value) / max) + 4, y: y + 15, class: "chart-value" });
    value.textContent = format(b.value);
    svg.append(name, bar, value);
  });
  const table = el("table", { class: "visually-hidden" },
    el("caption", { text: label }),
    ...bars.map((b) => el("tr", {}, el("th", { scope: "row", text: b.label }), el("td", { text: format(b.value) }))));
  return el("figure", { class: "figure" }, svg, table,
    bars.length ? null : el("figcaption", { text: t("none") }));
}

async function showQuality(fresh = false) {
  // The server keeps the report a few minutes (it reads every record): its time
  // is shown, and 重新计算 asks for one computed now.
  const body = await gql(QUALITY, { fresh });
  const q = body.data?.dataQuality;
  for (const id of ["completeness-chart", "refusals-chart", "freshness-chart", "quality-totals"]) $(id).replaceChildren();
  if (!q) { $("quality-status").textContent = t("failed") + errorText(body); return; }
  $("quality-status").textContent = `${t("generatedAt")} ${q.generatedAt}`;
  const totals = [["records", q.records], ["accepted", q.accepted], ["quarantined", q.quarantined],
    ["refusedValues", q.refusedValues], ["customers", q.customers], ["conflictingCustomers", q.conflictingCustomers]];
  $("quality-totals").append(...totals.map(([k, v]) => el("div", {}, el("dt", { text: t(k) }), el("dd", { "data-total": k, text: String(v) }))));
  // Completeness per source: the share of its records' attributes present.
  const bySource = new Map();
  for (const c of q.completeness) {
    const s = bySource.get(c.source) || { present: 0, slots: 0 };
    s.present += c.present; s.slots += c.records;
    bySource.set(c.source, s);
  }
  const pct = (v) => `${(100 * v).toFixed(1)}%`;
  $("completeness-chart").append(barChart(t("completeness"),
    [...bySource].map(([source, s]) => ({ label: source, value: s.slots ? s.present / s.slots : 0 })), pct));
  const reasons = new Map();
  for (const r of q.refusals) reasons.set(`${r.reason}`, (reasons.get(r.reason) || 0) + r.count);
  $("refusals-chart").append(barChart(t("refusals"),
    [...reasons].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([reason, n]) => ({ label: reason, value: n, tone: "warn" })), String));
  $("freshness-chart").append(barChart(t("freshness"),
    q.freshness.map((f) => ({ label: `${f.source}`, value: f.hoursSinceSuccess ?? 0,
      tone: f.lastRunStatus === "failed" ? "warn" : "" })), (v) => `${v.toFixed(1)} h`));
}

const SEGMENTS = `query S { segments { segmentId name description members evaluatedAt runs { at members joined left } } }`;

function csvCell(value) {
  const text = String(value ?? "");
  // Quoted, and a leading = + - @ defused, so a spreadsheet never runs a cell as a formula.
  return `"${(/^[=+\-@]/.test(text) ? `'${text}` : text).replace(/"/g, '""')}"`;
}

const MEMBER_COLUMNS = ["customerId", "kind", "name", "phone", "email", "province", "city", "tier", "stage", "rfmScore", "monetary", "clv12m", "pAlive"];
// `excluded` is counted over the whole list: asked on the first page only.
const MEMBERS = `query M($id: Int!, $after: String, $whole: Boolean!) { segmentMembers(segmentId: $id, purpose: "marketing", first: 100, after: $after) {
  excluded @include(if: $whole) endCursor hasNextPage nodes { ${MEMBER_COLUMNS.join(" ")} } } }`;

// A segment's campaign list as the server serves it: marketing consent only,
// masked for the signed-in role, every clear value audited with the purpose.
async function exportMembers(segment, button) {
  button.disabled = true;
  try {
    const lines = [MEMBER_COLUMNS.map(csvCell).join(",")];
    let after = null, page = null, excluded = {};
    do {
      const body = await gql(MEMBERS, { id: segment.segmentId, after, whole: after === null });
      page = body.data?.segmentMembers;
      if (!page) { $("segments-status").textContent = t("failed") + errorText(body); return; }
      if (after === null) excluded = page.excluded || {};
      for (const m of page.nodes) lines.push(MEMBER_COLUMNS.map((c) => csvCell(m[c])).join(","));
      after = page.endCursor;
    } while (page.hasNextPage);
    const left = Object.values(excluded).reduce((a, b) => a + b, 0);
    const link = el("a", { href: URL.createObjectURL(new Blob(["\ufeff" + lines.join("\r\n") + "\r\n"], { type: "text/csv;charset=utf-8" })),
      download: `segment-${segment.segmentId}-members.csv` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
    $("segments-status").textContent = t("membersExported", { name: segment.name, n: lines.length - 1, left });
  } finally {
    button.disabled = false;
  }
}

async function showSegments() {
  const body = await gql(SEGMENTS);
  const list = body.data?.segments;
  const rows = $("segments").tBodies[0];
  rows.replaceChildren();
  $("segments-chart").replaceChildren();
  if (!list) { $("segments-status").textContent = t("failed") + errorText(body); return; }
  $("segments-status").textContent = t("segmentsFound", { n: list.length });
  for (const g of list) {
    const exportList = el("button", { type: "button", class: "members-export", text: t("membersCsv") });
    exportList.addEventListener("click", () => exportMembers(g, exportList));
    rows.append(el("tr", { "data-segment": g.name }, el("th", { scope: "row", text: g.name }),
      el("td", { class: "members", text: g.members === null ? "—" : String(g.members) }),
      el("td", { text: g.evaluatedAt ?? "—" }), el("td", { text: g.description }), el("td", {}, exportList)));
  }
  $("segments-chart").append(barChart(t("members"), list.map((g) => ({ label: g.name, value: g.members ?? 0 })), String));
  const lines = [["segment", "members", "evaluated_at", "run_at", "run_members", "joined", "left"].map(csvCell).join(",")];
  for (const g of list) {
    for (const r of g.runs.length ? g.runs : [{}]) {
      lines.push([g.name, g.members, g.evaluatedAt, r.at, r.members, r.joined, r.left].map(csvCell).join(","));
    }
  }
  const link = $("segments-export");
  if (link.href.startsWith("blob:")) URL.revokeObjectURL(link.href);
  link.href = URL.createObjectURL(new Blob(["\ufeff" + lines.join("\r\n") + "\r\n"], { type: "text/csv;charset=utf-8" }));
}

async function showPrivacy() {
  const body = await gql(`query P($open: Boolean!) { privacyRequests(openOnly: $open, first: 100) {
    id customerId kind status receivedAt dueAt completedAt overdue requestedBy } }`, { open: $("privacy-open").checked });
  const list = body.data?.privacyRequests;
  const rows = $("privacy").tBodies[0];
  rows.replaceChildren();
  if (!list) { $("privacy-status").textContent = t("failed") + errorText(body); return; }
  const work = privacyCan();
  $("privacy-status").textContent = t("requestsFound", { n: list.length, late: list.filter((r) => r.overdue).length });
  for (const r of list) {
    rows.append(el("tr", { "data-request": r.id, class: r.overdue ? "overdue" : "" },
      el("td", { text: String(r.id) }), el("td", {}, el("a", { href: `#/customer/${r.customerId}`, text: String(r.customerId) })),
      el("td", { text: r.kind }), el("td", { text: r.status + (r.overdue ? ` · ${t("overdue")}` : "") }),
      el("td", { text: r.receivedAt.slice(0, 10) }), el("td", { text: r.dueAt.slice(0, 10) }), el("td", { text: r.requestedBy }),
      el("td", {}, work ? workButton(r) : null)));
  }
}

function workButton(r) {
  // Fills the actions' customer id with the request's and moves focus there.
  const button = el("button", { type: "button", class: "work-on", text: t("handle"),
    "aria-label": `${t("handle")} #${r.id} (${t("customerNo")} ${r.customerId})` });
  button.addEventListener("click", () => {
    $("privacy-customer").value = String(r.customerId);
    // An export or erasure of this customer now carries out this request (closing it).
    state.privacyRequest = r.status === "open" ? r : null;
    if (state.privacyRequest) privacySaid(t("handlingRequest", { id: r.id, kind: r.kind }), false);
    if (r.kind === "restriction" && r.status === "open") $("privacy-lift").focus();
    else $("privacy-customer").focus();
  });
  return button;
}

const CASES_REPORT = `query R($days: Int!) { casesReport(days: $days) { since until total
  byCategory { key count } byChannel { key count } byRegion { key count } byMonth { key count }
  slaAttainment firstResponseAttainment medianFirstResponseHours medianResolutionHours csatMean csatAnswers
  repeatComplainants risingCategories { category later earlier } } }`;

function countTable(id, caption, rows, columns) {
  // A visible table of the figures (the charts' data too); every cell is text.
  return el("table", { id, class: "data" }, el("caption", { text: caption }),
    el("thead", {}, el("tr", {}, ...columns.map((c) => el("th", { scope: "col", text: c })))),
    el("tbody", {}, ...(rows.length ? rows.map((r) => el("tr", { "data-key": r[0] },
      el("th", { scope: "row", text: String(r[0]) }), ...r.slice(1).map((v) => el("td", { text: String(v) }))))
      : [el("tr", {}, el("td", { colspan: columns.length, text: t("none") }))])));
}

async function showCasesReport() {
  const days = Number($("report-days").value);
  const status = $("cases-report-status");
  $("cases-report-totals").replaceChildren();
  $("cases-report-tables").replaceChildren();
  if (!Number.isInteger(days) || days < 1 || days > 3660) { status.textContent = t("failed") + "days: 1–3660"; return; }
  $("report-csv").disabled = true;
  const body = await gql(CASES_REPORT, { days });
  const r = body.data?.casesReport;
  if (!r) { status.textContent = t("failed") + errorText(body); return; }
  state.casesReport = r;
  $("report-csv").disabled = false;
  status.textContent = t("reportPeriod", { since: r.since.slice(0, 10), until: r.until.slice(0, 10) });
  const pct = (v) => (v === null ? "—" : `${(100 * v).toFixed(1)}%`);
  const totals = [["reportTotal", String(r.total)], ["slaAttainment", pct(r.slaAttainment)],
    ["firstResponseAttainment", pct(r.firstResponseAttainment)], ["medianFirstResponse", num(r.medianFirstResponseHours)],
    ["medianResolution", num(r.medianResolutionHours)], ["csatMean", num(r.csatMean, 2)], ["csatAnswers", String(r.csatAnswers)],
    ["repeatComplainants", String(r.repeatComplainants)]];
  $("cases-report-totals").append(...totals.map(([k, v]) => el("div", {}, el("dt", { text: t(k) }), el("dd", { "data-total": k, text: v }))));
  const box = $("cases-report-tables");
  for (const [key, list] of [["byCategory", r.byCategory], ["byChannel", r.byChannel], ["byRegion", r.byRegion], ["byMonth", r.byMonth]]) {
    const rows = key === "byMonth" ? list : list.slice().sort((a, b) => b.count - a.count);
    // the bars repeat the visible table's figures: hidden from screen readers, which read the table
    const chart = rows.length ? barChart(t(key), rows.map((c) => ({ label: c.key, value: c.count })), String) : null;
    chart?.setAttribute("aria-hidden", "true");
    box.append(el("section", { class: "card", "data-dimension": key }, el("h3", { text: t(key) }), chart,
      countTable(`report-${key}`, t(key), rows.map((c) => [c.key, c.count]), [t("reportKey"), t("count")])));
  }
  box.append(el("section", { class: "card", "data-dimension": "rising" }, el("h3", { text: t("risingCategories") }),
    countTable("report-rising", t("risingCategories"), r.risingCategories.map((c) => [c.category, c.later, c.earlier]),
      [t("category"), t("later"), t("earlier")])));
}

// The report as one CSV (section, key, value, earlier): the totals, then each
// dimension's counts and the rising categories, for a spreadsheet.
function exportCasesReport() {
  const r = state.casesReport;
  if (!r) return;
  const rows = [["section", "key", "value", "earlier"], ["period", r.since, r.until, ""]];
  for (const k of ["total", "slaAttainment", "firstResponseAttainment", "medianFirstResponseHours",
    "medianResolutionHours", "csatMean", "csatAnswers", "repeatComplainants"]) rows.push(["total", k, r[k] ?? "", ""]);
  for (const k of ["byCategory", "byChannel", "byRegion", "byMonth"]) for (const c of r[k]) rows.push([k, c.key, c.count, ""]);
  for (const c of r.risingCategories) rows.push(["risingCategories", c.category, c.later, c.earlier]);
  const link = el("a", { href: URL.createObjectURL(new Blob(["\ufeff" + rows.map((row) => row.map(csvCell).join(",")).join("\r\n") + "\r\n"],
    { type: "text/csv;charset=utf-8" })), download: `cases-report-${r.since.slice(0, 10)}-${r.until.slice(0, 10)}.csv` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
}

// The privacy page's actions on one customer: each is a GraphQL mutation the
// API decides (policy, purpose, audit); its refusal is shown as the API words it.
function privacyTarget() {
  const id = $("privacy-customer").value.trim();
  if (!/^[0-9]+$/.test(id)) { privacySaid(t("needCustomer"), true); $("privacy-customer").focus(); return null; }
  return id;
}

function privacySaid(text, failed) {
  const status = $("privacy-action-status");
  status.className = failed ? "error" : "ok";
  status.textContent = failed ? t("failed") + text : text;
}

async function privacyAction(query, variables, done) {
  const body = await gql(query, variables);
  const data = body.data && Object.values(body.data)[0];
  if (data === null || data === undefined || body.errors?.length) { privacySaid(errorText(body), true); return null; }
  privacySaid(done(data), false);
  await showPrivacy();
  return data;
}

function reasonOrNull() { return $("privacy-reason").value.trim() || null; }

function requestBeingHandled(kind, customerId) {
  // The open request picked from the list, if it asks for this action on this customer.
  const r = state.privacyRequest;
  return r && r.kind === kind && String(r.customerId) === String(customerId) ? r.id : null;
}

async function privacyOpen() {
  const c = privacyTarget(); if (!c) return;
  await privacyAction(`mutation P($c: ID!, $k: String!, $why: String) { openPrivacyRequest(customerId: $c, kind: $k, reason: $why) { id kind } }`,
    { c, k: $("privacy-kind").value, why: reasonOrNull() }, (r) => t("requestOpened", { id: r.id, kind: r.kind }));
}

async function privacyExport() {
  const c = privacyTarget(); if (!c) return;
  const data = await privacyAction(`mutation E($c: ID!, $r: Int) { exportPerson(customerId: $c, requestId: $r) { requestId rows package } }`,
    { c, r: requestBeingHandled("export", c) }, (r) => t("personExported", { rows: r.rows, id: r.requestId }));
  if (!data) return;
  // Offered as a download built in the page (as the segments CSV is): nothing is rendered.
  const link = el("a", { href: URL.createObjectURL(new Blob([JSON.stringify(data.package, null, 2)], { type: "application/json;charset=utf-8" })),
    download: `person-${c}-export.json` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
}

async function privacyRestrict() {
  const c = privacyTarget(); if (!c) return;
  await privacyAction(`mutation R($c: ID!, $why: String) { restrictPerson(customerId: $c, reason: $why) { id } }`,
    { c, why: reasonOrNull() }, (r) => t("personRestricted", { id: r.id }));
}

async function privacyLift() {
  const c = privacyTarget(); if (!c) return;
  await privacyAction(`mutation L($c: ID!, $why: String) { liftRestriction(customerId: $c, reason: $why) }`,
    { c, why: reasonOrNull() }, (n) => t("restrictionLifted", { n }));
}

function privacyEraseAsk() {
  // Erasure is final: a reason first, then a second, explicit step (focus on Cancel).
  const c = privacyTarget(); if (!c) return;
  const reason = reasonOrNull();
  if (!reason) { privacySaid(`reason: ${t("needReason")}`, true); $("privacy-reason").focus(); return; }
  state.erase = { c, reason, request: requestBeingHandled("erasure", c) };
  $("erase-warning").textContent = t("eraseWarning", { id: c, reason });
  $("erase-confirm").hidden = false;
  $("erase-cancel").focus();
}

function privacyEraseCancel() {
  state.erase = null;
  $("erase-confirm").hidden = true;
  $("privacy-erase").focus();
}

async function privacyEraseGo() {
  const ask = state.erase;
  if (!ask) return;
  // the id and reason the warning named, even if the fields were edited since
  state.erase = null;
  $("erase-confirm").hidden = true;
  await privacyAction(`mutation X($c: ID!, $why: String, $r: Int) { erasePerson(customerId: $c, confirm: true, reason: $why, requestId: $r) { requestId rowsRemoved suppressedIdentifiers } }`,
    { c: ask.c, why: ask.reason, r: ask.request }, (r) => t("personErased", { rows: r.rowsRemoved, ids: r.suppressedIdentifiers, id: r.requestId }));
  $("privacy-erase").focus();
}

function privacyCan() {
  const can = new Set(state.session.mutations);
  const has = (api, mutation) => state.api.has(api) && can.has(mutation);
  const shown = {
    "privacy-open-group": has("openPrivacyRequest", "open_privacy_request"),
    "privacy-export": has("exportPerson", "export_person"),
    "privacy-restrict": has("restrictPerson", "restrict_person"),
    "privacy-lift": has("liftRestriction", "lift_restriction"),
    "privacy-erase": has("erasePerson", "erase_person"),
  };
  for (const [id, on] of Object.entries(shown)) $(id).hidden = !on;
  $("privacy-actions").hidden = !Object.values(shown).some(Boolean);
  return !$("privacy-actions").hidden;
}

// ------------------------------------------------------------------ routing

const VIEWS = ["search-view", "customer-view", "cases-view", "cases-report-view", "alerts-view", "quality-view", "segments-view", "privacy-view"];

function showView(id) {
  for (const view of VIEWS) $(view).hidden = view !== id;
  for (const link of document.querySelectorAll("#nav a")) {
    if (`${link.dataset.page}-view` === id) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

function route() {
  const match = /^#\/customer\/(\d+)$/.exec(location.hash);
  if (match) {
    state.timelineSize = 20;
    showView("customer-view");
    showCustomer(match[1]);
  } else if (location.hash === "#/cases" || /^#\/case\/\d+$/.test(location.hash)) {
    showView("cases-view");
    const one = /^#\/case\/(\d+)$/.exec(location.hash);
    if (one) showCase(Number(one[1])).then(() => $("case-detail").focus());
    else { $("case-detail").hidden = true; $("cases-view").focus(); }
    showCases();
  } else if (location.hash === "#/cases-report") {
    showView("cases-report-view");
    $("cases-report-view").focus();
    showCasesReport();
  } else if (location.hash === "#/alerts") {
    showView("alerts-view");
    $("alerts-view").focus();
    showAlerts();
  } else if (location.hash === "#/segments") {
    showView("segments-view");
    $("segments-view").focus();
    showSegments();
  } else if (location.hash === "#/privacy") {
    showView("privacy-view");
    $("privacy-view").focus();
    showPrivacy();
  } else if (location.hash === "#/quality") {
    showView("quality-view");
    $("quality-view").focus();
    showQuality();
  } else {
    showView("search-view");
    $("q").focus();
  }
}

async function main() {
  const response = await fetch("/ui/session", { credentials: "same-origin" });
  if (!response.ok) { location.assign("/signin"); return; }
  state.session = await response.json();
  $("signout-csrf").value = state.session.csrf;
  $("report-csrf").value = state.session.csrf;
  $("who").textContent = `${state.session.subject.replace(/^staff:/, "")} · ${state.session.roles.join(", ")}${state.session.regions.length ? ` · ${state.session.regions.join(", ")}` : ""}`;
  const purpose = $("purpose");
  for (const p of PURPOSES) purpose.append(el("option", { value: p, text: p }));
  applyLanguage();
  $("lang").addEventListener("click", () => {
    state.lang = state.lang === "zh" ? "en" : "zh";
    localStorage.setItem("c360.lang", state.lang);
    applyLanguage();
    if (!$("customer-view").hidden && state.customer) showCustomer(state.customer.customerId, true);
    else if (!$("cases-report-view").hidden) showCasesReport();  // its headings are drawn in script
    else runSearch(false);
  });
  purpose.addEventListener("change", () => route());
  const q = $("q");
  q.addEventListener("input", scheduleSearch);
  q.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown") { event.preventDefault(); moveActive(1); }
    else if (event.key === "ArrowUp") { event.preventDefault(); moveActive(-1); }
    else if (event.key === "Enter" && state.active >= 0) { event.preventDefault(); openCustomer(state.hits[state.active]); }
    else if (event.key === "Escape") { q.value = ""; scheduleSearch(); }
  });
  $("more").addEventListener("click", () => runSearch(true));
  $("clear-filters").addEventListener("click", () => {
    state.filters = {};
    $("only-conflicting").checked = false;
    runSearch(false);
  });
  $("only-conflicting").addEventListener("change", (event) => {
    state.filters.conflicting = event.target.checked || null;
    runSearch(false);
  });
  $("timeline-more").addEventListener("click", () => {
    state.timelineSize = Math.min(100, state.timelineSize + 20);
    showCustomer(state.customer.customerId, true);
  });
  $("tag-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = await mutate(`mutation T($c: ID!, $tag: String!) { tagCustomer(customerId: $c, tag: $tag) { tags } }`,
      { c: String(state.customer.customerId), tag: $("tag-input").value });
    if (data?.tagCustomer) { renderTags(data.tagCustomer.tags); $("tag-input").value = ""; }
  });
  $("note-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = await mutate(`mutation N($c: ID!, $text: String!) { addNote(customerId: $c, text: $text) { noteId } }`,
      { c: String(state.customer.customerId), text: $("note-input").value });
    if (data) { $("note-input").value = ""; await showCustomer(state.customer.customerId, true); }
  });
  $("alert-state").addEventListener("change", showAlerts);
  for (const b of document.querySelectorAll("#cases-view [data-queue]")) b.addEventListener("click", () => showCases(b.dataset.queue));
  $("case-form").addEventListener("submit", (event) => { event.preventDefault(); openCase(); });
  $("verify-form").addEventListener("submit", (event) => { event.preventDefault(); verifyAttribute(); });
  $("privacy-open").addEventListener("change", showPrivacy);
  $("privacy-open-request").addEventListener("click", privacyOpen);
  $("privacy-export").addEventListener("click", privacyExport);
  $("privacy-restrict").addEventListener("click", privacyRestrict);
  $("privacy-lift").addEventListener("click", privacyLift);
  $("privacy-erase").addEventListener("click", privacyEraseAsk);
  $("erase-cancel").addEventListener("click", privacyEraseCancel);
  $("erase-go").addEventListener("click", privacyEraseGo);
  $("report-period").addEventListener("submit", (event) => { event.preventDefault(); showCasesReport(); });
  $("report-csv").addEventListener("click", exportCasesReport);
  $("quality-fresh").addEventListener("click", () => showQuality(true));
  $("assign-form").addEventListener("submit", (event) => { event.preventDefault(); assignCase(); });
  $("survey-form").addEventListener("submit", (event) => { event.preventDefault(); recordSurvey(); });
  $("override-form").addEventListener("submit", (event) => { event.preventDefault(); overrideCredit(); });
  $("consent-form").addEventListener("submit", (event) => { event.preventDefault(); recordConsent(); });
  for (const p of PURPOSES) $("consent-purpose").append(el("option", { value: p, text: p }));
  $("report-form").addEventListener("submit", () => { $("report-purpose").value = $("purpose").value; });
  for (const link of document.querySelectorAll("#nav a[data-needs]")) link.hidden = !readable(link.dataset.needs);
  $("merge-explain").addEventListener("click", explainMerge);
  $("merge-other").addEventListener("input", () => { $("merge-confirm").disabled = true; });
  $("merge-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = await mutate(`mutation M($s: ID!, $a: ID!, $why: String) { mergeCustomers(survivorId: $s, absorbedId: $a, reason: $why) { customerId } }`,
      { s: String(state.customer.customerId), a: $("merge-other").value.trim(), why: $("merge-reason").value || null });
    if (data) { $("merge-explanation").replaceChildren(); $("merge-confirm").disabled = true; await showCustomer(state.customer.customerId, true); }
  });
  try { await probeApi(); } catch { state.api = new Set(); }
  for (const link of document.querySelectorAll("#nav a[data-api]")) link.hidden ||= !state.api.has(link.dataset.api);
  try { await probeFacets(); } catch { state.facets = []; }
  // Routes only once the API is known: a page drawn before would leave off
  // panels (value, authenticity) the API has. A hash set meanwhile is read here.
  window.addEventListener("hashchange", route);
  route();
  runSearch(false);
}

main();
