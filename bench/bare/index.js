// The bare design: the least a worker can do and still be the gateway's
// design (bench/README.md, "The bare-design baseline"). One Durable Object
// per id parks its caller, hands the task to the engine on loopback, and is
// resolved by the engine's callback. No rules: no signature check, no
// settings, no log line, no request id MAC.
//
//   GET  /healthz              {"proc":"ok"}
//   GET  /healthz-logged       the same, and one JSON log line (as the gateway's)
//   POST /pair/{mem|store|rpc} body: the task's data (JSON); answers the
//                              engine's callback body
//   POST /cb/{mem|store|rpc}/{id}  the engine's callback
//   GET  /hub/subscribe        a WebSocket subscriber of the one hub object
//                              (hibernatable, as the gateway's)
//   POST /hub/publish          body: {"type", "data"}; the hub numbers the
//                              event (in memory) and sends its JSON to every
//                              subscriber; answers the event
//
// `mem` keeps the result in the object's memory only; `store` writes it and
// an alarm first (one put + one alarm, as the gateway's Rendezvous does);
// `rpc` is `store` with the worker calling the object's methods over
// Workers RPC instead of sending it requests (no Request or Response built
// for the hop, no body read): what that protocol would save the gateway.
// The hub is the least a fan-out can do: no patterns, no buffer, no rules;
// the baseline of the gateway's eventing fan-out (flowbench).

import { DurableObject } from "cloudflare:workers";

const TIMEOUT_MS = 30_000;
const RESULT_TTL_MS = 60_000;

async function sha1Hex(text) {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export class Pair extends DurableObject {
  constructor(state, env) {
    super(state, env);
    this.state = state;
    this.waiter = null;
  }

  // Parks the caller and hands the task to the engine: the callback's
  // body, or null at the timeout. Also called over RPC (`/pair/rpc`).
  async park(engineUrl, body) {
    const result = new Promise((resolve) => {
      this.waiter = resolve;
    });
    // The waiter exists before the engine hears of the task.
    const sent = await fetch(engineUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    await sent.arrayBuffer();
    let timer;
    const timeout = new Promise((resolve) => {
      timer = setTimeout(() => resolve(null), TIMEOUT_MS);
    });
    const got = await Promise.race([result, timeout]);
    clearTimeout(timer);
    return got;
  }

  // The engine's callback: stored first (`store`), then the caller woken.
  async callback(body, store) {
    if (store) {
      await this.state.storage.put("result", body);
      await this.state.storage.setAlarm(Date.now() + RESULT_TTL_MS);
    }
    const wake = this.waiter;
    this.waiter = null;
    if (wake) wake(body);
  }

  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === "/park") {
      const { engineUrl, body } = await request.json();
      const got = await this.park(engineUrl, body);
      if (got === null) return new Response('{"error":"timeout"}', { status: 504 });
      return new Response(got, { headers: { "content-type": "application/json" } });
    }
    if (url.pathname === "/callback") {
      await this.callback(await request.text(), url.searchParams.get("store") === "1");
      return new Response('{"proc":"ok"}', { headers: { "content-type": "application/json" } });
    }
    return new Response(null, { status: 404 });
  }

  async alarm() {
    await this.state.storage.deleteAll();
  }
}

export class Hub {
  constructor(state) {
    this.state = state;
    this.seq = 0;
  }

  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === "/subscribe") {
      const pair = new WebSocketPair();
      this.state.acceptWebSocket(pair[1]);
      return new Response(null, { status: 101, webSocket: pair[0] });
    }
    if (url.pathname === "/publish") {
      const { type, data } = await request.json();
      const text = JSON.stringify({ id: String(++this.seq), type, ts: new Date().toISOString(), data });
      for (const ws of this.state.getWebSockets()) {
        try {
          ws.send(text);
        } catch (_) {
          // gone meanwhile
        }
      }
      return new Response(text, { status: 202, headers: { "content-type": "application/json" } });
    }
    return new Response(null, { status: 404 });
  }

  webSocketMessage() {}

  webSocketClose() {}
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const parts = url.pathname.split("/");
    if (url.pathname === "/healthz") {
      return new Response('{"proc":"ok"}', { headers: { "content-type": "application/json" } });
    }
    if (url.pathname === "/healthz-logged") {
      // The same, with one JSON log line as the gateway writes for every
      // request: what the log line alone costs.
      const started = Date.now();
      const id = [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");
      const resp = new Response('{"proc":"ok"}', { headers: { "content-type": "application/json" } });
      console.log(JSON.stringify({ log: "request", id, method: request.method, route: "/healthz", status: 200, duration_ms: Date.now() - started }));
      return resp;
    }
    if (request.method === "POST" && parts[1] === "pair" && ["mem", "store", "rpc"].includes(parts[2])) {
      const id = crypto.randomUUID();
      const data = await request.json();
      data.__callback_url = `${url.origin}/cb/${parts[2]}/${id}`;
      const body = JSON.stringify({ ops: [{ type: "create", obj: "task", conv_id: 1, data }] });
      const unixtime = Math.floor(Date.now() / 1000).toString();
      const signature = await sha1Hex(unixtime + env.ENGINE_SECRET + body + env.ENGINE_SECRET);
      const engineUrl = `${env.ENGINE_URL}/api/2/json/${env.ENGINE_LOGIN}/${unixtime}/${signature}`;
      const stub = env.PAIR.get(env.PAIR.idFromName(id));
      if (parts[2] === "rpc") {
        const got = await stub.park(engineUrl, body);
        if (got === null) return new Response('{"error":"timeout"}', { status: 504 });
        return new Response(got, { headers: { "content-type": "application/json" } });
      }
      return stub.fetch("http://pair/park", {
        method: "POST",
        body: JSON.stringify({ engineUrl, body }),
      });
    }
    if (request.method === "POST" && parts[1] === "cb" && parts.length === 4) {
      const stub = env.PAIR.get(env.PAIR.idFromName(parts[3]));
      if (parts[2] === "rpc") {
        await stub.callback(await request.text(), true);
        return new Response('{"proc":"ok"}', { headers: { "content-type": "application/json" } });
      }
      const store = parts[2] === "store" ? "1" : "0";
      return stub.fetch(`http://pair/callback?store=${store}`, { method: "POST", body: request.body });
    }
    if (parts[1] === "hub" && (parts[2] === "subscribe" || parts[2] === "publish")) {
      const stub = env.HUB.get(env.HUB.idFromName("bench"));
      return stub.fetch(`http://hub/${parts[2]}`, request);
    }
    return new Response(null, { status: 404 });
  },
};
