// vidgen console: sign in with an API key (kept in sessionStorage only),
// submit a job, watch the tenant's jobs, play and cancel them. Same origin
// as the API, so no CORS; no framework, no build step.
const API = "/v2/video/generations";
const MODELS = "/v1/models";
const DEFAULT_MODEL = "gen3a_turbo"; // the form's own fields are this model's
const KEY = "vidgen.apiKey";
const WAIT = 20; // long-poll seconds (the API takes 0..25)
const MAX_WATCHERS = 3; // long-polls at once: browsers allow 6 connections per host
const ACTIVE = new Set(["queued", "generating"]);
const $ = (id) => document.getElementById(id);

const state = {
  key: sessionStorage.getItem(KEY) || "",
  jobs: new Map(), // id → generation, newest first
  watchers: new Map(), // id → AbortController
  longPoll: true, // false once the API refuses or ignores wait=N
  listTimer: 0,
  models: new Map(), // id → the model as GET /v1/models lists it
};

class APIError extends Error {
  constructor(status, body) {
    const e = body && body.error;
    let msg = e ? e.message : (body && body.message) || `the API answered ${status}`;
    if (e && e.fields) msg += ": " + e.fields.map((f) => `${f.field} ${f.message}`).join("; ");
    super(msg);
    this.status = status;
    this.body = body;
  }
}

async function api(method, query, body, signal) {
  const headers = { Authorization: "Bearer " + state.key };
  const init = { method, headers, signal };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    headers["Idempotency-Key"] = newKey();
    init.body = JSON.stringify(body);
  }
  const resp = await fetch(API + (query ? "?" + new URLSearchParams(query) : ""), init);
  const data = await resp.json().catch(() => null);
  if (!resp.ok) throw new APIError(resp.status, data);
  return data;
}

// newKey is a random Idempotency-Key: a retried submit then cannot run twice.
function newKey() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function say(el, text, isError) {
  el.textContent = text;
  el.classList.toggle("error", Boolean(isError));
}

function announce(text) {
  $("announce").textContent = text;
}

// --- sign in and out

async function signIn(key) {
  state.key = key;
  await refreshList(); // throws on a refused key
  sessionStorage.setItem(KEY, key);
  loadModels().catch((err) => say($("model-hint"), "Could not list the models: " + err.message, true));
  $("signin").hidden = true;
  $("app").hidden = false;
  $("signout").hidden = false;
}

function signOut() {
  sessionStorage.removeItem(KEY);
  state.key = "";
  for (const c of state.watchers.values()) c.abort();
  state.watchers.clear();
  state.jobs.clear();
  clearTimeout(state.listTimer);
  $("job-rows").replaceChildren();
  $("video").removeAttribute("src");
  $("player").hidden = true;
  $("app").hidden = true;
  $("signout").hidden = true;
  $("signin").hidden = false;
  $("key").value = "";
  $("key").focus();
}

$("signin-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const status = $("signin-status");
  say(status, "Checking the key…");
  try {
    await signIn($("key").value.trim());
    say(status, "");
    $("prompt").focus();
  } catch (err) {
    state.key = "";
    clearTimeout(state.listTimer);
    say(status, err.status === 401 || err.status === 403 ? "That key was refused." : err.message, true);
  }
});
$("signout").addEventListener("click", signOut);

// --- submit

function readFile(file) {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(r.result);
    r.onerror = () => reject(new Error("could not read " + file.name));
    r.readAsDataURL(file);
  });
}

$("submit-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = ev.target;
  const status = $("submit-status");
  const model = $("model").value;
  const schema = state.models.get(model)?.schema;
  const takesImage = model === DEFAULT_MODEL || Boolean(schema?.properties?.image_url);
  const file = takesImage ? $("image-file").files[0] : undefined;
  const url = takesImage ? $("image-url").value.trim() : "";
  if (model === DEFAULT_MODEL && !file && !url) return say(status, "Choose an image file or give an image URL.", true);
  if (file && file.size > 4 << 20) return say(status, `${file.name} is ${file.size} bytes; the API takes images up to 4 MiB.`, true);
  const button = $("submit-button");
  button.disabled = true;
  say(status, "Submitting…");
  try {
    let body;
    if (model === DEFAULT_MODEL) {
      body = {
        model,
        image_url: file ? await readFile(file) : url,
        prompt: $("prompt").value,
        duration: Number(form.elements.duration.value),
        aspect_ratio: form.elements.ratio.value,
      };
    } else {
      body = { model, ...modelFieldValues() };
      if (file || url) body.image_url = file ? await readFile(file) : url;
      if (schema?.properties?.prompt) body.prompt = $("prompt").value;
    }
    if (!body.prompt) delete body.prompt;
    const created = await api("POST", null, body);
    say(status, `Submitted job ${created.id}.`);
    await refreshList();
  } catch (err) {
    say(status, "Not submitted: " + err.message, true);
  } finally {
    button.disabled = false;
  }
});

// --- models: the form shows the chosen model's fields

async function loadModels() {
  const resp = await fetch(MODELS + "?include=capabilities");
  const data = await resp.json().catch(() => null);
  if (!resp.ok) throw new APIError(resp.status, data);
  const select = $("model");
  const chosen = select.value;
  state.models = new Map(data.data.map((m) => [m.id, m]));
  select.replaceChildren(...data.data.map((m) =>
    el("option", `${m.id} (${m.info.developer})`, { value: m.id, selected: m.id === chosen })));
  showModel();
}

// FIXED are the fields the form always has: the image, the prompt, and
// model and callback_url, which are not the model's own.
const FIXED = new Set(["model", "callback_url", "image_url", "prompt"]);

function showModel() {
  const id = $("model").value;
  const m = state.models.get(id);
  const gen3 = id === DEFAULT_MODEL;
  const props = m?.schema?.properties || {};
  const required = new Set(m?.schema?.required || []);
  $("gen3a-choices").hidden = !gen3;
  $("image-fields").hidden = !gen3 && !props.image_url;
  $("prompt-field").hidden = !gen3 && !props.prompt;
  $("prompt").maxLength = props.prompt?.maxLength || (gen3 ? 1000 : 100000);
  $("prompt").required = !gen3 && required.has("prompt");
  say($("model-hint"), m ? `${m.info.developer} · ${(m.capabilities || []).map((c) => c.replaceAll("_", "-")).join(", ")}` : "");
  const list = $("model-field-list");
  list.replaceChildren();
  if (!gen3) {
    for (const name of Object.keys(props).sort()) {
      if (!FIXED.has(name)) list.append(fieldControl(name, props[name], required.has(name)));
    }
  }
  $("model-fields").hidden = gen3 || list.childElementCount === 0;
}

// fieldControl is a labelled input for one of the model's fields, chosen
// by its schema: a select for a list of values or a boolean, a number
// input, a URL input for media, a text area of JSON for lists and objects.
function fieldControl(name, s, required) {
  const types = (s.type || []).filter((t) => t !== "null");
  const id = "field-" + name;
  const wrap = el("div", "", { className: "field" });
  wrap.append(el("label", name + (required ? " *" : ""), { htmlFor: id }));
  let input;
  const values = (s.enum || []).filter((v) => v !== null);
  if (values.length || types[0] === "boolean") {
    input = el("select", "", { id });
    input.append(el("option", required ? "(choose)" : "(default)", { value: "" }));
    for (const v of values.length ? values : [true, false]) input.append(el("option", String(v), { value: JSON.stringify(v) }));
    input.dataset.kind = "json";
  } else if (types[0] === "integer" || types[0] === "number") {
    input = el("input", "", { id, type: "number", step: types[0] === "integer" ? "1" : "any" });
    if (s.minimum !== undefined) input.min = s.minimum;
    if (s.maximum !== undefined) input.max = s.maximum;
    input.dataset.kind = "number";
  } else if (types[0] === "array" || types[0] === "object" || !types.length) {
    input = el("textarea", "", { id, rows: 2, spellcheck: false, placeholder: types[0] === "array" ? "[…]" : "{…}" });
    input.dataset.kind = "json";
  } else {
    const media = s.format === "uri" || name.endsWith("_url");
    input = el("input", "", { id, type: media ? "url" : "text", spellcheck: false, placeholder: media ? "https://…" : "" });
    if (s.maxLength) input.maxLength = s.maxLength;
    input.dataset.kind = "string";
  }
  input.name = name;
  input.required = required;
  const hint = describe(s);
  if (hint) {
    const h = el("p", hint, { id: id + "-hint", className: "hint" });
    input.setAttribute("aria-describedby", h.id);
    wrap.append(input, h);
  } else {
    wrap.append(input);
  }
  return wrap;
}

function describe(s) {
  const bits = [];
  if (s.minimum !== undefined && s.maximum !== undefined) bits.push(`${s.minimum} to ${s.maximum}`);
  if (s.maxItems !== undefined) bits.push(`at most ${s.maxItems} items`);
  if (s.default !== undefined) bits.push(`default ${JSON.stringify(s.default)}`);
  return bits.join("; ");
}

// modelFieldValues are the filled fields of the chosen model, as JSON
// values: an empty field is left out (the model's default).
function modelFieldValues() {
  const out = {};
  for (const input of $("model-field-list").querySelectorAll("input, select, textarea")) {
    const raw = input.value.trim();
    if (raw === "") continue;
    if (input.dataset.kind === "number") out[input.name] = Number(raw);
    else if (input.dataset.kind === "json") {
      try {
        out[input.name] = JSON.parse(raw);
      } catch {
        throw new Error(`${input.name} is not JSON`);
      }
    } else out[input.name] = raw;
  }
  return out;
}

$("model").addEventListener("change", showModel);

// --- the list, kept live

async function refreshList() {
  clearTimeout(state.listTimer);
  try {
    const page = await api("GET", { limit: 20 });
    const seen = new Set();
    for (const g of page.data) {
      seen.add(g.id);
      update(g);
    }
    for (const id of state.jobs.keys()) if (!seen.has(id) && !state.watchers.has(id)) drop(id);
    order(page.data.map((g) => g.id));
    watchActive();
  } finally {
    // The list catches jobs submitted elsewhere and those not watched.
    const busy = [...state.jobs.values()].some((g) => ACTIVE.has(g.status));
    if (state.key) state.listTimer = setTimeout(() => refreshList().catch(() => {}), busy ? 5000 : 15000);
  }
}

function watchActive() {
  for (const g of state.jobs.values()) {
    if (state.watchers.size >= MAX_WATCHERS) break;
    if (ACTIVE.has(g.status) && !state.watchers.has(g.id)) watch(g.id);
  }
}

// watch long-polls one job until it ends. Each answer comes when the job
// changed (or after WAIT seconds); an API without wait=N answers at once,
// and then the loop polls every few seconds instead.
async function watch(id) {
  const ctl = new AbortController();
  state.watchers.set(id, ctl);
  try {
    while (!ctl.signal.aborted) {
      const before = state.jobs.get(id);
      const t0 = performance.now();
      let g;
      try {
        const q = { generation_id: id };
        if (state.longPoll) q.wait = WAIT;
        g = await api("GET", q, undefined, ctl.signal);
      } catch (err) {
        if (ctl.signal.aborted) return;
        if (err.status === 400 && JSON.stringify(err.body).includes('"wait"')) { state.longPoll = false; continue; }
        if (err.status === 404 || err.status === 401 || err.status === 403) return;
        await pause(3000, ctl.signal);
        continue;
      }
      update(g);
      if (!ACTIVE.has(g.status)) return;
      const took = performance.now() - t0;
      const unchanged = before && before.status === g.status && before.polls === g.polls && before.queue_position === g.queue_position;
      if (state.longPoll && unchanged && took < 500) state.longPoll = false;
      await pause((state.longPoll ? 500 : 2000) - took, ctl.signal);
    }
  } finally {
    if (state.watchers.get(id) === ctl) state.watchers.delete(id);
    if (state.key) watchActive();
  }
}

function pause(ms, signal) {
  return new Promise((resolve) => {
    if (ms <= 0 || signal.aborted) return resolve();
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => { clearTimeout(t); resolve(); }, { once: true });
  });
}

// --- rendering

function update(g) {
  const prev = state.jobs.get(g.id);
  state.jobs.set(g.id, g);
  let row = document.querySelector(`tr[data-id="${CSS.escape(g.id)}"]`);
  if (!row) {
    row = document.createElement("tr");
    row.dataset.id = g.id;
    $("job-rows").prepend(row);
  } else if (JSON.stringify(prev) === JSON.stringify(g)) {
    return;
  }
  if (prev && prev.status !== g.status) announce(`Job ${short(g.id)} is ${label(g)}.`);
  const focused = row.contains(document.activeElement) ? document.activeElement.dataset.action : "";
  render(row, g);
  if (focused) row.querySelector(`[data-action="${focused}"]`)?.focus();
  $("jobs-empty").hidden = state.jobs.size > 0;
}

function drop(id) {
  state.jobs.delete(id);
  document.querySelector(`tr[data-id="${CSS.escape(id)}"]`)?.remove();
}

// order puts the rows in the list's order (newest first); rows the list
// did not return (watched jobs beyond it) stay after them.
function order(ids) {
  const tbody = $("job-rows");
  for (const id of ids.toReversed()) {
    const row = tbody.querySelector(`tr[data-id="${CSS.escape(id)}"]`);
    if (row) tbody.prepend(row);
  }
  $("jobs-empty").hidden = state.jobs.size > 0;
}

function render(row, g) {
  row.dataset.status = g.status;
  const job = cell(el("code", short(g.id), { title: g.id }), el("div", time(g.created_at), { className: "hint" }));
  const model = cell(el("code", g.model));
  model.className = "model";
  const status = cell(el("span", label(g), { className: `status status-${g.status}` }));
  const progress = cell(...progressOf(g));
  const actions = cell();
  if (g.status === "completed" && g.video) {
    actions.append(el("button", "Play", { type: "button", onclick: () => play(g.id), ariaLabel: `Play job ${short(g.id)}` }, "play"));
  }
  if (ACTIVE.has(g.status)) {
    actions.append(el("button", "Cancel", { type: "button", className: "secondary", onclick: () => cancel(g.id), ariaLabel: `Cancel job ${short(g.id)}` }, "cancel"));
  }
  row.replaceChildren(job, model, status, progress, actions);
}

function label(g) {
  return g.error && g.error.name === "Cancelled" ? "cancelled" : g.status;
}

function progressOf(g) {
  const out = [];
  const bits = [];
  if (g.status === "queued" && g.queue_position) bits.push(`#${g.queue_position} in the queue`);
  if (ACTIVE.has(g.status)) {
    const bar = el("progress", "", { max: 1 });
    bar.setAttribute("aria-label", `Progress of job ${short(g.id)}`);
    const start = Date.parse(g.started_at || g.created_at);
    if (g.eta && g.eta.at) {
      const at = Date.parse(g.eta.at);
      bar.value = Math.min(0.99, Math.max(0, (Date.now() - start) / Math.max(1, at - start)));
      bits.push(`about ${span(at - Date.now())} left (${span(Date.parse(g.eta.earliest) - Date.now())}–${span(Date.parse(g.eta.latest) - Date.now())}, ${Math.round(g.eta.confidence * 100)}% sure)`);
    }
    out.push(bar);
  }
  if (g.polls) bits.push(`${g.polls} check${g.polls === 1 ? "" : "s"}`);
  if (g.status === "completed") {
    const took = Date.parse(g.ended_at || g.updated_at) - Date.parse(g.created_at);
    bits.push(`done in ${span(took)}`);
    if (g.video && g.video.duration) bits.push(`${g.video.duration} s video`);
  }
  if (g.error) out.push(el("div", `${g.error.name}: ${g.error.message}`, { className: "error" }));
  if (bits.length) out.push(el("div", bits.join(" · "), { className: "hint" }));
  return out;
}

async function play(id) {
  try {
    // A fresh answer: the video link in an older one may have expired.
    const g = await api("GET", { generation_id: id });
    update(g);
    const video = $("video");
    video.src = g.video.url;
    $("player-caption").textContent = `Job ${g.id}, ${g.model}`;
    $("player").hidden = false;
    video.focus();
    await video.play();
  } catch (err) {
    announce(`Could not play job ${short(id)}: ${err.message}`);
  }
}

async function cancel(id) {
  try {
    update(await api("DELETE", { generation_id: id }));
  } catch (err) {
    announce(`Could not cancel job ${short(id)}: ${err.message}`);
  }
}

function el(tag, text, props, action) {
  const e = Object.assign(document.createElement(tag), props);
  if (text) e.textContent = text;
  if (props && props.ariaLabel) e.setAttribute("aria-label", props.ariaLabel);
  if (action) e.dataset.action = action;
  return e;
}

function cell(...children) {
  const td = document.createElement("td");
  td.append(...children);
  return td;
}

const short = (id) => id.slice(0, 8);
const time = (s) => new Date(s).toLocaleString();

function span(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

$("refresh").addEventListener("click", () => refreshList().catch((err) => announce(err.message)));

if (state.key) {
  signIn(state.key).catch(() => signOut());
}
