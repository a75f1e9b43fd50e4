// What the companion reads: the authentication cookies of airbnb.com, the domain
// airbnb-sync talks to, and nothing else.

export const AIRBNB_DOMAIN = "airbnb.com";
// The nine cookies Airbnb authenticates with (airbnb_sync/airbnb/cookies.py AUTH_COOKIES).
export const AUTH_COOKIES = [
  "_airbed_session_id", "_aaj", "_aat", "auth_jitney_session_id", "hli", "li",
  "_user_attributes", "_pt", "rclu",
];
// Without these two Airbnb cannot tell who is asking: the host is signed in when both exist.
export const SIGNED_IN_COOKIES = ["_aat", "_user_attributes"];

export const api = globalThis.browser ?? globalThis.chrome;

export function isAirbnbHost(hostname) {
  const host = (hostname || "").toLowerCase().replace(/^\./, "");
  return host === AIRBNB_DOMAIN || host.endsWith("." + AIRBNB_DOMAIN);
}

export function isAirbnbUrl(url) {
  try {
    const parsed = new URL(url);
    return parsed.protocol === "https:" && isAirbnbHost(parsed.hostname);
  } catch {
    return false;
  }
}

// The authentication cookies of airbnb.com and its subdomains. chrome.cookies' domain filter
// already keeps airbnb.com and its subdomains only; the check is repeated here so that no
// other domain's cookie can ever leave, whatever the browser hands back.
export async function readAuthCookies() {
  const all = await api.cookies.getAll({domain: AIRBNB_DOMAIN});
  return all
    .filter((cookie) => isAirbnbHost(cookie.domain) && AUTH_COOKIES.includes(cookie.name))
    .map((cookie) => ({
      name: cookie.name,
      value: cookie.value,
      domain: cookie.domain,
      expires: cookie.session ? null : (cookie.expirationDate ?? null),
    }));
}

export function isSignedIn(cookies) {
  return SIGNED_IN_COOKIES.every((name) => cookies.some((cookie) => cookie.name === name));
}

// The signed-in user's id, from _user_attributes (URL-encoded JSON with id_str or id).
export function signedInUser(cookies) {
  const attributes = cookies.find((cookie) => cookie.name === "_user_attributes");
  if (!attributes) return null;
  try {
    const data = JSON.parse(decodeURIComponent(attributes.value));
    const id = data.id_str ?? data.id;
    return id === undefined || id === null ? null : String(id);
  } catch {
    return null;
  }
}
