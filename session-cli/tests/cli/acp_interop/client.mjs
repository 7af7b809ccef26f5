// An ACP v1 client built on the official TypeScript SDK, driving `session acp` the way an
// editor does. Run by `acp_interop.rs`:
//
//   node client.mjs <spec.json> <agent program> <agent args...>
//
// `ACP_SDK_PREFIX` names the npm prefix where the pinned SDK is installed. The spec says where
// the workspace is and what the mock model answers. Every message from the agent is taken off
// the wire (below the SDK's own parsing) and validated with the SDK's zod schemas; so is every
// response, matched to the request it answers. One JSON summary line goes to stdout; the exit
// code is 0 only when every check passed. Reasons for failure go to stderr, and so does the
// agent's stderr, each line prefixed `agent#N| `.

import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { Readable, Writable } from "node:stream";
import { isDeepStrictEqual } from "node:util";
import { pathToFileURL } from "node:url";

const WAIT_MS = 20_000;
const SCRIPT_MS = 110_000;

const [specPath, agentProgram, ...agentArgs] = process.argv.slice(2);
if (!specPath || !agentProgram) {
  process.stderr.write("usage: node client.mjs <spec.json> <agent program> <agent args...>\n");
  process.exit(2);
}
const spec = JSON.parse(readFileSync(specPath, "utf8"));
const prefix = process.env.ACP_SDK_PREFIX;
if (!prefix) {
  process.stderr.write("ACP_SDK_PREFIX is not set\n");
  process.exit(2);
}

// The SDK's entry point as its package.json `exports` resolve it, and its generated zod
// schemas (not exported by the package, so imported by path beside the entry point: they are
// the very schemas the SDK parses incoming params with).
const require = createRequire(path.join(prefix, "package.json"));
const sdkEntry = require.resolve("@agentclientprotocol/sdk");
const sdkPackage = JSON.parse(
  readFileSync(path.join(path.dirname(sdkEntry), "..", "..", "..", "package.json"), "utf8"),
);
const acp = await import(pathToFileURL(sdkEntry).href);
const z = await import(
  pathToFileURL(path.join(path.dirname(sdkEntry), "..", "schema", "zod.gen.js")).href
);

// ---------------------------------------------------------------------------------------------
// Bookkeeping: failures, validation, and the children to kill on the way out.

const failures = [];
const connections = [];
const validationFailures = [];
const children = new Set();
const counts = { notifications: 0, requests: 0, responses: 0, clientMessages: 0 };
const updateKinds = {};
const stopReasons = [];

function fail(reason) {
  failures.push(reason);
  process.stderr.write(`check failed: ${reason}\n`);
}

function check(condition, reason) {
  if (!condition) fail(reason);
  return Boolean(condition);
}

class Fatal extends Error {}

function within(what, promise, ms = WAIT_MS) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Fatal(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const short = (value) => {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 2000 ? `${text.slice(0, 2000)}...` : text;
};

// Where the SDK's (lenient) parse changed what was sent: a field dropped as unknown, a value
// replaced by a default, an array item skipped. `.catch` defaults make `safeParse` succeed on
// such input, so a success alone would hide them.
function losses(sent, parsed, at = "$", out = []) {
  if (sent === undefined) return out;
  if (Array.isArray(sent)) {
    if (!Array.isArray(parsed) || parsed.length !== sent.length) {
      out.push(`${at}: sent ${short(sent)}, parsed as ${short(parsed)}`);
      return out;
    }
    sent.forEach((item, i) => losses(item, parsed[i], `${at}[${i}]`, out));
    return out;
  }
  if (sent !== null && typeof sent === "object") {
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
      out.push(`${at}: sent ${short(sent)}, parsed as ${short(parsed)}`);
      return out;
    }
    for (const [key, value] of Object.entries(sent)) {
      if (!(key in parsed) && value !== undefined) {
        out.push(`${at}.${key}: not in the SDK's schema (dropped): ${short(value)}`);
      } else {
        losses(value, parsed[key], `${at}.${key}`, out);
      }
    }
    return out;
  }
  if (!isDeepStrictEqual(sent, parsed)) {
    out.push(`${at}: sent ${short(sent)}, parsed as ${short(parsed)}`);
  }
  return out;
}

function validate(label, schema, value) {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join(".") || "$"}: ${i.message}`);
    validationFailures.push({ what: label, issues, message: value });
    process.stderr.write(`schema: ${label} does not validate: ${issues.join("; ")}\n  ${short(value)}\n`);
    return false;
  }
  const lost = losses(value, result.data);
  if (lost.length > 0) {
    validationFailures.push({ what: label, issues: lost, message: value });
    process.stderr.write(`schema: ${label} validates only leniently: ${lost.join("; ")}\n`);
    return false;
  }
  return true;
}

const incomingSchemas = {
  "session/update": z.zSessionNotification,
  "session/request_permission": z.zRequestPermissionRequest,
};
const responseSchemas = {
  initialize: z.zInitializeResponse,
  "session/new": z.zNewSessionResponse,
  "session/load": z.zLoadSessionResponse,
  "session/prompt": z.zPromptResponse,
};
const outgoingSchemas = {
  initialize: z.zInitializeRequest,
  "session/new": z.zNewSessionRequest,
  "session/load": z.zLoadSessionRequest,
  "session/prompt": z.zPromptRequest,
  "session/cancel": z.zCancelNotification,
};

// ---------------------------------------------------------------------------------------------
// One connection: the agent as a child process, the wire tapped both ways, the SDK client app.

class Connection {
  constructor(n) {
    this.n = n;
    this.trace = []; // { seq, dir: "in" | "out", msg }
    this.sent = new Map(); // JSON-RPC id of our requests -> method
    this.permissionWaiters = [];
    this.permissionQueue = [];
    this.stderr = "";
    connections.push(this);

    const child = spawn(agentProgram, agentArgs, {
      cwd: spec.workspace,
      env: process.env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    this.child = child;
    children.add(child);
    this.exited = new Promise((resolve) => {
      child.on("exit", (code, signal) => {
        children.delete(child);
        this.status = { code, signal };
        resolve({ code, signal });
      });
    });
    child.on("error", (e) => fail(`agent#${n}: cannot run ${agentProgram}: ${e.message}`));
    child.stdin.on("error", () => {}); // a closed pipe shows as the exit status instead
    let partial = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (text) => {
      this.stderr += text;
      partial += text;
      const lines = partial.split("\n");
      partial = lines.pop();
      for (const line of lines) process.stderr.write(`agent#${n}| ${line}\n`);
    });
    child.stderr.on("end", () => {
      if (partial) process.stderr.write(`agent#${n}| ${partial}\n`);
    });

    const wire = acp.ndJsonStream(Writable.toWeb(child.stdin), Readable.toWeb(child.stdout));
    const inTap = new TransformStream({
      transform: (msg, controller) => {
        this.received(msg);
        controller.enqueue(msg);
      },
    });
    const outTap = new TransformStream({
      transform: (msg, controller) => {
        this.sending(msg);
        controller.enqueue(msg);
      },
    });
    outTap.readable.pipeTo(wire.writable).catch(() => {});
    const stream = { readable: wire.readable.pipeThrough(inTap), writable: outTap.writable };

    this.handled = 0; // session/update notifications the SDK parsed and handed to us
    const app = acp
      .client({ name: "acp-interop" })
      .onNotification("session/update", ({ params }) => {
        if (params?.update) this.handled += 1;
      })
      .onRequest("session/request_permission", ({ params }) => {
        return new Promise((respond) => {
          const asked = { params, respond };
          const waiter = this.permissionWaiters.shift();
          if (waiter) waiter(asked);
          else this.permissionQueue.push(asked);
        });
      });
    this.connection = app.connect(stream);
    this.agent = this.connection.agent;
  }

  received(msg) {
    const seq = this.trace.length;
    this.trace.push({ seq, dir: "in", msg });
    const where = `agent#${this.n} message #${seq}`;
    if (msg?.jsonrpc !== "2.0") {
      validationFailures.push({ what: where, issues: ["jsonrpc is not \"2.0\""], message: msg });
    }
    if (typeof msg?.method === "string") {
      const isRequest = "id" in msg;
      if (isRequest) counts.requests += 1;
      else counts.notifications += 1;
      const schema = incomingSchemas[msg.method];
      if (!schema) {
        fail(`${where}: unexpected ${isRequest ? "request" : "notification"} ${msg.method}`);
        return;
      }
      if (msg.method === "session/update" && isRequest) {
        fail(`${where}: session/update sent as a request (it is a notification)`);
      }
      if (msg.method === "session/request_permission" && !isRequest) {
        fail(`${where}: session/request_permission sent as a notification`);
      }
      validate(`${where} (${msg.method} params)`, schema, msg.params);
      if (msg.method === "session/update") {
        const kind = msg.params?.update?.sessionUpdate ?? "(none)";
        updateKinds[kind] = (updateKinds[kind] ?? 0) + 1;
      }
      return;
    }
    // A response to one of our requests.
    counts.responses += 1;
    const method = this.sent.get(msg?.id);
    if (method === undefined) {
      fail(`${where}: a response to no request of ours: ${short(msg)}`);
      return;
    }
    if ("error" in msg) {
      const valid =
        msg.error !== null &&
        typeof msg.error === "object" &&
        Number.isInteger(msg.error.code) &&
        typeof msg.error.message === "string";
      if (!valid) {
        validationFailures.push({ what: `${where} (${method} error)`, issues: ["malformed JSON-RPC error"], message: msg });
      }
      return;
    }
    const schema = responseSchemas[method];
    if (schema) validate(`${where} (${method} result)`, schema, msg.result);
  }

  sending(msg) {
    const seq = this.trace.length;
    this.trace.push({ seq, dir: "out", msg });
    counts.clientMessages += 1;
    if (typeof msg?.method === "string" && "id" in msg) this.sent.set(msg.id, msg.method);
    const where = `client message #${seq} to agent#${this.n}`;
    const schema = outgoingSchemas[msg?.method];
    if (schema) validate(`${where} (${msg.method} params)`, schema, msg.params);
    if (msg?.method === undefined && "result" in (msg ?? {})) {
      // Our answer to a permission request.
      validate(`${where} (session/request_permission result)`, z.zRequestPermissionResponse, msg.result);
    }
  }

  /** The next `session/request_permission` the agent sends. */
  nextPermission() {
    const queued = this.permissionQueue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve) => this.permissionWaiters.push(resolve));
  }

  /** Sends `method`; `done()` waits for its answer and returns it with its wire positions. */
  start(method, params) {
    const from = this.trace.length;
    const answer = this.agent.request(method, params);
    answer.catch(() => {}); // awaited by `done`
    const done = async () => {
      const result = await within(`the answer to ${method} (agent#${this.n})`, answer);
      const out = this.trace.find(
        (e) => e.seq >= from && e.dir === "out" && e.msg.method === method && "id" in e.msg,
      );
      const back =
        out &&
        this.trace.find((e) => e.dir === "in" && e.msg.method === undefined && e.msg.id === out.msg.id);
      return { result, sentAt: out?.seq ?? from, answeredAt: back?.seq ?? this.trace.length };
    };
    return { done };
  }

  /** Sends `method` and waits for its answer. */
  call(method, params) {
    return this.start(method, params).done();
  }

  /** The `session/update`s that arrived on the wire between two positions. */
  updatesBetween(from, to) {
    return this.trace
      .filter((e) => e.dir === "in" && e.seq > from && e.seq < to && e.msg.method === "session/update")
      .map((e) => e.msg.params);
  }

  /** Closes our side (the agent's stdin) and waits for the agent to exit. */
  async close() {
    this.connection.close();
    this.child.stdin.end();
    const status = await within(`agent#${this.n} to exit after its stdin closed`, this.exited);
    check(
      status.code === 0,
      `agent#${this.n} exited with ${status.code ?? `signal ${status.signal}`}, not 0`,
    );
    await new Promise((resolve) => setTimeout(resolve, 50)); // let the SDK dispatch the rest
    const onWire = this.trace.filter((e) => e.dir === "in" && e.msg.method === "session/update").length;
    check(
      this.handled === onWire,
      `agent#${this.n}: the SDK handed ${this.handled} of the ${onWire} session/update notifications to the client`,
    );
  }
}

const textOf = (updates, kind) =>
  updates
    .filter((u) => u.update.sessionUpdate === kind && u.update.content?.type === "text")
    .map((u) => u.update.content.text)
    .join("");

function checkPermission(asked, sessionId, command, label) {
  const p = asked.params;
  check(p.sessionId === sessionId, `${label}: the permission request names session ${p.sessionId}`);
  const options = p.options ?? [];
  const pairs = options.map((o) => `${o.optionId}:${o.kind}`);
  check(
    isDeepStrictEqual(pairs, [
      "allow_once:allow_once",
      "allow_always:allow_always",
      "reject_once:reject_once",
      "reject_always:reject_always",
    ]),
    `${label}: permission options are ${short(pairs)}`,
  );
  check(options.every((o) => typeof o.name === "string" && o.name.length > 0), `${label}: an option has no name`);
  const raw = p.toolCall?.rawInput;
  check(
    isDeepStrictEqual(raw?.command, command),
    `${label}: the permission request's tool call has rawInput ${short(raw)}, not command ${short(command)}`,
  );
  return p.toolCall?.toolCallId;
}

// ---------------------------------------------------------------------------------------------
// The scenario.

const initializeParams = {
  protocolVersion: 1,
  clientCapabilities: { fs: { readTextFile: false, writeTextFile: false }, terminal: false },
  clientInfo: { name: "acp-interop", version: "0.0.0" },
};

async function initialize(conn) {
  const { result } = await conn.call("initialize", initializeParams);
  check(result.protocolVersion === 1, `agent#${conn.n}: initialize answered protocolVersion ${result.protocolVersion}`);
  check(
    result.agentCapabilities?.loadSession === true,
    `agent#${conn.n}: agentCapabilities.loadSession is ${result.agentCapabilities?.loadSession}`,
  );
}

async function firstConnection() {
  const conn = new Connection(1);
  await initialize(conn);

  const created = await conn.call("session/new", { cwd: spec.workspace, mcpServers: [] });
  const sessionId = created.result.sessionId;
  check(typeof sessionId === "string" && sessionId.length > 0, `session/new answered sessionId ${sessionId}`);

  // 1. A plain answer.
  {
    const turn = await conn.call("session/prompt", { sessionId, prompt: [{ type: "text", text: spec.hello.prompt }] });
    stopReasons.push(turn.result.stopReason);
    check(turn.result.stopReason === "end_turn", `hello: stopReason ${turn.result.stopReason}`);
    const updates = conn.updatesBetween(turn.sentAt, turn.answeredAt);
    check(
      textOf(updates, "agent_message_chunk") === spec.hello.answer,
      `hello: the agent_message_chunks say ${short(textOf(updates, "agent_message_chunk"))}, not ${short(spec.hello.answer)}`,
    );
    check(updates.every((u) => u.sessionId === sessionId), "hello: an update names another session");
  }

  // 2. A command that needs approval, allowed once.
  {
    const command = spec.approve.command;
    const turn = conn.start("session/prompt", {
      sessionId,
      prompt: [{ type: "text", text: spec.approve.prompt }],
    });
    const asked = await within("the permission request of the approved command", conn.nextPermission());
    const callId = checkPermission(asked, sessionId, command, "approve");
    // While this turn waits for the client, a second prompt is refused with an error.
    const refused = await within(
      "the answer to a second prompt during the turn",
      conn.agent.request("session/prompt", { sessionId, prompt: [{ type: "text", text: "meanwhile" }] }).then(
        (result) => ({ result }),
        (error) => ({ error }),
      ),
    );
    check(
      refused.error !== undefined,
      `approve: a second prompt during the turn was answered ${short(refused.result)}, not refused`,
    );
    check(
      refused.error === undefined || refused.error.code === -32600,
      `approve: a second prompt was refused with code ${refused.error?.code}, not -32600 (invalid request)`,
    );
    asked.respond({ outcome: { outcome: "selected", optionId: "allow_once" } });
    const { result, sentAt, answeredAt } = await turn.done();
    stopReasons.push(result.stopReason);
    check(result.stopReason === "end_turn", `approve: stopReason ${result.stopReason}`);
    const updates = conn.updatesBetween(sentAt, answeredAt);
    const calls = updates.filter((u) => u.update.sessionUpdate === "tool_call" && u.update.toolCallId === callId);
    check(calls.length >= 1, `approve: no tool_call for ${callId}`);
    check(
      calls.every((u) => u.update.kind === "execute"),
      `approve: the tool_call's kind is ${short(calls.map((u) => u.update.kind))}, not execute`,
    );
    const finished = updates.filter(
      (u) => u.update.sessionUpdate === "tool_call_update" && u.update.toolCallId === callId && u.update.status === "completed",
    );
    check(finished.length === 1, `approve: ${finished.length} tool_call_update(s) with status completed for ${callId}`);
    check(
      textOf(updates, "agent_message_chunk") === spec.approve.answer,
      `approve: the agent_message_chunks say ${short(textOf(updates, "agent_message_chunk"))}`,
    );
  }

  // 3. A command that needs approval; the prompt is cancelled while the client is asked.
  {
    const command = spec.cancel.command;
    const turn = conn.start("session/prompt", {
      sessionId,
      prompt: [{ type: "text", text: spec.cancel.prompt }],
    });
    const asked = await within("the permission request of the cancelled command", conn.nextPermission());
    checkPermission(asked, sessionId, command, "cancel");
    await within("sending session/cancel", conn.agent.notify("session/cancel", { sessionId }));
    asked.respond({ outcome: { outcome: "cancelled" } });
    const { result } = await turn.done();
    stopReasons.push(result.stopReason);
    check(result.stopReason === "cancelled", `cancel: stopReason ${result.stopReason}`);
  }

  await conn.close();
  return sessionId;
}

async function secondConnection(sessionId) {
  const conn = new Connection(2);
  await initialize(conn);
  const loaded = await conn.call("session/load", { sessionId, cwd: spec.workspace, mcpServers: [] });
  const replay = conn.updatesBetween(loaded.sentAt, loaded.answeredAt);
  const kinds = replay.map((u) => u.update.sessionUpdate);
  check(kinds.includes("user_message_chunk"), `load: no user_message_chunk replayed before the answer (got ${short(kinds)})`);
  check(kinds.includes("agent_message_chunk"), `load: no agent_message_chunk replayed before the answer (got ${short(kinds)})`);
  check(replay.every((u) => u.sessionId === sessionId), "load: a replayed update names another session");
  const said = textOf(replay, "user_message_chunk");
  for (const prompt of [spec.hello.prompt, spec.approve.prompt, spec.cancel.prompt]) {
    check(said.includes(prompt), `load: the replayed user messages lack ${short(prompt)}: ${short(said)}`);
  }
  check(!said.includes("meanwhile"), `load: the refused prompt was replayed: ${short(said)}`);
  const answered = textOf(replay, "agent_message_chunk");
  for (const text of [spec.hello.answer, spec.approve.answer]) {
    check(answered.includes(text), `load: the replayed agent messages lack ${short(text)}: ${short(answered)}`);
  }
  // Nothing of the replay may come after the answer.
  const late = conn.updatesBetween(loaded.answeredAt, conn.trace.length);
  check(
    late.every((u) => !["user_message_chunk", "agent_message_chunk"].includes(u.update.sessionUpdate)),
    `load: message chunks after the answer: ${short(late)}`,
  );
  await conn.close();
  return kinds;
}

function summary(extra) {
  return {
    ok: failures.length === 0 && validationFailures.length === 0 && !extra.error,
    sdk: `${sdkPackage.name}@${sdkPackage.version}`,
    node: process.version,
    counts,
    updateKinds,
    stopReasons,
    failures,
    validationFailures,
    ...extra,
  };
}

process.on("exit", () => {
  for (const child of children) child.kill("SIGKILL");
});
const guard = setTimeout(() => {
  process.stderr.write(`the whole scenario took longer than ${SCRIPT_MS} ms\n`);
  process.stdout.write(`${JSON.stringify(summary({ error: "overall timeout" }))}\n`);
  process.exit(1);
}, SCRIPT_MS);
guard.unref();

try {
  check(sdkPackage.version === spec.sdkVersion, `the SDK is ${sdkPackage.version}, not ${spec.sdkVersion}`);
  const sessionId = await firstConnection();
  const replayed = await secondConnection(sessionId);
  const out = summary({ sessionId, replayed });
  process.stdout.write(`${JSON.stringify(out)}\n`);
  process.exitCode = out.ok ? 0 : 1;
} catch (e) {
  process.stderr.write(`error: ${e instanceof Fatal ? e.message : (e?.stack ?? e)}\n`);
  // How the agents ended, where they did (waiting a moment for the news).
  const pause = new Promise((resolve) => setTimeout(resolve, 1000).unref());
  await Promise.race([Promise.all(connections.map((c) => c.exited)), pause]);
  for (const c of connections) {
    if (c.status) {
      const how = c.status.code ?? `signal ${c.status.signal}`;
      process.stderr.write(`(agent#${c.n} had exited with ${how})\n`);
    }
  }
  process.stdout.write(`${JSON.stringify(summary({ error: String(e?.message ?? e) }))}\n`);
  process.exitCode = 1;
} finally {
  clearTimeout(guard);
  // `ACP_INTEROP_TRACE=<file>` keeps every message of both connections, for a look by hand.
  if (process.env.ACP_INTEROP_TRACE) {
    const trace = connections.map((c) => c.trace.map(({ dir, msg }) => ({ dir, msg })));
    writeFileSync(process.env.ACP_INTEROP_TRACE, JSON.stringify(trace, null, 1));
  }
  for (const child of children) child.kill("SIGKILL");
}
