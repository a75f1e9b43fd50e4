// The invite page's script: served as a file (the Content-Security-Policy forbids inline
// code), talks to this server only. The link's token is the URL's fragment, which browsers
// never send to a server; it travels in the body of each request instead.
"use strict";

const BASE = "/api/v1/invite/";
const $ = (id) => document.getElementById(id);
const token = decodeURIComponent(window.location.hash.slice(1));
let checkedPaste = null;

async function post(path, body) {
  let response;
  try {
    response = await fetch(BASE + path, {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({token, ...body}),
      credentials: "omit",
      cache: "no-store",
    });
  } catch {
    return {ok: false, status: 0,
            data: {detail: "the server cannot be reached: check your connection and try again"}};
  }
  const data = await response.json().catch(() => ({}));
  return {ok: response.ok, status: response.status, data};
}

// The server's sentences start in lower case (they also end up in logs and clients).
const sentence = (text) => text ? text.charAt(0).toUpperCase() + text.slice(1) : "";

function problem(text) {
  const box = $("problem");
  box.hidden = !text;
  box.textContent = sentence(text);
}

function closeForm(reason) {
  document.body.dataset.state = "closed";
  $("form").hidden = true;
  $("steps").hidden = true;
  const status = $("status");
  status.className = "problem";
  status.textContent = sentence(reason);
}

function item(list, text) {
  const li = document.createElement("li");
  li.textContent = text;
  list.append(li);
}

function showPreview(summary) {
  const kept = $("kept");
  const dropped = $("dropped");
  kept.replaceChildren();
  dropped.replaceChildren();
  item(kept, `Your Airbnb user id: ${summary.account_id}`);
  item(kept, `${summary.kept.cookies.length} sign-in cookies: ${summary.kept.cookies.join(", ")}`);
  item(kept, `Browser (User-Agent): ${summary.kept.user_agent ?? "not in the paste"}`);
  item(kept, `Airbnb web version (X-Client-Version): ${summary.kept.x_client_version ??
    "not in the paste"}`);
  if (summary.kept.api_key) item(kept, "Airbnb's web API key (X-Airbnb-API-Key)");
  const others = summary.dropped.cookies;
  item(dropped, others.length ? `${others.length} other cookies (${others.join(", ")})`
    : "no other cookies");
  if (summary.dropped.headers.length) {
    item(dropped, `other headers: ${summary.dropped.headers.join(", ")}`);
  }
  item(dropped, "the address and body of the request");
  item(dropped, "the paste itself: it is read once and forgotten");
  $("preview").hidden = false;
}

async function check() {
  const paste = $("paste").value;
  problem("");
  $("preview").hidden = true;
  if (!paste.trim()) {
    problem("Paste the copied request first.");
    return;
  }
  $("check").disabled = true;
  const answer = await post("preview", {paste});
  $("check").disabled = false;
  if (!answer.ok) {
    if (answer.status === 404 || answer.status === 410) closeForm(answer.data.detail);
    else problem(answer.data.detail || `The server refused the paste (HTTP ${answer.status}).`);
    return;
  }
  checkedPaste = paste;
  showPreview(answer.data);
}

async function submit() {
  if (checkedPaste === null) return;
  problem("");
  $("submit").disabled = true;
  const answer = await post("accept", {paste: checkedPaste});
  if (!answer.ok) {
    $("submit").disabled = false;
    if (answer.status === 404 || answer.status === 410) closeForm(answer.data.detail);
    else problem(answer.data.detail || `The server refused the paste (HTTP ${answer.status}).`);
    return;
  }
  const done = answer.data;
  $("form").hidden = true;
  $("steps").hidden = true;
  $("status").hidden = true;
  document.body.dataset.state = "done";
  const result = $("result");
  result.hidden = false;
  result.textContent = done.registered
    ? `Done: Airbnb host ${done.account_id} is registered, and its insights will be synced. ` +
      "You can close this page."
    : `Done: the Airbnb session of account ${done.account_id} is stored, and syncing goes on ` +
      "with it. You can close this page.";
}

async function start() {
  $("check").addEventListener("click", check);
  $("submit").addEventListener("click", submit);
  $("paste").addEventListener("input", () => {
    checkedPaste = null;
    $("preview").hidden = true;
  });
  if (!token) {
    closeForm("This page needs the whole invite link, with everything after the #: open " +
              "the link you were sent again.");
    return;
  }
  const answer = await post("status", {});
  if (!answer.ok) {
    closeForm(answer.data.detail || `This link cannot be used (HTTP ${answer.status}).`);
    return;
  }
  const invite = answer.data;
  const until = new Date(invite.expires_at).toLocaleString();
  const who = invite.account_id
    ? `the Airbnb session of host account ${invite.account_id}` +
      (invite.label ? ` (${invite.label})` : "")
    : "your Airbnb host account" + (invite.label ? ` (${invite.label})` : "");
  $("status").textContent = `This link lets you send ${who} to airbnb-sync. It works once, ` +
    `until ${until}.`;
  document.body.dataset.state = "open";
}

start();
