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
  if (!/^[0-9]{1,20}$/.test(accountId)) {
    throw new Error("the account id must be your Airbnb user id: 1 to 20 digits");
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
  const previous = await readOptions();
  if (previous && serverOrigin(previous.server) !== origin) {
    await api.permissions.remove({origins: [`${serverOrigin(previous.server)}/*`]});
  }
  await writeOptions(options);
  // A new server or account gets the session at the next visit, not in a few hours.
  const state = await readState();
  await writeState({...state, sentAt: null, failedAt: null});
  say(`Saved. Your session goes to ${origin} the next time you visit airbnb.com signed in, ` +
      "or when you click the companion's button.", true);
});

async function fill() {
  const options = await readOptions();
  if (!options) return;
  $("server").value = options.server;
  $("accountId").value = options.accountId;
  $("token").value = options.token;
}

fill();
