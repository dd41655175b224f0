// The calls LangChain's Agent Inbox and the JS SDK's `useStream` hook make, through the real
// @langchain/langgraph-sdk, against `hitl serve` at $HITL_URL with bearer token $HITL_TOKEN.
// Each check is independent (its own thread) and named; the last line printed is a JSON object
// {name: {ok, error}}, which tests/test_js_sdk.py compares with its list of checks expected to fail.
// The graphs (defined in tests/test_js_sdk.py): inbox_email (draft -> review, asking in Agent Inbox's
// HumanInterrupt shape), slow_email (the same with a 2 s first node) and chat_agent (hitl's prebuilt
// agent, a refund tool reviewed).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { Client } from "@langchain/langgraph-sdk";

if (Number(process.versions.node.split(".")[0]) < 20) {
  console.error(`Node ${process.versions.node}: @langchain/langgraph-sdk needs Node >= 20`);
  process.exit(2);
}
const url = process.env.HITL_URL;
const token = process.env.HITL_TOKEN;
if (!url || !token) {
  console.error("set HITL_URL and HITL_TOKEN");
  process.exit(2);
}
const client = new Client({
  apiUrl: url,
  defaultHeaders: { Authorization: `Bearer ${token}` },
  callerOptions: { maxRetries: 0 },
});

const CHECK_TIMEOUT_MS = 20_000; // a check that hangs fails alone; the rest still run
const results = {};

async function check(name, fn) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
  });
  try {
    await Promise.race([fn(), timeout]);
    results[name] = { ok: true };
  } catch (e) {
    results[name] = { ok: false, error: String(e?.message ?? e).slice(0, 600) };
  } finally {
    clearTimeout(timer);
  }
}

const SUBJECT = { subject: "a late parcel" };
const ACCEPT = [{ type: "accept", args: null }];
const APPROVE = { decisions: [{ type: "approve" }] };

async function collect(stream) {
  const parts = [];
  for await (const part of stream) parts.push(part);
  return parts;
}

async function interruptedThread(graph = "inbox_email") {
  const thread = await client.threads.create();
  const out = await client.runs.wait(thread.thread_id, graph, { input: SUBJECT });
  assert.ok(out.__interrupt__?.length, `the run paused on its question: ${JSON.stringify(out)}`);
  return thread.thread_id;
}

async function untilNotBusy(threadId) {
  for (let i = 0; i < 400; i++) {
    const thread = await client.threads.get(threadId);
    if (thread.status !== "busy") return thread;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`thread ${threadId} stayed busy`);
}

function humanInterrupt(value) {
  const [request] = value;
  assert.equal(request.action_request.action, "send_email");
  assert.equal(request.description, "Send this email?");
}

/** A chat front-end's first message as useStream submits it: a LangChain dict with the app's own id. */
function firstMessage() {
  return { messages: [{ type: "human", content: "Please refund order 42.", id: randomUUID() }] };
}

/** What useStream's submit sends by default (no reconnectOnMount: not resumable, cancelled on disconnect). */
function useStreamSubmit(threadId, payload, extra = {}) {
  return client.runs.stream(threadId, "chat_agent", {
    onDisconnect: "cancel",
    streamResumable: false,
    streamMode: ["values"],
    ...payload,
    ...extra,
  });
}

async function pausedChat() {
  const thread = await client.threads.create();
  const input = firstMessage();
  const parts = await collect(useStreamSubmit(thread.thread_id, { input }));
  return { threadId: thread.thread_id, input, parts };
}

function lastValues(parts) {
  const values = parts.filter((p) => p.event === "values");
  assert.ok(values.length, `values events came: ${parts.map((p) => p.event)}`);
  return values.at(-1).data;
}

// ---- Agent Inbox ----

await check("agent_inbox.assistants.search", async () => {
  const found = await client.assistants.search({ limit: 100 });
  const graphs = found.map((a) => a.graph_id);
  for (const g of ["inbox_email", "slow_email", "chat_agent"]) assert.ok(graphs.includes(g), `${g} in ${graphs}`);
});

await check("agent_inbox.threads.search.interrupted", async () => {
  const threadId = await interruptedThread();
  // Agent Inbox is configured with an assistant's id, and lists the threads whose metadata names it
  const [assistant] = await client.assistants.search({ graphId: "inbox_email" });
  const found = await client.threads.search({
    offset: 0,
    limit: 100,
    status: "interrupted",
    metadata: { assistant_id: assistant.assistant_id },
  });
  const thread = found.find((t) => t.thread_id === threadId);
  assert.ok(thread, `the interrupted thread is listed (${found.length} found)`);
  assert.equal(thread.status, "interrupted");
  const [interrupts] = Object.values(thread.interrupts);
  humanInterrupt(interrupts[0].value);
});

await check("agent_inbox.threads.get", async () => {
  const threadId = await interruptedThread();
  const thread = await client.threads.get(threadId);
  assert.equal(thread.status, "interrupted");
  const [interrupts] = Object.values(thread.interrupts);
  humanInterrupt(interrupts[0].value);
  assert.equal(thread.values.subject, SUBJECT.subject);
});

await check("agent_inbox.threads.getState", async () => {
  const threadId = await interruptedThread();
  const state = await client.threads.getState(threadId);
  assert.deepEqual(state.next, ["review"]);
  humanInterrupt(state.tasks[0].interrupts[0].value);
  assert.ok(state.checkpoint?.checkpoint_id, "the state names its checkpoint");
});

await check("agent_inbox.runs.stream.events.accept", async () => {
  const threadId = await interruptedThread();
  const parts = await collect(
    client.runs.stream(threadId, "inbox_email", { command: { resume: ACCEPT }, streamMode: "events" }),
  );
  const events = parts.map((p) => p.event);
  assert.equal(events[0], "metadata");
  assert.ok(events.includes("events"), `events: ${events}`);
  const names = parts.filter((p) => p.event === "events").map((p) => p.data.event);
  assert.ok(names.includes("on_chain_start") && names.includes("on_chain_end"), `LangChain events: ${names}`);
  const state = await client.threads.getState(threadId);
  assert.equal(state.values.outcome, `sent: Dear customer, about ${SUBJECT.subject}`);
});

await check("agent_inbox.runs.create.respond", async () => {
  const threadId = await interruptedThread();
  const run = await client.runs.create(threadId, "inbox_email", {
    command: { resume: [{ type: "response", args: "call the customer" }] },
  });
  assert.ok(run.run_id, "the run has an id");
  const thread = await untilNotBusy(threadId);
  assert.equal(thread.status, "idle");
  assert.equal(thread.values.outcome, "answer: call the customer");
});

await check("agent_inbox.runs.wait.edit", async () => {
  const threadId = await interruptedThread();
  const edit = [{ type: "edit", args: { action: "send_email", args: { body: "Sorry!" } } }];
  const out = await client.runs.wait(threadId, "inbox_email", { command: { resume: edit } });
  assert.equal(out.outcome, "sent: Sorry!");
});

await check("agent_inbox.threads.updateState.mark_resolved", async () => {
  const threadId = await interruptedThread();
  await client.threads.updateState(threadId, { values: null, asNode: "__end__" });
  const thread = await client.threads.get(threadId);
  assert.equal(thread.status, "idle");
});

// ---- useStream ----

await check("use_stream.submit.values", async () => {
  const { input, parts } = await pausedChat();
  assert.equal(parts[0].event, "metadata");
  assert.ok(parts[0].data.run_id, "metadata names the run");
  const values = lastValues(parts);
  assert.deepEqual(
    values.messages.map((m) => m.type),
    ["human", "ai"],
  );
  assert.equal(values.messages[0].id, input.messages[0].id, "the app's optimistic message keeps its id");
  assert.deepEqual(values.messages[1].tool_calls[0], {
    name: "refund",
    args: { order: 42 },
    id: "call_r",
    type: "tool_call",
  });
});

await check("use_stream.submit.values.interrupt", async () => {
  const { parts } = await pausedChat();
  const withInterrupt = parts.filter((p) => p.event === "values" && p.data.__interrupt__);
  assert.ok(withInterrupt.length, "a values chunk carries __interrupt__ (useStream's `interrupt`)");
  assert.equal(withInterrupt.at(-1).data.__interrupt__[0].value.action_requests[0].name, "refund");
});

await check("use_stream.submit.on_run_created", async () => {
  const thread = await client.threads.create();
  let created;
  await collect(
    useStreamSubmit(thread.thread_id, { input: firstMessage() }, { onRunCreated: (meta) => (created = meta) }),
  );
  assert.ok(created?.run_id, "onRunCreated fired with the run id (from Content-Location)");
  assert.equal(created.thread_id, thread.thread_id);
});

await check("use_stream.submit.messages_tuple", async () => {
  const thread = await client.threads.create();
  const parts = await collect(
    useStreamSubmit(thread.thread_id, { input: firstMessage() }, { streamMode: ["values", "messages-tuple"] }),
  );
  const messages = parts.filter((p) => p.event.startsWith("messages"));
  assert.ok(messages.length, `messages-tuple events came: ${parts.map((p) => p.event)}`);
  const [message, metadata] = messages.at(-1).data;
  assert.equal(message.type, "ai");
  assert.ok(metadata.langgraph_node, "metadata names the node");
});

await check("use_stream.getState.pending_interrupt", async () => {
  const { threadId } = await pausedChat();
  const state = await client.threads.getState(threadId);
  assert.ok(state.checkpoint != null, "the thread head has a checkpoint");
  const interrupts = state.tasks.flatMap((t) => t.interrupts ?? []);
  assert.equal(interrupts[0].value.action_requests[0].args.order, 42);
  assert.deepEqual(
    state.values.messages.map((m) => m.type),
    ["human", "ai"],
  );
});

await check("use_stream.getHistory.head", async () => {
  const { threadId } = await pausedChat();
  const history = await client.threads.getHistory(threadId, { limit: 10 });
  const head = await client.threads.getState(threadId);
  assert.ok(history.length >= 2, `history: ${history.length} entries`);
  assert.equal(history[0].checkpoint.checkpoint_id, head.checkpoint.checkpoint_id, "newest first, the head");
  const interrupts = history[0].tasks.flatMap((t) => t.interrupts ?? []);
  assert.ok(interrupts.length, "the newest entry carries the question (a reload reads it from history)");
});

await check("use_stream.resume.command", async () => {
  const { threadId } = await pausedChat();
  const parts = await collect(useStreamSubmit(threadId, { command: { resume: APPROVE } }));
  const values = lastValues(parts);
  assert.deepEqual(
    values.messages.map((m) => m.type),
    ["human", "ai", "tool", "ai"],
  );
  assert.equal(values.messages[2].content, "refunded order 42");
  assert.equal(values.messages.at(-1).content, "Refunded order 42.");
});

await check("use_stream.resume.head_checkpoint", async () => {
  const { threadId } = await pausedChat();
  const head = await client.threads.getState(threadId);
  const checkpoint = { ...head.checkpoint };
  delete checkpoint.thread_id; // as useStream sends it
  const parts = await collect(useStreamSubmit(threadId, { command: { resume: APPROVE }, checkpoint }));
  assert.equal(lastValues(parts).messages.at(-1).content, "Refunded order 42.");
});

// ---- runs by id: join, cancel, rejoin ----

async function backgroundSlowRun() {
  const thread = await client.threads.create();
  const run = await client.runs.create(thread.thread_id, "slow_email", { input: SUBJECT });
  assert.ok(run.run_id, "the run has an id");
  return { threadId: thread.thread_id, runId: run.run_id };
}

await check("runs.wait.command_resume", async () => {
  const threadId = await interruptedThread();
  const out = await client.runs.wait(threadId, "inbox_email", { command: { resume: ACCEPT } });
  assert.equal(out.outcome, `sent: Dear customer, about ${SUBJECT.subject}`);
});

await check("runs.join", async () => {
  const { threadId, runId } = await backgroundSlowRun();
  const values = await client.runs.join(threadId, runId);
  assert.equal(values.draft, `slowly, about ${SUBJECT.subject}`);
});

await check("runs.cancel", async () => {
  const { threadId, runId } = await backgroundSlowRun();
  await client.runs.cancel(threadId, runId, true);
  const run = await client.runs.get(threadId, runId);
  assert.ok(!["pending", "running"].includes(run.status), `cancelled run's status: ${run.status}`);
  const thread = await client.threads.get(threadId);
  assert.notEqual(thread.status, "busy");
});

await check("runs.joinStream.rejoin_after_drop", async () => {
  const thread = await client.threads.create();
  const controller = new AbortController();
  let runId;
  let lastEventId;
  const seen = [];
  const stream = client.runs.stream(thread.thread_id, "slow_email", {
    input: SUBJECT,
    streamMode: ["values"],
    streamResumable: true,
    onDisconnect: "continue",
    signal: controller.signal,
    onRunCreated: (meta) => (runId = meta.run_id),
  });
  try {
    for await (const part of stream) {
      seen.push(part);
      if (part.id) lastEventId = part.id;
      if (part.event === "values") break; // the first values chunk: then the connection drops
    }
  } finally {
    controller.abort();
  }
  assert.ok(runId, "the run's id came (Content-Location)");
  assert.ok(lastEventId, "stream events carry ids (a client needs one to rejoin)");
  const rest = await collect(client.runs.joinStream(thread.thread_id, runId, { lastEventId, streamMode: ["values"] }));
  assert.ok(
    rest.every((p) => p.id !== lastEventId),
    "the rejoined stream starts after the last event seen",
  );
  assert.ok(rest.some((p) => p.event === "values"), `rejoined events: ${rest.map((p) => p.event)}`);
  const state = await client.threads.getState(thread.thread_id);
  assert.equal(state.values.draft, `slowly, about ${SUBJECT.subject}`, "the run went on while no one listened");
});

await check("runs.joinStream.replay_from_start", async () => {
  const { threadId, runId } = await backgroundSlowRun();
  // useStream's reconnectOnMount rejoins a run it stored with lastEventId "-1": everything from the start
  const parts = await collect(client.runs.joinStream(threadId, runId, { lastEventId: "-1" }));
  assert.ok(parts.some((p) => p.event === "values"), `events: ${parts.map((p) => p.event)}`);
  const thread = await untilNotBusy(threadId);
  assert.equal(thread.status, "interrupted");
});

console.log(JSON.stringify(results));
process.exit(0);
