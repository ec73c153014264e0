// vidgen console: sign in with an API key (kept in sessionStorage only),
// submit a job, watch the tenant's jobs, play and cancel them. Same origin
// as the API, so no CORS; no framework, no build step.
const API = "/v2/video/generations";
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
  const file = $("image-file").files[0];
  const url = $("image-url").value.trim();
  if (!file && !url) return say(status, "Choose an image file or give an image URL.", true);
  if (file && file.size > 4 << 20) return say(status, `${file.name} is ${file.size} bytes; the API takes images up to 4 MiB.`, true);
  const button = $("submit-button");
  button.disabled = true;
  say(status, "Submitting…");
  try {
    const body = {
      model: "gen3a_turbo",
      image_url: file ? await readFile(file) : url,
      prompt: $("prompt").value,
      duration: Number(form.elements.duration.value),
      aspect_ratio: form.elements.ratio.value,
    };
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
  const status = cell(el("span", label(g), { className: `status status-${g.status}` }));
  const progress = cell(...progressOf(g));
  const actions = cell();
  if (g.status === "completed" && g.video) {
    actions.append(el("button", "Play", { type: "button", onclick: () => play(g.id), ariaLabel: `Play job ${short(g.id)}` }, "play"));
  }
  if (ACTIVE.has(g.status)) {
    actions.append(el("button", "Cancel", { type: "button", className: "secondary", onclick: () => cancel(g.id), ariaLabel: `Cancel job ${short(g.id)}` }, "cancel"));
  }
  row.replaceChildren(job, status, progress, actions);
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
    $("player-caption").textContent = `Job ${g.id}`;
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
