// The companion's background: sends the session when the host is on airbnb.com and signed
// in (a page of airbnb.com finished loading, or its sign-in cookies were just set), at most
// once every few hours, and whenever the popup's button asks.

import {SIGNED_IN_COOKIES, api, isAirbnbHost, isAirbnbUrl} from "./airbnb.js";
import {sendSession} from "./send.js";

// A sign-in sets several cookies at once: wait for the last before reading them.
const SIGN_IN_SETTLE_MS = 1500;
let settle = null;

api.tabs.onUpdated.addListener((tabId, change, tab) => {
  // tab.url is known only for pages the companion has host permission for: airbnb.com.
  if (change.status === "complete" && isAirbnbUrl(tab.url)) {
    sendSession("visit").catch(() => {});
  }
});

api.cookies.onChanged.addListener(({cookie, removed}) => {
  if (removed || !SIGNED_IN_COOKIES.includes(cookie.name) || !isAirbnbHost(cookie.domain)) {
    return;
  }
  clearTimeout(settle);
  settle = setTimeout(() => sendSession("sign-in").catch(() => {}), SIGN_IN_SETTLE_MS);
});

api.runtime.onMessage.addListener((message, sender, reply) => {
  // Only the companion's own pages talk to it (no content script, no web page can).
  if (sender.id !== api.runtime.id || message?.type !== "send") return false;
  sendSession("button").then(reply, (error) => reply({ok: false, message: String(error)}));
  return true;
});
