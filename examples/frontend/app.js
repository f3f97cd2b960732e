// The P2P example: sends the form as JSON to a sync channel of syncbridge and
// shows what came back. No business logic: the process behind the channel
// checks and decides; this page only tells its answers apart for display.
"use strict";

const form = document.getElementById("transfer");
const button = document.getElementById("send");
const channel = document.getElementById("channel");
const result = document.getElementById("result");
const title = document.getElementById("result-title");
const text = document.getElementById("result-text");
const raw = document.getElementById("raw");
const rawText = document.getElementById("raw-text");

channel.value = new URLSearchParams(location.search).get("channel") || "";
if (!channel.value) channel.closest("details").open = true;

// state: waiting | ok | declined | timeout | error
function show(state, heading, message, answer) {
  result.hidden = false;
  result.dataset.state = state;
  title.textContent = heading;
  text.textContent = message || "";
  raw.hidden = answer === undefined;
  rawText.textContent = answer === undefined ? "" : answer;
}

function parse(body) {
  try {
    return JSON.parse(body);
  } catch {
    return null;
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const data = {
    from: form.elements.from.value,
    to: form.elements.to.value,
    amount: form.elements.amount.valueAsNumber,
  };
  button.disabled = true;
  form.setAttribute("aria-busy", "true");
  show("waiting", "Waiting for the process…", "The transfer was sent; the channel answers when the process does.");
  const started = performance.now();
  let response, body;
  try {
    response = await fetch(channel.value, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(data),
    });
    body = await response.text();
  } catch (err) {
    show(
      "error",
      "No answer could be read",
      "The channel could not be reached, or the browser blocked its answer (CORS: is this page's origin " +
        location.origin + " in the channel's opts.cors_origins?). " + err.message,
    );
    return done();
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const answer = `HTTP ${response.status} after ${seconds} s\n${body}`;
  const json = parse(body);
  if (json && json.result === "ok") {
    show(
      "ok",
      "Transfer done",
      `Transfer ${json.transfer_id}: ${json.amount} from ${json.from} to ${json.to}.`,
      answer,
    );
  } else if (json && json.result === "declined") {
    show("declined", "Transfer declined", json.reason || "The process gave no reason.", answer);
  } else if (response.status === 504) {
    show(
      "timeout",
      "Timed out: the process did not answer in time",
      (json && json.error_message ? json.error_message + ". " : "") +
        "The transfer may still be carried out; nothing here knows its outcome.",
      answer,
    );
  } else {
    show(
      "error",
      `Unexpected answer (HTTP ${response.status})`,
      (json && (json.error_message || json.description)) || body || "The answer was empty.",
      answer,
    );
  }
  done();
});

function done() {
  button.disabled = false;
  form.removeAttribute("aria-busy");
}
