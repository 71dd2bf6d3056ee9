// The console's page: one HTML file, its script and its style, served by
// the admin listener at /, /console.js and /console.css. No framework and
// no build step: plain HTML over the JSON API (/api/v1/…), Japanese first
// with an English switch, usable by keyboard alone, colours at 7:1 or more.
#include "console_page.h"

namespace renkei::console {

const char* const kPageHtml = R"html(<!DOCTYPE html>
<html lang="ja">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>renkei 運用コンソール</title>
<link rel="stylesheet" href="/console.css">
<script src="/console.js" defer></script>
</head>
<body>
<header>
  <h1 id="title" data-ja="renkei 運用コンソール" data-en="renkei operator console">renkei 運用コンソール</h1>
  <button type="button" id="lang" lang="en">English</button>
  <button type="button" id="logout" hidden data-ja="サインアウト" data-en="Sign out">サインアウト</button>
</header>
<main id="main" tabindex="-1">
  <p id="status" role="status" aria-live="polite"></p>
  <form id="login" hidden>
    <h2 data-ja="サインイン" data-en="Sign in">サインイン</h2>
    <label for="user" data-ja="運用者 ID" data-en="Operator id">運用者 ID</label>
    <input id="user" name="user" autocomplete="username" required>
    <label for="password" data-ja="パスワード" data-en="Password">パスワード</label>
    <input id="password" name="password" type="password" autocomplete="current-password" required>
    <label for="code" data-ja="確認コード（管理・監査の権限がある場合）" data-en="Code (for administer or audit)">確認コード（管理・監査の権限がある場合）</label>
    <input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}">
    <button type="submit" data-ja="サインイン" data-en="Sign in">サインイン</button>
  </form>
  <form id="change" hidden>
    <h2 data-ja="パスワードの変更" data-en="Change the password">パスワードの変更</h2>
    <p data-ja="ワンタイムパスワードを、12 文字以上の新しいパスワードに変えてください。" data-en="Replace the one-time password with a new one of at least 12 characters.">ワンタイムパスワードを、12 文字以上の新しいパスワードに変えてください。</p>
    <label for="old" data-ja="今のパスワード" data-en="Current password">今のパスワード</label>
    <input id="old" type="password" autocomplete="current-password" required>
    <label for="new" data-ja="新しいパスワード" data-en="New password">新しいパスワード</label>
    <input id="new" type="password" autocomplete="new-password" minlength="12" required>
    <button type="submit" data-ja="変更する" data-en="Change">変更する</button>
  </form>
  <section id="dashboard" hidden aria-labelledby="routes-title">
    <p id="who"></p>
    <h2 id="routes-title" tabindex="-1" data-ja="ルートと配信先" data-en="Routes and targets">ルートと配信先</h2>
    <table id="routes">
      <caption data-ja="5 秒ごとに更新" data-en="Updated every 5 seconds">5 秒ごとに更新</caption>
      <thead><tr>
        <th scope="col" data-ja="ルート" data-en="Route">ルート</th>
        <th scope="col" data-ja="配信先" data-en="Target">配信先</th>
        <th scope="col" data-ja="待ち（件）" data-en="Waiting (records)">待ち（件）</th>
        <th scope="col" data-ja="最古の待ち" data-en="Oldest waiting">最古の待ち</th>
        <th scope="col" data-ja="不達（バッチ）" data-en="Dead letters (batches)">不達（バッチ）</th>
        <th scope="col" data-ja="配信済み（件）" data-en="Delivered (records)">配信済み（件）</th>
        <th scope="col" data-ja="最後のエラー" data-en="Last error">最後のエラー</th>
        <th scope="col" data-ja="再配信" data-en="Replay">再配信</th>
      </tr></thead>
      <tbody></tbody>
    </table>
    <p><a id="routes-csv" href="/api/v1/routes.csv" download="renkei-routes.csv" data-ja="この表を CSV でダウンロード" data-en="Download this table as CSV">この表を CSV でダウンロード</a></p>
    <img id="routes-chart" src="/api/v1/routes.svg" width="720" alt="ルートと配信先ごとの配信済み・待ちの件数（上の表と同じ数）" data-alt-en="Delivered and waiting records per route and target (the numbers in the table above)">
    <h2 id="open-title" data-ja="対応が必要な事象（障害通知メールと同じ）" data-en="Problems now (as the failure mail tells them)">対応が必要な事象（障害通知メールと同じ）</h2>
    <p id="open-none" data-ja="ありません。" data-en="None.">ありません。</p>
    <table id="open">
      <thead><tr>
        <th scope="col" data-ja="種類" data-en="Kind">種類</th>
        <th scope="col" data-ja="対象" data-en="Subject">対象</th>
        <th scope="col" data-ja="内容" data-en="Detail">内容</th>
      </tr></thead>
      <tbody></tbody>
    </table>
    <h2 id="backup-title" data-ja="バックアップ" data-en="Backups">バックアップ</h2>
    <p id="backup"></p>
    <h2 id="dead-title" data-ja="不達（デッドレター）" data-en="Dead letters">不達（デッドレター）</h2>
    <p id="dead-none" data-ja="不達はありません。" data-en="No dead letters.">不達はありません。</p>
    <table id="dead">
      <thead><tr>
        <th scope="col" data-ja="バッチ" data-en="Batch">バッチ</th>
        <th scope="col" data-ja="ルート" data-en="Route">ルート</th>
        <th scope="col" data-ja="配信先" data-en="Target">配信先</th>
        <th scope="col" data-ja="件数" data-en="Records">件数</th>
        <th scope="col" data-ja="試行" data-en="Attempts">試行</th>
        <th scope="col" data-ja="最後のエラー" data-en="Last error">最後のエラー</th>
        <th scope="col" data-ja="操作" data-en="Actions">操作</th>
      </tr></thead>
      <tbody></tbody>
    </table>
    <h2 id="refused-title" data-ja="受け取れなかったもの（error/・rejected/）" data-en="Refused whole (error/, rejected/)">受け取れなかったもの（error/・rejected/）</h2>
    <p id="refused-none" data-ja="ありません。" data-en="None.">ありません。</p>
    <table id="refused">
      <thead><tr>
        <th scope="col" data-ja="受け取り口" data-en="Connector">受け取り口</th>
        <th scope="col" data-ja="ファイル" data-en="Item">ファイル</th>
        <th scope="col" data-ja="理由" data-en="Reason">理由</th>
        <th scope="col" data-ja="日時" data-en="When">日時</th>
        <th scope="col" data-ja="操作" data-en="Actions">操作</th>
      </tr></thead>
      <tbody></tbody>
    </table>
    <h2 id="held-title" data-ja="承認待ちのバンドル（区域間連携）" data-en="Bundles waiting for approval (bridge)">承認待ちのバンドル（区域間連携）</h2>
    <p id="held-none" data-ja="承認待ちはありません。" data-en="Nothing waits for approval.">承認待ちはありません。</p>
    <table id="held">
      <thead><tr>
        <th scope="col" data-ja="バンドル" data-en="Bundle">バンドル</th>
        <th scope="col" data-ja="内容" data-en="Holds">内容</th>
        <th scope="col" data-ja="操作" data-en="Actions">操作</th>
      </tr></thead>
      <tbody></tbody>
    </table>
    <h2 id="exports-title" data-ja="保留された全件データ（削除が多すぎるもの）" data-en="Full exports held (they would remove too many residents)">保留された全件データ（削除が多すぎるもの）</h2>
    <p id="exports-none" data-ja="ありません。" data-en="None.">ありません。</p>
    <table id="exports">
      <thead><tr>
        <th scope="col" data-ja="受け取り口" data-en="Connector">受け取り口</th>
        <th scope="col" data-ja="ファイル" data-en="File">ファイル</th>
        <th scope="col" data-ja="理由" data-en="Reason">理由</th>
        <th scope="col" data-ja="操作" data-en="Actions">操作</th>
      </tr></thead>
      <tbody></tbody>
    </table>
    <h2 id="heldrec-title" data-ja="保留中のレコード（ルートのマッピングが拒否、または受けるルートなし）" data-en="Held records (a route's mapping refused them, or no route takes them)">保留中のレコード（ルートのマッピングが拒否、または受けるルートなし）</h2>
    <p id="heldrec-none" data-ja="ありません。" data-en="None.">ありません。</p>
    <table id="heldrec">
      <thead><tr>
        <th scope="col" data-ja="送り元" data-en="Source">送り元</th>
        <th scope="col" data-ja="ルート" data-en="Route">ルート</th>
        <th scope="col" data-ja="レコード型" data-en="Record type">レコード型</th>
        <th scope="col" data-ja="件数" data-en="Records">件数</th>
        <th scope="col" data-ja="理由" data-en="Reasons">理由</th>
        <th scope="col" data-ja="操作" data-en="Actions">操作</th>
      </tr></thead>
      <tbody></tbody>
    </table>
    <h2 id="files-title" data-ja="取り込んだファイル（ルートごとに新しい 50 件）" data-en="Files taken in (the newest 50 per route)">取り込んだファイル（ルートごとに新しい 50 件）</h2>
    <p id="files-none" data-ja="ありません。" data-en="None.">ありません。</p>
    <table id="files">
      <thead><tr>
        <th scope="col" data-ja="ルート" data-en="Route">ルート</th>
        <th scope="col" data-ja="ファイル" data-en="File">ファイル</th>
        <th scope="col" data-ja="状態" data-en="State">状態</th>
        <th scope="col" data-ja="受け取り" data-en="Taken in">受け取り</th>
        <th scope="col" data-ja="理由" data-en="Why it failed">理由</th>
        <th scope="col" data-ja="操作" data-en="Actions">操作</th>
      </tr></thead>
      <tbody></tbody>
    </table>
    <section id="shown" hidden aria-live="polite">
      <h3 data-ja="不達の内容（この閲覧は監査証跡に残ります）" data-en="The dead letter's records (this look is in the audit trail)">不達の内容（この閲覧は監査証跡に残ります）</h3>
      <pre id="shown-text"></pre>
    </section>
    <h2 id="reports-title" data-ja="帳票" data-en="Reports">帳票</h2>
    <p id="reports-none" data-ja="この構成には帳票を出すモジュールがありません（または権限がありません）。" data-en="No module of this config has a report (or none you may see).">この構成には帳票を出すモジュールがありません（または権限がありません）。</p>
    <form id="report-form">
      <label for="report-page" data-ja="帳票" data-en="Report">帳票</label>
      <select id="report-page"></select>
      <label for="report-by" data-ja="集計の単位" data-en="Per">集計の単位</label>
      <select id="report-by"></select>
      <label for="report-from" data-ja="開始日" data-en="From">開始日</label>
      <input id="report-from" type="date" required>
      <label for="report-to" data-ja="終了日" data-en="To">終了日</label>
      <input id="report-to" type="date" required>
      <button type="submit" data-ja="表示する" data-en="Show">表示する</button>
    </form>
    <section id="report-view" hidden aria-live="polite">
      <table id="report-table"><caption id="report-caption" tabindex="-1"></caption><thead></thead><tbody></tbody></table>
      <p><a id="report-csv" href="/" data-ja="この帳票を CSV でダウンロード" data-en="Download this report as CSV">この帳票を CSV でダウンロード</a></p>
      <div id="report-chart"></div>
    </section>
    <h2 id="pages-title" data-ja="モジュールの帳票とページ" data-en="Modules' reports and pages">モジュールの帳票とページ</h2>
    <ul id="pages"></ul>
    <h2 id="calendar-title" data-ja="市の暦（今年の休日と開庁日）" data-en="The municipal calendar (this year's closed and service days)">市の暦（今年の休日と開庁日）</h2>
    <ul id="calendar"></ul>
    <h2 id="plugins-title" data-ja="プラグイン" data-en="Plugins">プラグイン</h2>
    <table id="plugins">
      <thead><tr>
        <th scope="col" data-ja="キー" data-en="Key">キー</th>
        <th scope="col" data-ja="版" data-en="Version">版</th>
        <th scope="col" data-ja="状態" data-en="Status">状態</th>
        <th scope="col" data-ja="この構成での ID" data-en="Instances here">この構成での ID</th>
        <th scope="col" data-ja="説明" data-en="Description">説明</th>
      </tr></thead>
      <tbody></tbody>
    </table>
  </section>
</main>
</body>
</html>
)html";

const char* const kPageCss = R"css(
[hidden] { display: none !important; }
:root { color: #111; background: #fff; font-family: "Noto Sans CJK JP", "IPAexGothic", sans-serif; }
body { margin: 0; line-height: 1.6; }
header { display: flex; gap: 1rem; align-items: center; padding: 0.5rem 1rem; background: #0b3d2e; color: #fff; }
header h1 { font-size: 1.25rem; margin: 0; flex: 1; color: #fff; }
main { padding: 1rem; max-width: 72rem; }
button { font: inherit; padding: 0.4rem 1rem; border: 2px solid #0b3d2e; background: #fff; color: #0b3d2e; border-radius: 4px; cursor: pointer; }
header button { border-color: #fff; background: #0b3d2e; color: #fff; }
button:focus, input:focus, select:focus, a:focus { outline: 3px solid #b35900; outline-offset: 2px; }
form { display: grid; gap: 0.25rem 1rem; max-width: 28rem; }
label { font-weight: bold; margin-top: 0.5rem; }
input, select { font: inherit; padding: 0.4rem; border: 2px solid #444; border-radius: 4px; color: #111; background: #fff; }
table { border-collapse: collapse; width: 100%; }
caption { text-align: left; color: #333; }
th, td { border: 1px solid #666; padding: 0.3rem 0.5rem; text-align: left; color: #111; }
th { background: #e8efe9; }
td button { margin: 0.1rem 0.25rem; }
a { color: #0b3d2e; }
img { max-width: 100%; height: auto; border: 1px solid #666; }
pre { white-space: pre-wrap; border: 1px solid #666; padding: 0.5rem; color: #111; background: #f7f7f7; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
td.bad { color: #8b0000; font-weight: bold; }
p.warning { color: #8b0000; font-weight: bold; border-left: 4px solid #8b0000; padding-left: 0.5rem; }
#status { min-height: 1.6em; color: #111; font-weight: bold; }
)css";

const char* const kPageJs = R"js(
"use strict";
const state = { csrf: "", lang: localStorage.getItem("renkei.lang") || "ja", timer: 0 };
const $ = (id) => document.getElementById(id);
const t = (ja, en) => (state.lang === "ja" ? ja : en);

function applyLang() {
  document.documentElement.lang = state.lang;
  for (const e of document.querySelectorAll("[data-ja]")) e.textContent = e.dataset[state.lang];
  const chart = $("routes-chart");
  if (!chart.dataset.altJa) chart.dataset.altJa = chart.alt;
  chart.alt = state.lang === "ja" ? chart.dataset.altJa : chart.dataset.altEn;
  $("lang").textContent = state.lang === "ja" ? "English" : "日本語";
  $("lang").lang = state.lang === "ja" ? "en" : "ja";
  document.title = $("title").textContent;
}

function show(id) {
  for (const s of ["login", "change", "dashboard"]) $(s).hidden = s !== id;
  $("logout").hidden = id === "login";
  // The focus where the work is: the form's first field, or the heading.
  const first = $(id).querySelector("input") || $(id).querySelector("h2");
  if (first) first.focus();
}

async function api(method, path, body, background, asText) {
  const r = await fetch(path, {
    method, credentials: "same-origin",
    // The page's own refresh is not the operator's use: it does not keep
    // an idle session alive.
    headers: Object.assign({ "Content-Type": "application/json" }, state.csrf ? { "X-CSRF-Token": state.csrf } : {},
                           background ? { "X-Renkei-Background": "1" } : {}),
    body: body ? JSON.stringify(body) : undefined,
  });
  let json = {}, text = "";
  if (asText) text = await r.text();
  else try { json = await r.json(); } catch (e) { json = {}; }
  if (r.status === 401 && path !== "/api/v1/login") {
    clearInterval(state.timer);
    state.csrf = "";
    $("status").textContent = t("サインインしてください（セッションが終了しました）。", "Please sign in (the session ended).");
    show("login");
  }
  return { status: r.status, json, text, type: r.headers.get("Content-Type") || "" };
}

// A table's rows from `items`: the cells as text (never markup), numbers
// right-aligned, the row's buttons last; "none" shown when there are none.
function fillTable(id, items, cellsOf, actionsOf, numbers) {
  const table = $(id);
  const body = table.querySelector("tbody");
  body.textContent = "";
  $(id + "-none").hidden = items.length > 0;
  table.hidden = items.length === 0;
  items.forEach((item, n) => {
    const tr = document.createElement("tr");
    cellsOf(item).forEach((v, i) => {
      const td = document.createElement("td");
      td.textContent = v === undefined || v === null ? "" : String(v);
      if (numbers && numbers.includes(i)) td.className = "number";
      tr.appendChild(td);
    });
    if (actionsOf) {
      const td = document.createElement("td");
      for (const b of actionsOf(item, n)) td.appendChild(b);
      tr.appendChild(td);
    }
    body.appendChild(tr);
  });
}

// RFC 4180 CSV (quoted cells, doubled quotes, CRLF or LF) into rows of cells.
function parseCsv(text) {
  const rows = [];
  let row = [], cell = "", quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; }
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") { row.push(cell); cell = ""; }
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(cell); rows.push(row); row = []; cell = "";
    } else cell += c;
  }
  if (cell !== "" || row.length) { row.push(cell); rows.push(row); }
  return rows;
}

function age(ms) {
  if (!ms) return "—";
  const s = Math.round(ms / 1000);
  if (s < 120) return s + t(" 秒", " s");
  if (s < 7200) return Math.round(s / 60) + t(" 分", " min");
  return Math.round(s / 3600) + t(" 時間", " h");
}

async function refresh() {
  const background = state.polled;
  state.polled = true;
  // The routes first (what an operator looks at first), then the rest, one
  // request at a time: the listener serves few connections per address.
  await refreshRoutes(background);
  await refreshDead(background);
  await refreshHeld(background);
  await refreshProblems(background);
  await refreshFiles(background);
  $("routes-chart").src = "/api/v1/routes.svg?at=" + Date.now() + (background ? "&background=1" : "");
}

async function refreshRoutes(background) {
  const r = await api("GET", "/api/v1/routes", undefined, background);
  if (r.status !== 200) return;
  const body = $("routes").querySelector("tbody");
  body.textContent = "";
  for (const q of r.json.queues) {
    const tr = document.createElement("tr");
    const cells = [q.route, q.target, q.pending_records, age(q.oldest_pending_ms), q.dead_batches,
                   q.delivered_records, q.last_error || ""];
    cells.forEach((v, i) => {
      const td = document.createElement("td");
      td.textContent = String(v);
      if (i >= 2 && i <= 5) td.className = "number";
      if (i === 4 && v > 0) td.className = "number bad";
      tr.appendChild(td);
    });
    const td = document.createElement("td");
    td.appendChild(button("直近 1 時間を再配信", "Replay the last hour", async () => {
      const a = await api("POST", "/api/v1/routes/" + encodeURIComponent(q.route) + "/replay?since=1h");
      $("status").textContent = a.status === 200 ? t("再配信: ", "Replayed: ") + q.route + " (" + a.json.replayed + ")"
                                                 : (a.json.error || String(a.status));
    }));
    tr.appendChild(td);
    body.appendChild(tr);
  }
}

function button(ja, en, action) {
  const b = document.createElement("button");
  b.type = "button";
  b.dataset.ja = ja;
  b.dataset.en = en;
  b.textContent = t(ja, en);
  b.addEventListener("click", action);
  return b;
}

async function refreshDead(background) {
  const r = await api("GET", "/api/v1/deadletters", undefined, background);
  if (r.status !== 200) return;
  const body = $("dead").querySelector("tbody");
  body.textContent = "";
  $("dead-none").hidden = r.json.dead.length > 0;
  $("dead").hidden = r.json.dead.length === 0;
  for (const d of r.json.dead) {
    const tr = document.createElement("tr");
    [d.batch, d.route, d.target, d.records, d.attempts, d.last_error].forEach((v, i) => {
      const td = document.createElement("td");
      td.textContent = String(v);
      if (i === 3 || i === 4) td.className = "number";
      tr.appendChild(td);
    });
    const td = document.createElement("td");
    td.appendChild(button("内容を見る", "Show", async () => {
      const s = await api("GET", "/api/v1/deadletters/" + encodeURIComponent(d.batch) + "?records=5");
      if (s.status !== 200) { $("status").textContent = s.json.error || String(s.status); return; }
      $("shown").hidden = false;
      $("shown-text").textContent = t("項目: ", "Fields: ") + s.json.fields.join(", ") + "\n" +
        (s.json.sealed ? t("（受け取る区域の鍵で封印されています）", "(sealed to the receiving zone's key)")
                       : (s.json.shown || []).map((o) => JSON.stringify(o)).join("\n"));
    }));
    td.appendChild(button("再送する", "Resubmit", async () => {
      const s = await api("POST", "/api/v1/deadletters/" + encodeURIComponent(d.batch) + "/resubmit");
      $("status").textContent = s.status === 200 ? t("再送しました: ", "Resubmitted: ") + d.batch
                                                 : (s.json.error || String(s.status));
      refreshDead(false);
    }));
    tr.appendChild(td);
    body.appendChild(tr);
  }
}

async function refreshProblems(background) {
  const r = await api("GET", "/api/v1/problems", undefined, background);
  if (r.status !== 200) return;
  const body = $("refused").querySelector("tbody");
  body.textContent = "";
  $("refused-none").hidden = r.json.refused.length > 0;
  $("refused").hidden = r.json.refused.length === 0;
  refreshHeldRecords(r.json.held);
  fillTable("open", r.json.open || [], (p) => [p.kind, p.subject, p.detail]);
  const b = r.json.backup;
  $("backup").textContent = !b ? t("設定にバックアップ（<backup>）がありません。", "No <backup> in the config.")
      : !b.last ? t("検証済みのバックアップがありません（" + b.folder + "）。", "No verified backup (" + b.folder + ").")
      : t("最後の検証済みバックアップ: " + b.last + "（" + b.age_hours + " 時間前）、" + b.generations + " 世代（" + b.folder + "）",
          "Last verified backup: " + b.last + " (" + b.age_hours + " h ago), " + b.generations + " generations (" + b.folder + ")") +
        (b.stale ? t("。max-age より古くなっています。", ". Older than max-age.") : "");
  $("backup").className = b && (b.stale || !b.last) ? "warning" : "";
  for (const p of r.json.refused) {
    const tr = document.createElement("tr");
    for (const v of [p.source, p.item, p.reason, p.at]) {
      const td = document.createElement("td");
      td.textContent = v;
      tr.appendChild(td);
    }
    const td = document.createElement("td");
    td.appendChild(button("確認済みにする", "Acknowledge", async () => {
      const a = await api("POST", "/api/v1/problems/" + p.id + "/ack");
      $("status").textContent = a.status === 200 ? t("確認済みにしました: ", "Acknowledged: ") + p.item : (a.json.error || String(a.status));
      refreshProblems(false);
    }));
    tr.appendChild(td);
    body.appendChild(tr);
  }
}

function refreshHeldRecords(held) {
  fillTable("heldrec", held, (h) => [h.emitter, h.route || t("（受けるルートなし）", "(no route takes them)"), h.record_type, h.held, h.reasons],
    (h) => [button("再送する", "Resubmit", async () => {
      const a = await api("POST", "/api/v1/held/resubmit?emitter=" + encodeURIComponent(h.emitter) +
                                  (h.route ? "&route=" + encodeURIComponent(h.route) : ""));
      $("status").textContent = a.status === 200 ? t("再送を依頼しました: ", "Resubmit asked: ") + h.emitter + " (" + a.json.resubmitted + ")"
                                                 : (a.json.error || String(a.status));
      refreshProblems(false);
    })], [3]);
}

async function refreshFiles(background) {
  const r = await api("GET", "/api/v1/files", undefined, background);
  if (r.status !== 200) return;
  const names = { done: t("完了", "done"), failed: t("失敗", "failed"), processing: t("取り込み中", "taking in") };
  fillTable("files", r.json.files, (f) => [f.route, f.name, (names[f.state] || f.state) + (f.generation ? " (" + t("再取り込み ", "generation ") + f.generation + ")" : "") +
                                            (f.reprocess_asked ? t("・再取り込み待ち", ", reprocess asked") : ""), f.first_seen, f.note],
    (f) => f.state === "processing" || f.reprocess_asked ? [] : [button("再取り込みする", "Reprocess", async () => {
      const a = await api("POST", "/api/v1/files/reprocess?route=" + encodeURIComponent(f.route) + "&file=" + encodeURIComponent(f.name));
      $("status").textContent = a.status === 200 ? t("再取り込みを依頼しました: ", "Reprocess asked: ") + f.name
                                                 : (a.json.error || String(a.status));
      refreshFiles(false);
    })]);
}

async function refreshHeld(background) {
  const index = await api("GET", "/plugins", undefined, background);
  const body = $("held").querySelector("tbody");
  if (index.status !== 200) return;
  const rows = [], exports = [];
  for (const p of index.json.pages.filter((p) => p.path.endsWith("/pending"))) {
    const r = await api("GET", p.path, undefined, background);
    if (r.status !== 200 || !Array.isArray(r.json.pending)) continue;
    for (const b of r.json.pending) rows.push({ base: p.path.slice(0, -"pending".length), bundle: b.bundle, holds: b.holds });
  }
  for (const p of index.json.pages.filter((p) => p.path.endsWith("/held"))) {
    const r = await api("GET", p.path, undefined, background);
    if (r.status !== 200 || !Array.isArray(r.json.held)) continue;
    for (const h of r.json.held) exports.push({ base: p.path.slice(0, -"held".length), connector: r.json.connector, file: h.file, reason: h.reason });
  }
  // Taking a held export in removes the residents it lacks: asked twice.
  fillTable("exports", exports, (e) => [e.connector, e.file, e.reason], (e) => [button("このまま取り込む", "Take it in as it is", async () => {
    if (!window.confirm(t("「" + e.file + "」を、削除を含めてそのまま取り込みます。よろしいですか？",
                          "Take '" + e.file + "' in as it is, removals included?"))) return;
    const a = await api("POST", e.base + "release?file=" + encodeURIComponent(e.file));
    $("status").textContent = a.status === 200 ? t("取り込みを許可しました: ", "Released: ") + e.file : (a.json.message || a.json.error || String(a.status));
    refreshHeld(false);
  })]);
  body.textContent = "";
  $("held-none").hidden = rows.length > 0;
  $("held").hidden = rows.length === 0;
  rows.forEach((row, n) => {
    const tr = document.createElement("tr");
    for (const v of [row.bundle, row.holds]) {
      const td = document.createElement("td");
      td.textContent = v;
      tr.appendChild(td);
    }
    const td = document.createElement("td");
    const act = async (what, reason) => {
      const q = "?bundle=" + encodeURIComponent(row.bundle) + (reason ? "&reason=" + encodeURIComponent(reason) : "");
      const r = await api("POST", row.base + what + q);
      $("status").textContent = r.status === 200 ? (what === "approve" ? t("承認しました: ", "Approved: ") : t("却下しました: ", "Rejected: ")) + row.bundle
                                                 : (r.json.message || r.json.error || String(r.status));
      refreshHeld(false);
    };
    td.appendChild(button("承認する", "Approve", () => act("approve")));
    const label = document.createElement("label");
    label.htmlFor = "reason-" + n;
    label.dataset.ja = "却下の理由";
    label.dataset.en = "Reason to reject";
    label.textContent = t("却下の理由", "Reason to reject");
    const reason = document.createElement("input");
    reason.id = "reason-" + n;
    td.appendChild(label);
    td.appendChild(reason);
    td.appendChild(button("却下する", "Reject", () => act("reject", reason.value)));
    tr.appendChild(td);
    body.appendChild(tr);
  });
}

async function refreshPages() {
  const r = await api("GET", "/plugins");
  if (r.status !== 200) return;
  const list = $("pages");
  list.textContent = "";
  setupReports(r.json.pages);
  const today = localDay();
  for (const p of r.json.pages) {
    if (/\/(approve|reject|release)$/.test(p.path)) continue;  // buttons above, not links
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = p.path + (p.path.endsWith("/report") ? "?by=day&from=" + today + "&to=" + today : "");
    a.textContent = p.path;
    li.appendChild(a);
    li.appendChild(document.createTextNode(" — " + p.help + " (" + p.permission + ")"));
    list.appendChild(li);
  }
}

// The reports: every plugin page named "report". Its help names its
// groupings as by=a|b|c; each takes from=, to= and format=csv|svg.
const byNames = { day: ["日", "day"], hour: ["時間帯", "hour"], month: ["月", "month"], procedure: ["手続", "procedure"],
                  counter: ["窓口", "counter"], form: ["様式", "form"], department: ["担当課", "department"],
                  municipality: ["市区町村", "municipality"] };
function setupReports(pages) {
  const reports = pages.filter((p) => p.path.endsWith("/report"));
  $("reports-none").hidden = reports.length > 0;
  $("report-form").hidden = reports.length === 0;
  const select = $("report-page");
  select.textContent = "";
  for (const p of reports) {
    const o = document.createElement("option");
    o.value = p.path;
    o.textContent = p.path.split("/")[2] + " — " + p.help.split(" (")[0];
    o.dataset.by = (p.help.match(/by=([a-z|]+)/) || ["", ""])[1];
    select.appendChild(o);
  }
  const groupings = () => {
    const by = $("report-by");
    by.textContent = "";
    const chosen = select.selectedOptions[0];
    const list = chosen && chosen.dataset.by ? chosen.dataset.by.split("|") : [];
    by.disabled = list.length === 0;
    for (const b of list) {
      const o = document.createElement("option");
      o.value = b;
      o.textContent = byNames[b] ? t(byNames[b][0], byNames[b][1]) : b;
      by.appendChild(o);
    }
  };
  select.onchange = groupings;
  groupings();
  const today = localDay();
  if (!$("report-from").value) $("report-from").value = today;
  if (!$("report-to").value) $("report-to").value = today;
}

function localDay() {
  if (state.today) return state.today;  // the municipality's day, from the host
  const d = new Date();
  return d.getFullYear() + "-" + String(d.getMonth() + 1).padStart(2, "0") + "-" + String(d.getDate()).padStart(2, "0");
}

async function showReport() {
  const path = $("report-page").value;
  if (!path) return;
  let q = "?from=" + encodeURIComponent($("report-from").value) + "&to=" + encodeURIComponent($("report-to").value);
  if (!$("report-by").disabled && $("report-by").value) q += "&by=" + encodeURIComponent($("report-by").value);
  const r = await api("GET", path + q + "&format=csv", undefined, false, true);
  if (r.status !== 200 || !r.type.startsWith("text/csv")) {
    $("status").textContent = t("帳票を出せませんでした: ", "The report failed: ") + (r.text || String(r.status)).trim();
    return;
  }
  const rows = parseCsv(r.text);
  const table = $("report-table");
  const head = table.querySelector("thead"), body = table.querySelector("tbody");
  head.textContent = "";
  body.textContent = "";
  const label = $("report-page").selectedOptions[0].textContent;
  $("report-caption").textContent = label + " " + $("report-from").value + " – " + $("report-to").value +
    t("（" + Math.max(rows.length - 1, 0) + " 行）", " (" + Math.max(rows.length - 1, 0) + " rows)");
  const tr = document.createElement("tr");
  for (const name of rows[0] || []) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = name;
    tr.appendChild(th);
  }
  head.appendChild(tr);
  for (const row of rows.slice(1)) {
    const tr = document.createElement("tr");
    for (const v of row) {
      const td = document.createElement("td");
      td.textContent = v;
      if (/^-?[0-9]+(\.[0-9]+)?$/.test(v)) td.className = "number";
      tr.appendChild(td);
    }
    body.appendChild(tr);
  }
  const csv = $("report-csv");
  csv.href = path + q + "&format=csv";
  csv.download = "renkei-" + path.split("/")[2] + "-report-" + $("report-from").value + ".csv";
  const chart = $("report-chart");
  chart.textContent = "";
  const img = document.createElement("img");
  img.src = path + q + "&format=svg";
  img.width = 720;
  img.alt = t("上の表の件数のグラフ", "A chart of the counts in the table above");
  chart.appendChild(img);
  $("report-view").hidden = false;
  $("report-caption").focus();
}

async function refreshCalendar() {
  const year = new Date().getFullYear();
  const r = await api("GET", "/api/v1/calendar?year=" + year);
  const list = $("calendar");
  list.textContent = "";
  if (r.status !== 200) {
    const li = document.createElement("li");
    li.textContent = r.json.error || String(r.status);
    list.appendChild(li);
    return;
  }
  if (!r.json.configured) {
    const li = document.createElement("li");
    li.textContent = t("この構成には市の暦がありません（<calendar file=…/>）。", "This config has no municipal calendar (<calendar file=…/>).");
    list.appendChild(li);
  }
  for (const d of r.json.days) {
    const li = document.createElement("li");
    li.textContent = d.date + " " + (d.name || d.kind) + (d.open ? t("（開庁）", " (open)") : "");
    list.appendChild(li);
  }
}

async function refreshPlugins() {
  const r = await api("GET", "/api/v1/plugins");
  if (r.status !== 200) return;
  const body = $("plugins").querySelector("tbody");
  body.textContent = "";
  for (const p of r.json.plugins) {
    const tr = document.createElement("tr");
    for (const v of [p.key, p.version, p.status, p.instances.join(", "), p.description]) {
      const td = document.createElement("td");
      td.textContent = v;
      tr.appendChild(td);
    }
    body.appendChild(tr);
  }
}

async function dashboard(me) {
  state.polled = false;
  state.today = me.today || "";
  $("who").textContent = t("サインイン中: ", "Signed in: ") + me.user +
    (me.last_login ? t("（前回のサインイン: ", " (last sign-in: ") + me.last_login + t(" ", " from ") + me.last_login_from + t(" から）", ")") : "");
  show("dashboard");
  await refresh();
  await refreshPages();
  await refreshPlugins();
  await refreshCalendar();
  state.timer = setInterval(refresh, 5000);
}

async function start() {
  applyLang();
  $("lang").addEventListener("click", () => {
    state.lang = state.lang === "ja" ? "en" : "ja";
    localStorage.setItem("renkei.lang", state.lang);
    applyLang();
  });
  $("login").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const r = await api("POST", "/api/v1/login", { user: $("user").value, password: $("password").value, code: $("code").value });
    $("password").value = "";
    $("code").value = "";
    if (r.status !== 200) {
      $("status").textContent = r.status === 403 && r.json.error ? r.json.error
        : t("サインインできませんでした。ID、パスワード、確認コードを確かめてください（続けて失敗すると一時的にロックされます）。",
            "Sign-in failed: check the id, password and code (repeated failures lock the operator out for a while).");
      $("user").focus();
      return;
    }
    state.csrf = r.json.csrf;
    $("status").textContent = "";
    if (r.json.must_change_password) return show("change");
    dashboard(r.json);
  });
  $("change").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const r = await api("POST", "/api/v1/password", { old: $("old").value, new: $("new").value });
    $("old").value = "";
    $("new").value = "";
    if (r.status !== 200) { $("status").textContent = r.json.error || "?"; return; }
    $("status").textContent = t("パスワードを変更しました。", "The password is changed.");
    const me = await api("GET", "/api/v1/me");
    if (me.status === 200) dashboard(me.json);
  });
  $("report-form").addEventListener("submit", (ev) => { ev.preventDefault(); showReport(); });
  $("logout").addEventListener("click", async () => {
    clearInterval(state.timer);
    await api("POST", "/api/v1/logout");
    state.csrf = "";
    $("status").textContent = t("サインアウトしました。", "Signed out.");
    show("login");
  });
  // Still signed in (the cookie)? Else the sign-in form, without a message.
  const me = await api("GET", "/api/v1/me");
  if (me.status === 200) { state.csrf = me.json.csrf; dashboard(me.json); return; }
  $("status").textContent = "";
  show("login");
}
document.addEventListener("DOMContentLoaded", start);
)js";

}  // namespace renkei::console
