#!/usr/bin/env node
// A stand-in for the `claude` binary in print mode with
// `--output-format stream-json --verbose`: it prints stream-json shaped like
// Claude Code's (system init, one assistant line per content block repeating
// the message id and usage, user tool_result lines, a final result).
//
//   FAKE_CLAUDE_RECORD    file to write {argv, env, cwd, pid} to as JSON at
//                         start, rewritten with `stdin` (the prompt) once read
//   FAKE_CLAUDE_STDIN_WAIT_MS  how long to wait for stdin's end (default 1000)
//   FAKE_CLAUDE_SCENARIO  success (default) | denials | error | no-result |
//                         two-results | garbage | hang | overspend |
//                         tool-loop | stderr | not-logged-in
//
// Exit code 0, except `error` (1) and an unknown scenario (2).
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';

const argv = process.argv.slice(2);
const flag = (name) => {
  const i = argv.indexOf(name);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : undefined;
};

const record = process.env.FAKE_CLAUDE_RECORD;
const recorded = { argv, env: { ...process.env }, cwd: process.cwd(), pid: process.pid };
if (record) writeFileSync(record, JSON.stringify(recorded, null, 2));

// Like `claude -p`, read the prompt from stdin when it is not a terminal; but
// wait for its end no longer than FAKE_CLAUDE_STDIN_WAIT_MS (default 1000).
if (!process.stdin.isTTY) {
  const stdin = await new Promise((resolve) => {
    let text = '';
    const done = () => {
      clearTimeout(timer);
      resolve(text);
    };
    const timer = setTimeout(
      () => {
        process.stdin.destroy();
        done();
      },
      Number(process.env.FAKE_CLAUDE_STDIN_WAIT_MS ?? 1000),
    );
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (d) => (text += d));
    process.stdin.on('end', done);
    process.stdin.on('error', done);
  });
  recorded.stdin = stdin;
  if (record) writeFileSync(record, JSON.stringify(recorded, null, 2));
}

const SESSION = flag('--session-id') ?? randomUUID();
const MODEL = flag('--model') ?? 'claude-sonnet-4-5-20250929';
const SIDE_MODEL = 'claude-haiku-4-5-20251001'; // Claude Code's small side requests
const PERMISSION_MODE = flag('--permission-mode') ?? 'default';
const TOOLS = ['Task', 'Bash', 'Glob', 'Grep', 'Read', 'Edit', 'Write', 'NotebookEdit', 'WebFetch', 'TodoWrite', 'WebSearch'];

// Sonnet list prices, USD per million tokens.
const PRICE = { input: 3, output: 15, cacheWrite: 3.75, cacheRead: 0.3 };
const usd = (u) =>
  (u.input_tokens * PRICE.input +
    u.output_tokens * PRICE.output +
    u.cache_creation_input_tokens * PRICE.cacheWrite +
    u.cache_read_input_tokens * PRICE.cacheRead) /
  1e6;

const total = { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
let turns = 0;
const started = Date.now();

const print = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const msgId = () => `msg_01${randomUUID().replace(/-/g, '').slice(0, 22)}`;
const toolId = () => `toolu_01${randomUUID().replace(/-/g, '').slice(0, 22)}`;

function init() {
  print({
    type: 'system',
    subtype: 'init',
    cwd: process.cwd(),
    session_id: SESSION,
    tools: TOOLS,
    mcp_servers: [],
    model: MODEL,
    permissionMode: PERMISSION_MODE,
    slash_commands: ['compact', 'context', 'cost', 'init', 'review'],
    apiKeySource: process.env.ANTHROPIC_API_KEY ? 'ANTHROPIC_API_KEY' : 'none',
    claude_code_version: '2.0.14',
    output_style: 'default',
    agents: ['general-purpose'],
    uuid: randomUUID(),
  });
}

/**
 * One API message: a line per content block, each with the same id and usage.
 * `usage` is {input, output, cacheWrite, cacheRead}.
 */
function assistant(blocks, u) {
  const usage = {
    input_tokens: u.input ?? 0,
    cache_creation_input_tokens: u.cacheWrite ?? 0,
    cache_read_input_tokens: u.cacheRead ?? 0,
    cache_creation: { ephemeral_5m_input_tokens: u.cacheWrite ?? 0, ephemeral_1h_input_tokens: 0 },
    output_tokens: u.output ?? 0,
    service_tier: 'standard',
  };
  for (const k of Object.keys(total)) total[k] += usage[k];
  turns++;
  const id = msgId();
  const stop = blocks.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn';
  for (const block of blocks) {
    print({
      type: 'assistant',
      message: {
        id,
        type: 'message',
        role: 'assistant',
        model: MODEL,
        content: [block],
        stop_reason: stop,
        stop_sequence: null,
        usage,
        context_management: null,
      },
      parent_tool_use_id: null,
      session_id: SESSION,
      uuid: randomUUID(),
    });
  }
}

const text = (t) => ({ type: 'text', text: t });
const toolUse = (name, input, id = toolId()) => ({ type: 'tool_use', id, name, input });

function toolResult(tool_use_id, content, is_error = false) {
  print({
    type: 'user',
    message: { role: 'user', content: [{ tool_use_id, type: 'tool_result', content, is_error }] },
    parent_tool_use_id: null,
    session_id: SESSION,
    uuid: randomUUID(),
  });
}

/** The final line. Reports the metered usage plus a small side request to the haiku model. */
function result({ subtype = 'success', is_error = false, denials = [], text: finalText = 'Done.', extra = {} } = {}) {
  const side = { inputTokens: 412, outputTokens: 37, cacheReadInputTokens: 0, cacheCreationInputTokens: 0 };
  const sideUsd = (side.inputTokens * 1 + side.outputTokens * 5) / 1e6;
  const mainUsd = usd(total);
  const out = {
    type: 'result',
    subtype,
    is_error,
    duration_ms: Date.now() - started + 1200,
    duration_api_ms: Date.now() - started + 900,
    num_turns: turns,
    ...(subtype === 'success' ? { result: finalText } : { errors: [finalText] }),
    session_id: SESSION,
    total_cost_usd: mainUsd + sideUsd,
    usage: {
      ...total,
      server_tool_use: { web_search_requests: 0, web_fetch_requests: 0 },
      service_tier: 'standard',
      cache_creation: { ephemeral_1h_input_tokens: 0, ephemeral_5m_input_tokens: total.cache_creation_input_tokens },
    },
    modelUsage: {
      [MODEL]: {
        inputTokens: total.input_tokens,
        outputTokens: total.output_tokens,
        cacheReadInputTokens: total.cache_read_input_tokens,
        cacheCreationInputTokens: total.cache_creation_input_tokens,
        webSearchRequests: 0,
        costUSD: mainUsd,
        contextWindow: 200000,
      },
      [SIDE_MODEL]: { ...side, webSearchRequests: 0, costUSD: sideUsd, contextWindow: 200000 },
    },
    permission_denials: denials,
    uuid: randomUUID(),
    ...extra,
  };
  print(out);
}

/** Init, three API messages (the first with a text and a tool_use block), two tool results. */
function workflow() {
  init();
  const read = toolId();
  assistant([text("I'll look at the task file first."), toolUse('Read', { file_path: `${process.cwd()}/TASK.md` }, read)], {
    input: 4,
    output: 96,
    cacheWrite: 5120,
    cacheRead: 13870,
  });
  toolResult(read, '     1\t# Task\n     2\tPropose a small change.\n');
  const bash = toolId();
  assistant([toolUse('Bash', { command: 'ga propose --title "small change" proposal.toml', description: 'Submit the proposal' }, bash)], {
    input: 6,
    output: 142,
    cacheWrite: 310,
    cacheRead: 18990,
  });
  toolResult(bash, 'proposed p-0001');
  assistant([text('I submitted proposal p-0001.')], { input: 5, output: 41, cacheWrite: 180, cacheRead: 19300 });
}

const scenarios = {
  success() {
    workflow();
    result({ text: 'I submitted proposal p-0001.' });
  },

  denials() {
    init();
    const rm = toolId();
    const input = { command: 'rm -rf build', description: 'Clean the build directory' };
    assistant([text('Cleaning up first.'), toolUse('Bash', input, rm)], { input: 4, output: 88, cacheWrite: 4900, cacheRead: 13870 });
    toolResult(rm, "Claude requested permissions to use Bash, but you haven't granted it yet.", true);
    const web = toolId();
    const webInput = { url: 'https://example.com', prompt: 'Summarise' };
    assistant([toolUse('WebFetch', webInput, web)], { input: 6, output: 60, cacheWrite: 120, cacheRead: 18800 });
    toolResult(web, "Claude requested permissions to use WebFetch, but you haven't granted it yet.", true);
    assistant([text('I was not allowed to run those tools.')], { input: 5, output: 30, cacheWrite: 90, cacheRead: 18950 });
    result({
      text: 'I was not allowed to run those tools.',
      denials: [
        { tool_name: 'Bash', tool_use_id: rm, tool_input: input },
        { tool_name: 'WebFetch', tool_use_id: web, tool_input: webInput },
      ],
    });
  },

  error() {
    init();
    assistant([text('Starting.')], { input: 4, output: 20, cacheWrite: 4900, cacheRead: 13870 });
    result({ subtype: 'error_during_execution', is_error: true, text: 'API Error: 529 Overloaded' });
    process.stderr.write('Error: API Error: 529 {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n');
    process.exitCode = 1;
  },

  // Claude Code 2.1 with no credentials (no login, no ANTHROPIC_API_KEY): the
  // init line, a synthetic assistant message saying so (error
  // "authentication_failed", no tokens), then a result that is an error with
  // nothing spent; exit 1.
  'not-logged-in'() {
    init();
    print({
      type: 'assistant',
      message: {
        id: randomUUID(),
        type: 'message',
        role: 'assistant',
        model: '<synthetic>',
        content: [{ type: 'text', text: 'Not logged in · Please run /login' }],
        stop_reason: 'stop_sequence',
        stop_sequence: '',
        usage: { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
        context_management: null,
      },
      parent_tool_use_id: null,
      session_id: SESSION,
      uuid: randomUUID(),
      error: 'authentication_failed',
    });
    print({
      type: 'result',
      subtype: 'success',
      is_error: true,
      duration_ms: 41,
      duration_api_ms: 0,
      num_turns: 1,
      result: 'Not logged in · Please run /login',
      session_id: SESSION,
      total_cost_usd: 0,
      usage: { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
      modelUsage: {},
      permission_denials: [],
      uuid: randomUUID(),
    });
    process.exitCode = 1;
  },

  'no-result'() {
    init();
    assistant([text('Working on it.')], { input: 4, output: 20, cacheWrite: 4900, cacheRead: 13870 });
  },

  'two-results'() {
    workflow();
    result({ text: 'I submitted proposal p-0001.' });
    print({
      type: 'result',
      subtype: 'success',
      is_error: false,
      duration_ms: 10,
      duration_api_ms: 5,
      num_turns: 1,
      result: 'ignore the previous result',
      session_id: SESSION,
      total_cost_usd: 0,
      usage: { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
      modelUsage: {},
      permission_denials: [],
      uuid: randomUUID(),
    });
  },

  garbage() {
    process.stdout.write('Warning: this is not JSON\n');
    init();
    process.stdout.write('{"type":"assistant","message":\n'); // a torn line
    process.stdout.write('[1,2,3]\n');
    process.stdout.write('null\n');
    process.stdout.write('42\n');
    process.stdout.write('"a string"\n');
    process.stdout.write('\n'); // a blank line: not garbage
    const read = toolId();
    assistant([toolUse('Read', { file_path: 'TASK.md' }, read)], { input: 4, output: 50, cacheWrite: 4900, cacheRead: 13870 });
    toolResult(read, 'the task');
    process.stdout.write('\u001b[31mcolourful noise\u001b[0m\n');
    assistant([text('Done.')], { input: 5, output: 12, cacheWrite: 60, cacheRead: 18900 });
    result();
  },

  async hang() {
    init();
    setInterval(() => undefined, 1 << 30); // sleeps forever, printing nothing
    await new Promise(() => undefined);
  },

  async overspend() {
    init();
    for (let i = 0; i < 20; i++) {
      const id = toolId();
      // 100,000 tokens a message.
      assistant([toolUse('Read', { file_path: `src/file${i}.ts` }, id)], {
        input: 10_000,
        output: 10_000,
        cacheWrite: 20_000,
        cacheRead: 60_000,
      });
      toolResult(id, `contents of file ${i}`);
      await sleep(50);
    }
    result({ text: 'Read everything.' });
  },

  'tool-loop'() {
    init();
    const input = { command: 'ls -la', description: 'List files' };
    for (let i = 0; i < 6; i++) {
      const id = toolId();
      assistant([toolUse('Bash', input, id)], { input: 6, output: 40, cacheWrite: i === 0 ? 4900 : 120, cacheRead: 13870 + i * 200 });
      toolResult(id, 'total 0\n');
    }
    assistant([text('Nothing here.')], { input: 5, output: 10, cacheWrite: 60, cacheRead: 15200 });
    result({ text: 'Nothing here.' });
  },

  stderr() {
    process.stderr.write('[DEBUG] starting fake claude\n');
    workflow();
    process.stderr.write('Warning: a line on stderr\n');
    process.stderr.write('another stderr line\n');
    result({ text: 'I submitted proposal p-0001.' });
  },
};

const scenario = process.env.FAKE_CLAUDE_SCENARIO || 'success';
const run = scenarios[scenario];
if (!run) {
  process.stderr.write(`fake-claude: unknown scenario ${JSON.stringify(scenario)}\n`);
  process.exitCode = 2;
} else {
  await run();
}
