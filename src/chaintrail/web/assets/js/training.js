// The training panel: a trainee reads an exercise's brief, answers in a form and reads the grade and feedback;
// the instructor sees the class results, per-question statistics and techniques missed, exports CSV, enrols
// trainees, creates sets and runs exams. Only the REST API (/api/v1/training) is used; who acts is the training
// token (#training=<token> in the URL, or typed in), sent as X-Chaintrail-Training-Token.

import { fmtBTC, h } from "./format.js";
import { t } from "./i18n.js";

const KEY = "chaintrail.trainingToken";
const fromUrl = location.hash.match(/(?:^#|&)training=([^&]+)/);
if (fromUrl) sessionStorage.setItem(KEY, decodeURIComponent(fromUrl[1]));

// t() with an English fallback while a catalog lacks the key
function tr(key, english, params = {}) {
  const s = t(key, params);
  if (s !== key) return s;
  return english.replace(/\{(\w+)\}/g, (m, k) => (Object.hasOwn(params, k) ? String(params[k]) : m));
}

async function call(method, path, body, accept = "application/json") {
  const bearer = sessionStorage.getItem("chaintrail.token");
  const headers = { Authorization: `Bearer ${bearer}`,
                    "X-Chaintrail-Training-Token": sessionStorage.getItem(KEY) || "", Accept: accept };
  // submitting from a case reads it as the case user (the server's own token stands for a local operator)
  if (path.endsWith("/from-case")) headers["X-Chaintrail-User-Token"] = sessionStorage.getItem("chaintrail.userToken") || bearer;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const u = new URL("/api/v1/training" + path, location.origin);
  const lang = document.documentElement.lang;
  if (lang && accept === "application/json") u.searchParams.set("lang", lang);
  const r = await fetch(u, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!r.ok) {
    let msg = `${r.status}`;
    try { msg = (await r.json()).error || msg; } catch (_e) { /* not JSON */ }
    const err = new Error(msg);
    err.status = r.status;
    throw err;
  }
  return accept === "application/json" ? r.json() : r.text();
}

// replaceChildren with arrays flattened and empty parts left out
function fill(el, ...children) {
  el.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
}

// "a, b, c" lines -> their comma-separated parts (the last ones taken as given: names may hold commas)
function lines(text, parts) {
  return text.split("\n").map((l) => l.trim()).filter(Boolean).map((l) => {
    const bits = l.split(",").map((x) => x.trim());
    return bits.length <= parts ? bits : [bits.slice(0, bits.length - parts + 1).join(", "), ...bits.slice(bits.length - parts + 1)];
  });
}

function fmtUnits(amount, decimals) {
  const s = String(amount).padStart(decimals + 1, "0");
  const whole = s.slice(0, s.length - decimals);
  const frac = s.slice(s.length - decimals).replace(/0+$/, "");
  return frac ? `${whole}.${frac}` : whole;
}

function btcAnswers(f, form) {
  const exchanges = lines(f.exchanges.value, 2).map(([exchange, amount]) => ({ exchange, amount_btc: amount ?? "0" }));
  const body = { exchanges, perpetrator_addresses: f.addresses.value.split(/[\s,]+/).filter(Boolean),
    mixers: [...form.querySelectorAll('input[name="ans-mixer"]:checked')].map((x) => x.value),
    reasoning: f.reasoning.value };
  if (f.unspent.value.trim()) body.unspent_btc = f.unspent.value.trim();
  return body;
}

function ethAnswers(f) {
  return {
    exchanges: lines(f.exchanges.value, 3).map(([exchange, asset, amount]) => ({ exchange, asset: asset ?? "", amount: amount ?? "0" })),
    perpetrator_addresses: f.addresses.value.split(/[\s,]+/).filter(Boolean),
    mixers: f.pools.value.split(/[\s,]+/).filter(Boolean),
    bridges: f.bridge.checked ? ["bridge"] : ["none"],
    unspent: lines(f.unspent.value, 2).map(([asset, amount]) => ({ asset, amount: amount ?? "0" })),
    reasoning: f.reasoning.value,
  };
}

export class TrainingPanel {
  constructor(root) { this.root = root; }

  async start() {
    this.root.replaceChildren();
    if (!sessionStorage.getItem(KEY)) return this.tokenForm();
    try {
      this.me = await call("GET", "/me");
    } catch (err) {
      return this.tokenForm(err.status === 401 ? tr("training.token_refused", "That training token is not known.") : err.message);
    }
    this.root.append(h("p", { class: "muted", id: "training-who" }, this.me.role === "instructor"
      ? tr("training.you_instructor", "You are the instructor.")
      : tr("training.you_trainee", "Trainee: {name}", { name: this.me.name })));
    this.lessonsBox = h("details", { id: "training-lessons" }, h("summary", {}, tr("training.lessons", "Lessons")));
    this.root.append(this.lessonsBox);
    this.renderLessons().catch(() => {});
    if (this.me.role === "instructor") return this.instructor();
    return this.trainee();
  }

  tokenForm(error = "") {
    const input = h("input", { id: "training-token", type: "password", placeholder: tr("training.token", "training token") });
    this.root.append(h("form", { id: "training-token-form", onsubmit: (ev) => {
      ev.preventDefault();
      sessionStorage.setItem(KEY, input.value.trim());
      this.start();
    } }, h("p", {}, tr("training.token_needed", "Enter the training token your instructor gave you.")), input,
    h("button", { type: "submit" }, tr("training.open", "Open"))), h("p", { class: "error" }, error));
  }

  async renderLessons() {
    const list = await call("GET", "/lessons");
    const body = h("pre", { class: "lesson", id: "training-lesson" });
    this.lessonsBox.append(h("ul", {}, list.map((l) => h("li", {},
      h("a", { href: "#", onclick: async (ev) => { ev.preventDefault(); body.textContent = (await call("GET", `/lessons/${l.id}`)).markdown; } }, l.title),
      " → ", l.exercises.map((e) => e.title).join(", ")))), body);
  }

  // -- trainee ----------------------------------------------------------------------
  async trainee() {
    const list = await call("GET", "/exercises");
    this.work = h("div", { id: "training-exercise" });
    this.root.append(h("div", { id: "training-list", class: "row" }, list.map((e) => h("button", {
      "data-exercise": e.id, onclick: () => this.showExercise(e.id) },
      `#${e.id} ${e.brief.title}` + (e.grade ? ` (${e.grade.score})` : "")))), this.work);
    if (list.length) await this.showExercise(list[0].id);
  }

  async showExercise(id) {
    // Choosing the exercise already shown (or still loading) keeps what was typed into its form; when another is
    // chosen while one loads, only the latest choice renders (a late answer for the first one used to replace the
    // form, emptying answers typed meanwhile: the browser test lost its exchanges so under load).
    if (this.shownId === id) return;
    this.shownId = id;
    const e = await call("GET", `/exercises/${id}`);
    if (this.shownId !== id) return;
    const b = e.brief;
    const exam = e.exam.state === "running"
      ? h("p", { class: "error" }, tr("training.exam_running", "Exam: {n} s left; grades show when it ends.", { n: e.exam.seconds_left }))
      : e.exam.state === "over" ? h("p", { class: "muted" }, tr("training.exam_over", "The exam is over: submissions are locked.")) : null;
    const eth = b.chain === "eth";
    const payments = eth
      ? h("table", { class: "grid", id: "training-sources" }, h("tr", {}, h("th", {}, tr("training.col_tx", "transaction")),
        h("th", {}, tr("training.col_to", "to")), h("th", {}, tr("training.col_amount", "amount"))),
      b.sources.map((p) => h("tr", {}, h("td", { class: "mono" }, `${p.tx.slice(0, 18)}…`), h("td", { class: "mono" }, p.to),
        h("td", {}, `${fmtUnits(p.amount, p.decimals)} ${p.symbol}`))))
      : h("table", { class: "grid" }, h("tr", {}, h("th", {}, tr("training.col_payment", "payment")),
        h("th", {}, tr("training.col_address", "address")), h("th", {}, tr("training.col_amount", "amount"))),
      b.reported_payments.map((p) => h("tr", {}, h("td", { class: "mono" }, `${p.txid.slice(0, 16)}…:${p.vout}`),
        h("td", { class: "mono" }, p.address), h("td", {}, fmtBTC(p.amount_sat)))));
    const hints = (b.techniques || []).map((x) => h("li", {}, h("b", {}, x.technique), ": ", x.how));
    const prev = (e.submission && e.submission.answers) || {};
    const f = {
      eth,
      exchanges: h("textarea", { id: "ans-exchanges", rows: 3, placeholder: eth ? "exchange_1, ETH, 12.5" : "Exchange Alpha, 0.5" },
        (prev.exchanges || []).map((x) => (eth ? `${x.exchange}, ${x.asset}, ${x.amount}` : `${x.exchange}, ${x.amount_btc}`)).join("\n")),
      addresses: h("textarea", { id: "ans-addresses", rows: 3 }, (prev.perpetrator_addresses || []).join("\n")),
      unspent: eth ? h("textarea", { id: "ans-unspent", rows: 2, placeholder: "ETH, 0.5" },
        (prev.unspent || []).map((x) => `${x.asset}, ${x.amount}`).join("\n"))
        : h("input", { id: "ans-unspent", value: prev.unspent_btc ?? "" }),
      pools: eth ? h("textarea", { id: "ans-pools", rows: 2 }, (prev.mixers || []).join("\n")) : null,
      bridge: eth ? h("input", { type: "checkbox", id: "ans-bridge", checked: (prev.bridges || []).some((x) => x !== "none") || null }) : null,
      reasoning: h("textarea", { id: "ans-reasoning", rows: 4 }, prev.reasoning || ""),
    };
    const mixers = eth ? [] : ["none", ...b.mixing_services].map((m) => h("label", { class: "check" },
      h("input", { type: "checkbox", value: m, name: "ans-mixer", checked: (prev.mixers || []).includes(m) || null }), " ", m));
    const out = h("div", { id: "training-grade" });
    const form = h("form", { id: "training-form", onsubmit: (ev) => { ev.preventDefault(); this.submit(id, f, form, out).catch((err) => {
      fill(out, h("p", { class: "error" }, err.message)); }); } },
    eth ? h("label", {}, tr("training.q_exchanges_eth", "Exchanges to serve, one per line: name, asset (ETH, a token symbol or contract), amount"), f.exchanges)
      : h("label", {}, tr("training.q_exchanges", "Exchanges to serve, one per line: name, amount in BTC"), f.exchanges),
    h("label", {}, tr("training.q_addresses", "The perpetrators' addresses, one per line"), f.addresses),
    eth ? h("label", {}, tr("training.q_pools", "Tornado pools that mixed the funds (contract addresses, one per line; empty: none)"), f.pools)
      : h("fieldset", {}, h("legend", {}, tr("training.q_mixers", "Services that mixed the funds")), mixers),
    eth ? h("label", { class: "check" }, f.bridge, " ", tr("training.q_bridge", "A bridge carried funds to the other chain ({name})", { name: b.bridges[0] })) : null,
    eth ? h("label", {}, tr("training.q_unspent_eth", "Still held, tainted, one per line: asset, amount"), f.unspent)
      : h("label", {}, tr("training.q_unspent", "Still unspent (BTC)"), f.unspent),
    h("label", {}, tr("training.q_reasoning", "Your reasoning: the path and the techniques you used"), f.reasoning),
    h("button", { type: "submit", id: "training-submit", disabled: e.exam.state === "over" || null }, tr("training.submit", "Submit answers")));
    const caseRef = h("input", { id: "training-case-ref", placeholder: tr("training.case_ref", "case reference") });
    const fromCase = h("form", { id: "training-from-case", onsubmit: (ev) => { ev.preventDefault();
      call("POST", `/exercises/${id}/submissions/from-case`, { case: caseRef.value.trim() }).then((r) => {
        if (r.grade) this.renderGrade(out, r.grade);
        else fill(out, h("p", { class: "muted" }, tr("training.submitted_exam", "Submitted. The grade shows when the exam is over.")));
      }).catch((err) => fill(out, h("p", { class: "error" }, err.message))); } },
    h("label", {}, tr("training.from_case", "Or submit your case: its trace findings, the addresses you tagged as the perpetrator's and your notes are read as your answers"), caseRef),
    h("button", { type: "submit", id: "training-submit-case", disabled: e.exam.state === "over" || null }, tr("training.submit_case", "Submit my case")));
    fill(this.work, h("h3", {}, b.title), exam, h("p", {}, b.story), h("p", {}, h("i", {}, b.focus)), payments,
      hints.length ? h("details", {}, h("summary", {}, tr("training.hints", "Hints: techniques to try")), h("ul", {}, hints)) : null,
      form, fromCase, out);
    if (e.grade) this.renderGrade(out, e.grade);
  }

  async submit(id, f, form, out) {
    const r = await call("POST", `/exercises/${id}/submissions`, f.eth ? ethAnswers(f) : btcAnswers(f, form));
    if (r.grade) this.renderGrade(out, r.grade);
    else fill(out, h("p", { class: "muted" }, tr("training.submitted_exam", "Submitted. The grade shows when the exam is over.")));
  }

  renderGrade(out, g) {
    fill(out, h("h4", { id: "training-score" }, tr("training.score", "Score {score} / {max}", { score: g.score, max: g.max })),
      g.questions.map((q) => h("div", { class: "question", "data-question": q.id },
        h("b", {}, `${q.title}: ${q.score} / ${q.max}`),
        h("ul", {}, q.feedback.map((item) => h("li", { "data-code": item.code }, item.text,
          item.techniques.length ? h("ul", {}, item.techniques.map((x) => h("li", { class: "technique" }, h("b", {}, x.technique), ": ", x.how))) : null))))));
  }

  // -- instructor -------------------------------------------------------------------
  async instructor() {
    this.results = h("div", { id: "training-results" });
    this.detail = h("div", { id: "training-detail" });
    this.root.append(this.adminForms(), this.results, this.detail);
    await this.renderResults();
  }

  adminForms() {
    const name = h("input", { id: "tr-trainee-name", placeholder: tr("training.trainee_name", "trainee name") });
    const made = h("span", { id: "tr-trainee-token", class: "mono" });
    const enrol = h("form", { onsubmit: async (ev) => { ev.preventDefault();
      const r = await call("POST", "/roster", { name: name.value });
      made.textContent = `${r.name}: ${r.token}`; await this.renderResults(); } },
    name, h("button", { type: "submit" }, tr("training.enrol", "Enrol")), " ", made);
    const setName = h("input", { id: "tr-set-name", placeholder: tr("training.set_name", "set name") });
    const seed = h("input", { id: "tr-set-seed", type: "number", value: 1, min: 0 });
    const level = h("select", { id: "tr-set-level" }, ["easy", "medium", "hard"].map((x) => h("option", {}, x)));
    const kinds = h("input", { id: "tr-set-kinds", value: "peel_chain,custodial_mixer,coinjoin,straight_to_exchange,consolidation_clustering" });
    const status = h("div", { id: "tr-set-status" });
    const button = h("button", { type: "submit", id: "tr-set-create" }, tr("training.create_set", "Create set"));
    const create = h("form", { onsubmit: (ev) => { ev.preventDefault();
      button.disabled = true;
      this.buildSet({ name: setName.value.trim(), seed: Number(seed.value), difficulty: level.value,
        kinds: kinds.value.split(",").map((k) => k.trim()).filter(Boolean), build_store: true }, status)
        .catch((err) => fill(status, h("p", { class: "error" }, err.message)))
        .finally(() => { button.disabled = false; }); } },
    setName, seed, level, kinds, button, status);
    return h("details", {}, h("summary", {}, tr("training.manage", "Roster and sets")), enrol, create);
  }

  // the server builds the set's chains and stores in a job: poll it, showing its progress, then the set
  async buildSet(body, status) {
    let job = await call("POST", "/sets", body);
    while (job.state === "queued" || job.state === "running") {
      fill(status, h("p", { class: "muted" }, tr("training.building", "Building set {name}…", { name: job.set })),
        h("ul", {}, job.progress.map((m) => h("li", {}, m))));
      await new Promise((ok) => setTimeout(ok, 1000));
      job = await call("GET", `/jobs/${job.id}`);
    }
    if (job.state !== "done") throw new Error(tr("training.build_failed", "Building set {name} failed: {error}", { name: job.set, error: job.error || "" }));
    const r = job.result;
    fill(status, h("p", { id: "tr-set-made" }, tr("training.set_made", "Set {name} is ready; exercises: {ids}.",
      { name: r.name, ids: r.exercise_ids.map((i) => `#${i}`).join(", ") })));
    await this.renderResults();
  }

  async renderResults() {
    const [{ results, stats }, sets] = await Promise.all([call("GET", "/results"), call("GET", "/sets")]);
    const cols = results.length ? results[0].exercises : [];
    const table = h("table", { class: "grid", id: "training-results-table" },
      h("tr", {}, h("th", {}, tr("training.col_trainee", "trainee")), cols.map((c) => h("th", {}, `#${c.exercise} ${c.kind}`)),
        h("th", {}, tr("training.col_mean", "mean"))),
      results.map((r) => h("tr", { "data-trainee": r.trainee }, h("td", {}, r.trainee), r.exercises.map((c) => h("td", {},
        c.score === null ? "–" : h("a", { href: "#", "data-exercise": c.exercise, onclick: (ev) => { ev.preventDefault(); this.showResult(c.exercise, r.trainee); } }, String(c.score)))),
      h("td", {}, r.mean === null ? "–" : String(r.mean)))));
    const qstats = h("table", { class: "grid", id: "training-stats" }, h("tr", {}, h("th", {}, "#"),
      h("th", {}, tr("training.col_question", "question")), h("th", {}, tr("training.col_share", "class mean"))),
    stats.questions.map((q) => h("tr", {}, h("td", {}, String(q.exercise)), h("td", {}, q.question), h("td", {}, `${Math.round(q.mean_share * 100)} %`))));
    const missed = Object.entries(stats.techniques_missed).map(([k, n]) => `${k} (${n})`).join(", ");
    const exams = sets.map((s) => h("div", { class: "row", "data-set": s.name }, h("b", {}, s.name), ` ${s.difficulty} · ${s.exam.state} `,
      s.exam.state === "practice" ? h("button", { onclick: async () => { await call("POST", `/sets/${s.name}/exam`, { minutes: 60 }); await this.renderResults(); } },
        tr("training.exam_start", "Start a 60-minute exam")) : null,
      s.exam.state === "running" ? h("button", { onclick: async () => { await call("POST", `/sets/${s.name}/exam/close`); await this.renderResults(); } },
        tr("training.exam_close", "Close the exam")) : null));
    const csv = h("button", { id: "training-csv", onclick: async () => {
      const text = await call("GET", "/grades.csv", undefined, "text/csv");
      const a = h("a", { href: URL.createObjectURL(new Blob([text], { type: "text/csv" })), download: "grades.csv" });
      a.click(); } }, tr("training.csv", "Export grades (CSV)"));
    fill(this.results, h("h3", {}, tr("training.results", "Class results")), exams, table, csv,
      h("h4", {}, tr("training.stats", "Per question")), qstats,
      h("p", { id: "training-missed" }, tr("training.missed", "Techniques the class misses: {list}", { list: missed || "–" })));
  }

  async showResult(exercise, trainee) {
    const r = await call("GET", `/results/${exercise}/${encodeURIComponent(trainee)}`);
    const out = h("div", {});
    this.renderGrade(out, r.grade);
    fill(this.detail, h("h4", {}, `${trainee} · #${exercise}`), out,
      h("details", {}, h("summary", {}, tr("training.reasoning", "Reasoning")), h("p", {}, r.answers.reasoning || "–")));
  }
}
