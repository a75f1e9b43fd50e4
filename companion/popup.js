// The popup: what is configured, the last result, and the button that sends now.

import {api} from "./airbnb.js";
import {readOptions, readState} from "./store.js";

const $ = (id) => document.getElementById(id);

function show(result) {
  const box = $("result");
  if (!result) {
    box.textContent = "Nothing sent yet.";
    box.className = "result";
    return;
  }
  box.className = `result ${result.ok ? "ok" : "failed"}`;
  box.replaceChildren();
  const line = document.createElement("div");
  line.textContent = `${result.ok ? "Sent" : "Not sent"}: ${result.message}`;
  const meta = document.createElement("div");
  meta.className = "meta";
  const when = new Date(result.at).toLocaleString();
  const how = {button: "on your click", visit: "on a visit to airbnb.com",
               "sign-in": "when you signed in"}[result.trigger] ?? result.trigger;
  meta.textContent = `${when}, ${how}${result.status ? ` (HTTP ${result.status})` : ""}`;
  box.append(line, meta);
}

async function render() {
  const options = await readOptions();
  $("account").textContent = options ? options.accountId : "not set up";
  $("server").textContent = options ? options.server : "-";
  show((await readState()).lastResult);
}

$("send").addEventListener("click", async () => {
  const button = $("send");
  button.disabled = true;
  button.textContent = "Sending...";
  try {
    show(await api.runtime.sendMessage({type: "send"}));
  } finally {
    button.disabled = false;
    button.textContent = "Send my Airbnb session now";
  }
});

$("options").addEventListener("click", (event) => {
  event.preventDefault();
  api.runtime.openOptionsPage();
});

render();
