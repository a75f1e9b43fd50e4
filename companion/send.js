// Posting the session to the airbnb-sync server: POST <server>/api/v1/accounts/{id}/session
// with the account-scoped bearer token, {"cookies": [{name, value, domain, expires}],
// "user_agent"}. Automatic sends happen at most once every SEND_INTERVAL_MS; a click always
// sends. Only the outcome is kept (no cookie value), for the popup.

import {api, isSignedIn, readAuthCookies, signedInUser} from "./airbnb.js";
import {readOptions, readState, writeState} from "./store.js";

export const SEND_INTERVAL_MS = 4 * 60 * 60 * 1000;
// After a failure (server down, token revoked) an automatic send is tried again this soon.
export const RETRY_AFTER_FAILURE_MS = 15 * 60 * 1000;
const TIMEOUT_MS = 20 * 1000;

let inFlight = null;

// One attempt at a time: a click during an automatic send gets that send's result.
export function sendSession(trigger) {
  if (!inFlight) {
    inFlight = attempt(trigger).finally(() => {
      inFlight = null;
    });
  }
  return inFlight;
}

export function serverOrigin(server) {
  return new URL(server).origin;
}

function due(state, now) {
  const since = (time) => (time ? now - Date.parse(time) : Infinity);
  return since(state.sentAt) >= SEND_INTERVAL_MS && since(state.failedAt) >= RETRY_AFTER_FAILURE_MS;
}

async function attempt(trigger) {
  const manual = trigger === "button";
  const now = Date.now();
  const options = await readOptions();
  const state = await readState();
  if (!options) {
    return manual ? finish(state, trigger, false, null,
      "not set up yet: open the options and enter the server, the token and the account id")
      : {skipped: "not set up"};
  }
  if (!manual && !due(state, now)) return {skipped: "sent recently"};
  const cookies = await readAuthCookies();
  if (!isSignedIn(cookies)) {
    return manual ? finish(state, trigger, false, null,
      "not signed in to airbnb.com: sign in as the host there, then click again")
      : {skipped: "not signed in"};
  }
  const user = signedInUser(cookies);
  if (user !== options.accountId) {
    return finish(state, trigger, false, null,
      `signed in to Airbnb as user ${user ?? "(unknown)"}, not as account ${options.accountId}: ` +
      "nothing was sent; sign in as that host, or change the account in the options");
  }
  const origin = serverOrigin(options.server);
  if (!(await api.permissions.contains({origins: [`${origin}/*`]}))) {
    return finish(state, trigger, false, null,
      `the companion may not reach ${origin}: open the options and save them again to allow it`);
  }
  const url = `${options.server}/api/v1/accounts/${encodeURIComponent(options.accountId)}/session`;
  const body = JSON.stringify({cookies, user_agent: navigator.userAgent});
  let response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: {"Authorization": `Bearer ${options.token}`, "Content-Type": "application/json"},
      body,
      credentials: "omit",
      cache: "no-store",
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (error) {
    return finish(state, trigger, false, null, `could not reach ${origin} (${error.name})`);
  }
  const answer = await response.json().catch(() => null);
  if (!response.ok) {
    const reason = answer?.detail || answer?.title || response.statusText || "no reason given";
    return finish(state, trigger, false, response.status, `the server refused: ${reason}`);
  }
  const kept = Array.isArray(answer?.cookies_kept) ? answer.cookies_kept.length : cookies.length;
  return finish(state, trigger, true, response.status,
    `session stored for account ${options.accountId} (${kept} cookies kept; auth status ` +
    `${answer?.auth_status ?? "unknown"} until the next sync confirms it)`);
}

async function finish(state, trigger, ok, status, message) {
  const at = new Date().toISOString();
  const result = {at, trigger, ok, status, message};
  await writeState({
    lastResult: result,
    sentAt: ok ? at : state.sentAt,
    failedAt: ok ? null : at,
  });
  await api.action.setBadgeText({text: ok ? "" : "!"});
  await api.action.setBadgeBackgroundColor({color: "#c13515"});
  return result;
}
