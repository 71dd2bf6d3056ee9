// The page residents use: plain script, no library, everything from this
// server. What a resident types goes to the server only in the request that
// makes the token; nothing is kept in the browser's storage.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const channel = new URLSearchParams(location.search).get("channel") || "web";
  let session = null;

  async function call(method, path, body) {
    const r = await fetch("/api/v1" + path, {
      method, headers: body ? { "Content-Type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined, cache: "no-store",
    });
    const j = await r.json().catch(() => ({ error: "応答を読めませんでした" }));
    if (!r.ok) throw new Error(j.error || ("HTTP " + r.status));
    return j;
  }
  function say(text) { $("status").textContent = text; }
  function show(id) {
    for (const s of ["events", "ask", "household", "result"]) $(s).hidden = s !== id;
  }
  function focusOn(id) { const e = $(id); e.setAttribute("tabindex", "-1"); e.focus(); }

  function button(label, onClick, cls) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    if (cls) b.className = cls;
    b.addEventListener("click", onClick);
    return b;
  }

  async function start() {
    const config = await fetch("/page-config.json").then((r) => r.json()).catch(() => ({}));
    if (config.colour) document.documentElement.dataset.colour = config.colour;
    if (config.municipality) $("municipality").textContent = config.municipality;
    if (config.logo) { $("logo").hidden = false; $("logo").alt = (config.municipality || "") + "のロゴ"; }
    if (config.ask) {
      $("question-box").hidden = false;
      for (const t of config.topics || []) {
        const o = document.createElement("option");
        o.value = t;
        o.textContent = t;
        $("question-topic").appendChild(o);
      }
    }
    const list = await call("GET", "/events");
    const box = $("event-list");
    for (const e of list.events) box.appendChild(button(e.name, () => begin(e.id)));
  }

  async function begin(event) {
    try {
      render(await call("POST", "/sessions", { event, channel }));
    } catch (e) { say(e.message); }
  }

  function render(state) {
    session = state.session;
    say("");
    $("progress-row").hidden = false;
    $("progress").setAttribute("aria-valuenow", String(state.progress));
    $("progress-fill").style.width = state.progress + "%";
    $("progress-text").textContent = state.progress + "%";
    if (state.done) {
      show("household");
      if (!$("members").querySelector(".member")) addMember();
      focusOn("household-title");
      return;
    }
    show("ask");
    const q = state.question;
    $("question").textContent = q.text;
    $("help").textContent = q.help || "";
    $("help-box").hidden = !q.help;
    const box = $("choice-list");
    box.replaceChildren();
    for (const c of q.choices) box.appendChild(button(c.label, () => answer(c.index)));
    $("back").hidden = !state.can_go_back;
    focusOn("question");
  }

  async function answer(index) {
    try { render(await call("POST", "/sessions/" + session + "/answer", { choice: index })); } catch (e) { say(e.message); }
  }

  let memberCount = 0;
  function field(label, type, name, options) {
    const id = "m" + memberCount + "-" + name;
    const wrap = document.createElement("div");
    const l = document.createElement("label");
    l.htmlFor = id;
    l.textContent = label;
    let input;
    if (options) {
      input = document.createElement("select");
      for (const [v, t] of options) { const o = document.createElement("option"); o.value = v; o.textContent = t; input.appendChild(o); }
    } else {
      input = document.createElement("input");
      input.type = type;
    }
    input.id = id;
    input.name = name;
    wrap.append(l, input);
    return wrap;
  }
  function addMember() {
    memberCount += 1;
    const m = document.createElement("div");
    m.className = "member";
    const title = document.createElement("p");
    title.textContent = memberCount + "人目";
    m.append(title, field("氏名", "text", "name"), field("ふりがな（カタカナ）", "text", "kana"),
      field("生年月日", "date", "birth"), field("性別", null, "sex", [["1", "男"], ["2", "女"], ["9", "回答しない"]]),
      field("続柄（世帯主、妻、子など）", "text", "relationship"));
    $("members").appendChild(m);
  }

  function household() {
    const members = [...document.querySelectorAll("#members .member")].map((m) => ({
      name: m.querySelector("[name=name]").value.trim(), kana: m.querySelector("[name=kana]").value.trim(),
      birth: m.querySelector("[name=birth]").value, sex: m.querySelector("[name=sex]").value,
      relationship: m.querySelector("[name=relationship]").value.trim(),
    }));
    return { move_date: $("move-date").value, address: $("address").value.trim(),
             previous_address: $("previous-address").value.trim(), members };
  }

  function showProcedures(r) {
    const list = $("procedure-list");
    list.replaceChildren();
    for (const p of r.procedures) {
      const li = document.createElement("li");
      const name = document.createElement("strong");
      name.textContent = p.name;
      const meta = document.createElement("div");
      meta.className = "meta";
      meta.textContent = "窓口: " + p.counter + (p.where !== "counter" ? "（オンラインでも手続きできます）" : "");
      li.append(name, meta);
      if (p.deadline) {
        const d = document.createElement("div");
        d.className = "deadline";
        d.textContent = "期限: " + p.deadline;
        li.appendChild(d);
      }
      if (p.bring.length) {
        const b = document.createElement("div");
        b.textContent = "持ち物: " + p.bring.join("、");
        li.appendChild(b);
      }
      list.appendChild(li);
    }
    // What the city's records may add: names and counters only (the reason
    // is the resident's own records, which this page never sees).
    const extra = $("at-counter-list");
    extra.replaceChildren();
    for (const p of r.at_counter || []) {
      const li = document.createElement("li");
      const name = document.createElement("strong");
      name.textContent = p.name;
      const meta = document.createElement("div");
      meta.className = "meta";
      meta.textContent = "窓口: " + p.counter;
      li.append(name, meta);
      extra.appendChild(li);
    }
    $("at-counter").hidden = !extra.children.length;
  }

  $("household-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const h = household();
    try {
      const r = await call("POST", "/sessions/" + session + "/result",
        { move_date: h.move_date, members: h.members.map((m) => ({ birth: m.birth })) });
      showProcedures(r);
      show("result");
      $("token-box").hidden = true;
      $("make-token").hidden = false;
      focusOn("result-title");
    } catch (e) { say(e.message); }
  });
  $("make-token").addEventListener("click", async () => {
    try {
      const r = await call("POST", "/sessions/" + session + "/token", household());
      showProcedures(r);
      const img = document.createElement("img");
      img.alt = "窓口で読み取るQRコード";
      img.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(r.qr_svg);
      img.id = "qr-image";
      $("qr").replaceChildren(img);
      $("token-expiry").textContent = "有効期限: " + new Date(r.expires * 1000).toLocaleString("ja-JP", { timeZone: "Asia/Tokyo" });
      $("token-box").hidden = false;
      $("make-token").hidden = true;
      focusOn("token-title");
      img.scrollIntoView({ block: "center" });
      // The form's values are no longer needed here either.
      $("household-form").reset();
      say("QRコードを作成しました。入力した内容はこの端末にもサーバーにも残りません。");
    } catch (e) { say(e.message); }
  });
  // The question box: what was typed goes to the server in this request
  // only; the answer names where it came from, or the counter to ask.
  $("question-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const text = $("question-text").value.replace(/\s+/g, " ").trim();
    if (!text) { say("質問を入力してください。"); $("question-text").focus(); return; }
    $("question-send").disabled = true;
    $("answer-kind").textContent = "";
    $("answer-text").textContent = "お答えを探しています…";
    $("answer-sources-box").hidden = true;
    $("question-answer").hidden = false;
    const region = $("question-answer");
    region.setAttribute("aria-busy", "true");  // announced once, when whole
    try {
      const r = await askStreamed({ question: text, topic: $("question-topic").value, stream: true });
      $("answer-kind").textContent = r.kind === "answer" ? "AI の回答（正確な内容は窓口でご確認ください）"
        : r.kind === "refused" ? "個人の情報が含まれていたため、お答えしていません" : "窓口でおたずねください";
      $("answer-text").textContent = r.text;
      const list = $("answer-sources");
      list.replaceChildren();
      for (const s of r.sources) {
        const li = document.createElement("li");
        li.textContent = s.heading + "（" + s.file + "）";
        list.appendChild(li);
      }
      $("answer-sources-box").hidden = !r.sources.length;
      $("question-answer").dataset.kind = r.kind;
      $("question-answer").scrollIntoView({ block: "nearest" });
    } catch (e) {
      $("answer-text").textContent = "";
      say(e.message);
    } finally {
      region.setAttribute("aria-busy", "false");
      $("question-send").disabled = false;
    }
  });
  // The answer as server-sent events: its text shown as it comes (each
  // piece checked by the server before it is sent), then the whole answer.
  async function askStreamed(body) {
    const r = await fetch("/api/v1/ask", { method: "POST", headers: { "Content-Type": "application/json" },
                                           body: JSON.stringify(body), cache: "no-store" });
    if (!r.ok) {
      const j = await r.json().catch(() => ({}));
      throw new Error(j.error || ("HTTP " + r.status));
    }
    const reader = r.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "", shown = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      for (let end; (end = buffer.indexOf("\n\n")) >= 0;) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let name = "message", data = "";
        for (const line of event.split("\n")) {
          if (line.startsWith("event: ")) name = line.slice(7);
          else if (line.startsWith("data: ")) data += line.slice(6);
        }
        const j = JSON.parse(data);
        if (name === "answer") return j;
        if (name === "error") throw new Error(j.error);
        shown += j.text;
        $("answer-text").textContent = shown;
      }
    }
    throw new Error("応答が途中で切れました。もう一度お試しください。");
  }
  $("add-member").addEventListener("click", addMember);
  $("back").addEventListener("click", async () => {
    try { render(await call("POST", "/sessions/" + session + "/back")); } catch (e) { say(e.message); }
  });
  $("print").addEventListener("click", () => window.print());
  start().catch((e) => say(e.message));
})();
