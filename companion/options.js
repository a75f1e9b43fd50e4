// The options page: the server, the account and its token. Saving asks the browser for
// permission to reach that server (and drops the permission of a server used before).

import {api} from "./airbnb.js";
import {serverOrigin} from "./send.js";
import {readOptions, readState, writeOptions, writeState} from "./store.js";

const $ = (id) => document.getElementById(id);
const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

function say(text, ok) {
  const box = $("message");
  box.hidden = false;
  box.className = `result ${ok ? "ok" : "failed"}`;
  box.textContent = text;
}

// The form's values, checked; throws an Error whose message says what to fix.
function readForm() {
  const raw = $("server").value.trim();
  let url;
  try {
    url = new URL(raw);
  } catch {
    throw new Error("the server address is not a URL: give it like https://sync.example.com");
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && LOOPBACK.has(url.hostname))) {
    throw new Error("the server address must start with https:// (plain http:// only for this " +
                    "computer: localhost or 127.0.0.1)");
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new Error("the server address must not hold a user, a password, a query or a #");
  }
  const accountId = $("accountId").value.trim();
  if (accountId && !/^[0-9]{1,20}$/.test(accountId)) {
    throw new Error("the account id must be your Airbnb user id: 1 to 20 digits (or leave it " +
                    "empty: the token's account is used)");
  }
  const token = $("token").value.trim();
  if (!token || /\s/.test(token)) {
    throw new Error("the token is missing or has spaces: paste it as printed, on one line");
  }
  return {server: `${url.origin}${url.pathname}`.replace(/\/+$/, ""), accountId, token};
}

$("form").addEventListener("submit", async (event) => {
  event.preventDefault();
  let options;
  try {
    options = readForm();
  } catch (error) {
    say(error.message, false);
    return;
  }
  const origin = serverOrigin(options.server);
  // Asked first, while the click still counts as the user's gesture.
  const allowed = await api.permissions.request({origins: [`${origin}/*`]});
  if (!allowed) {
    say(`Not saved: the companion needs your permission to reach ${origin}.`, false);
    return;
  }
  try {
    options.accountId = await tokensAccount(options);
  } catch (error) {
    say(`Not saved: ${error.message}`, false);
    return;
  }
  $("accountId").value = options.accountId;
  const previous = await readOptions();
  if (previous && serverOrigin(previous.server) !== origin) {
    await api.permissions.remove({origins: [`${serverOrigin(previous.server)}/*`]});
  }
  await writeOptions(options);
  // A new server or account gets the session at the next visit, not in a few hours.
  const state = await readState();
  await writeState({...state, sentAt: null, failedAt: null});
  say(`Saved for account ${options.accountId}. Your session goes to ${origin} the next time ` +
      "you visit airbnb.com signed in, or when you click the companion's button.", true);
});

// The account the token may change, asked of the server: this checks the address and the
// token before anything is saved, and fills in the account id when it was left empty.
async function tokensAccount(options) {
  const path = options.accountId ? `/api/v1/accounts/${options.accountId}`
    : "/api/v1/accounts?limit=2";
  let response;
  try {
    response = await fetch(options.server + path, {
      headers: {"Authorization": `Bearer ${options.token}`},
      credentials: "omit", cache: "no-store", signal: AbortSignal.timeout(15000),
    });
  } catch (error) {
    throw new Error(`the server at ${serverOrigin(options.server)} cannot be reached (${error.name})`);
  }
  const answer = await response.json().catch(() => null);
  if (response.status === 401) throw new Error("the server does not accept this token");
  if (response.status === 404 && options.accountId) {
    throw new Error(`this token cannot see account ${options.accountId}: use the token made ` +
                    "for that account, or leave the account id empty");
  }
  if (!response.ok) {
    throw new Error(answer?.detail || `the server answered HTTP ${response.status}`);
  }
  if (options.accountId) return options.accountId;
  const items = answer?.items ?? [];
  if (items.length !== 1) {
    throw new Error("this token is not limited to one account: create one with " +
                    "`airbnb-sync api token create --name NAME --account ID`, or enter the " +
                    "account id");
  }
  return String(items[0].account_id);
}

async function fill() {
  const options = await readOptions();
  if (!options) return;
  $("server").value = options.server;
  $("accountId").value = options.accountId;
  $("token").value = options.token;
}

fill();
