// The stream-json meter: lines split anywhere, usage counted once per API
// message, tampering and garbage reported, never thrown; and the charge of a
// run. The fake claude's real output is fed in random chunk sizes.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { chargeFor, MOST_EXPENSIVE, PRICE_TABLE, priceFor, StreamMeter, usdFor, type StreamEvent } from '../../src/runner/stream.js';

const FAKE = resolve(import.meta.dirname, '../helpers/fake-claude.mjs');
const tmp = mkdtempSync(join(tmpdir(), 'ga-stream-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SESSION = '5f0c1e4a-2b7d-4c3e-9a1f-0d2e3c4b5a69';

/** A small seeded generator, so that a failing split can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Feeds `text` in random pieces of 1..max characters. */
function feed(meter: StreamMeter, text: string, seed: number, max = 64): StreamEvent[] {
  const next = rng(seed);
  const events: StreamEvent[] = [];
  for (let i = 0; i < text.length;) {
    const n = 1 + Math.floor(next() * max);
    events.push(...meter.push(text.slice(i, i + n)));
    i += n;
  }
  events.push(...meter.end());
  return events;
}

const line = (o: unknown) => `${JSON.stringify(o)}\n`;
const usage = (input: number, output: number, write = 0, read = 0) => ({
  input_tokens: input,
  output_tokens: output,
  cache_creation_input_tokens: write,
  cache_read_input_tokens: read,
});
const assistant = (id: string | undefined, u: unknown, content: unknown[] = [{ type: 'text', text: 'hi' }], model = 'claude-sonnet-4-5') =>
  line({
    type: 'assistant',
    message: { ...(id ? { id } : {}), type: 'message', role: 'assistant', model, content, usage: u },
    parent_tool_use_id: null,
    session_id: SESSION,
  });
const init = (model = 'claude-sonnet-4-5') =>
  line({ type: 'system', subtype: 'init', session_id: SESSION, model, tools: ['Bash', 'Read'], permissionMode: 'dontAsk', cwd: '/w' });
const result = (extra: Record<string, unknown> = {}) =>
  line({
    type: 'result',
    subtype: 'success',
    is_error: false,
    duration_ms: 1000,
    num_turns: 1,
    result: 'ok',
    session_id: SESSION,
    total_cost_usd: 0.01,
    usage: usage(10, 20),
    modelUsage: {
      'claude-sonnet-4-5': { inputTokens: 10, outputTokens: 20, cacheReadInputTokens: 0, cacheCreationInputTokens: 0, webSearchRequests: 0, costUSD: 0.01 },
    },
    permission_denials: [],
    ...extra,
  });

interface Run {
  out: string;
  err: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  record?: { argv: string[]; env: Record<string, string>; stdin?: string };
}

/** Runs the fake to its end and returns everything it printed. */
function runFake(scenario: string, args: string[] = [], stdin = 'the task'): Promise<Run> {
  const recordFile = join(tmp, `${scenario}-${Math.random().toString(36).slice(2)}.json`);
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [FAKE, ...args], {
      env: { PATH: process.env.PATH ?? '', FAKE_CLAUDE_SCENARIO: scenario, FAKE_CLAUDE_RECORD: recordFile, SOME_SECRET: 'x' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.stdin.end(stdin);
    child.on('error', rej);
    child.on('close', (code, signal) => {
      let record: Run['record'];
      try {
        record = JSON.parse(readFileSync(recordFile, 'utf8')) as Run['record'];
      } catch {
        record = undefined;
      }
      res({ out, err, code, signal, record });
    });
  });
}

/** Pipes the fake's stdout into a meter as it arrives, in random chunk sizes, until it ends. */
function meterFake(scenario: string, seed: number, onEvent?: (e: StreamEvent, kill: () => void) => void) {
  const meter = new StreamMeter({});
  const events: StreamEvent[] = [];
  const next = rng(seed);
  return new Promise<{ meter: StreamMeter; events: StreamEvent[]; code: number | null; signal: NodeJS.Signals | null }>((res, rej) => {
    const child = spawn(process.execPath, [FAKE, '--session-id', SESSION], {
      env: { PATH: process.env.PATH ?? '', FAKE_CLAUDE_SCENARIO: scenario },
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    const kill = () => child.kill('SIGKILL');
    const take = (evs: StreamEvent[]) => {
      for (const e of evs) {
        events.push(e);
        onEvent?.(e, kill);
      }
    };
    child.stdout.on('data', (b: Buffer) => {
      // Bytes, re-split at random points (possibly inside a UTF-8 sequence).
      for (let i = 0; i < b.length;) {
        const n = 1 + Math.floor(next() * 200);
        take(meter.push(b.subarray(i, i + n)));
        i += n;
      }
    });
    child.stdin.end('the task');
    child.on('error', rej);
    child.on('close', (code, signal) => {
      take(meter.end());
      res({ meter, events, code, signal });
    });
  });
}

const kinds = (events: StreamEvent[]) => events.map((e) => e.kind);

describe('StreamMeter: lines', () => {
  it('buffers partial lines across chunks and reads the last line at end()', () => {
    const m = new StreamMeter({});
    const text = init() + assistant('msg_1', usage(3, 5, 7, 11));
    const cut = text.indexOf('"usage"');
    expect(m.push(text.slice(0, 10))).toEqual([]);
    const first = m.push(text.slice(10, cut));
    expect(kinds(first)).toEqual(['init']);
    expect(kinds(m.push(text.slice(cut, -1)))).toEqual([]); // no newline yet
    expect(kinds(m.end())).toEqual(['usage']);
    expect(m.tokens).toBe(26);
  });

  it('gives the same events and totals for every way of cutting the stream', () => {
    const text =
      init() +
      assistant('msg_1', usage(1, 2, 3, 4), [{ type: 'tool_use', id: 'toolu_1', name: 'Read', input: { file_path: 'é/ü.txt' } }]) +
      'noise ✓\n' +
      assistant('msg_2', usage(10, 20)) +
      result();
    const whole = new StreamMeter({});
    const expected = [...whole.push(text), ...whole.end()];
    for (let seed = 1; seed <= 50; seed++) {
      const m = new StreamMeter({});
      expect(feed(m, text, seed, 1 + (seed % 17))).toEqual(expected);
      expect(m.tokens).toBe(whole.tokens);
      expect(m.garbage).toBe(1);
    }
  });

  it('decodes bytes split inside a UTF-8 sequence', () => {
    const bytes = new TextEncoder().encode(assistant('msg_1', usage(1, 1), [{ type: 'tool_use', id: 't1', name: 'Write', input: { text: '日本語 ✓ ü' } }]));
    const m = new StreamMeter({});
    const events: StreamEvent[] = [];
    for (let i = 0; i < bytes.length; i++) events.push(...m.push(bytes.subarray(i, i + 1)));
    events.push(...m.end());
    expect(events.find((e) => e.kind === 'tool')).toEqual({ kind: 'tool', name: 'Write', input: { text: '日本語 ✓ ü' }, id: 't1' });
    expect(m.garbage).toBe(0);
  });

  it('accepts CRLF line endings and skips blank lines', () => {
    const m = new StreamMeter({});
    const events = [...m.push(init().replace('\n', '\r\n') + '\n   \n\r\n'), ...m.end()];
    expect(kinds(events)).toEqual(['init']);
    expect(m.garbage).toBe(0);
  });

  it('counts lines that are not JSON objects as garbage and never throws', () => {
    const m = new StreamMeter({});
    const bad = ['not json', '{"type":"assistant"', '[1,2]', 'null', '42', '"str"', 'true', '{"a":1}}'];
    const events = [...m.push(bad.join('\n') + '\n'), ...m.end()];
    expect(m.garbage).toBe(bad.length);
    expect(events).toEqual(bad.map((l) => ({ kind: 'garbage', line: l })));
    expect(m.tampered).toBeUndefined();
  });

  it('shortens the garbage it reports, and drops an over-long line without keeping it', () => {
    const m = new StreamMeter({ maxLineLength: 1000 });
    const e1 = m.push('x'.repeat(500) + '\n');
    expect(e1[0]).toMatchObject({ kind: 'garbage' });
    expect((e1[0] as { line: string }).line.length).toBeLessThan(210);
    // 5000 characters with no newline, in pieces: one garbage event, then the stream goes on.
    const events: StreamEvent[] = [];
    for (let i = 0; i < 50; i++) events.push(...m.push('y'.repeat(100)));
    events.push(...m.push('yyy\n'), ...m.push(assistant('msg_1', usage(1, 1))), ...m.end());
    expect(kinds(events)).toEqual(['garbage', 'usage']);
    expect(m.garbage).toBe(2);
    expect(m.tokens).toBe(2);
  });

  it('ignores unknown event types and other system subtypes', () => {
    const m = new StreamMeter({});
    const events = [
      ...m.push(line({ type: 'stream_event', event: { type: 'message_start', message: { usage: usage(1e9, 1e9) } } })),
      ...m.push(line({ type: 'system', subtype: 'compact_boundary', session_id: SESSION })),
      ...m.push(line({ type: 'user', message: { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: 'x' }] } })),
      ...m.push(line({ type: 'rate_limit', usage: usage(5, 5) })),
      ...m.push(line({ no_type: true })),
      ...m.end(),
    ];
    expect(events).toEqual([]);
    expect(m.tokens).toBe(0);
    expect(m.garbage).toBe(0);
  });

  it('returns nothing after end()', () => {
    const m = new StreamMeter({});
    m.end();
    expect(m.push(init())).toEqual([]);
    expect(m.end()).toEqual([]);
  });
});

describe('StreamMeter: usage', () => {
  it('reads the init event', () => {
    const m = new StreamMeter({});
    expect(m.push(init('claude-opus-4-1'))).toEqual([{ kind: 'init', model: 'claude-opus-4-1', session_id: SESSION, tools: ['Bash', 'Read'] }]);
    expect(m.init?.model).toBe('claude-opus-4-1');
  });

  it('counts each message.id once: Claude Code repeats the usage on each content block', () => {
    const m = new StreamMeter({});
    const u = usage(4, 96, 5120, 13870);
    const events = [
      ...m.push(assistant('msg_A', u, [{ type: 'text', text: 'first' }])),
      ...m.push(assistant('msg_A', u, [{ type: 'tool_use', id: 'toolu_1', name: 'Read', input: {} }])),
      ...m.push(assistant('msg_A', u, [{ type: 'tool_use', id: 'toolu_2', name: 'Read', input: {} }])),
      ...m.push(assistant('msg_B', usage(6, 142, 310, 18990))),
    ];
    expect(m.usage).toEqual({ input_tokens: 10, output_tokens: 238, cache_creation_input_tokens: 5430, cache_read_input_tokens: 32860 });
    expect(m.tokens).toBe(10 + 238 + 5430 + 32860);
    expect(events.filter((e) => e.kind === 'usage')).toEqual([
      { kind: 'usage', tokens: 4 + 96 + 5120 + 13870 },
      { kind: 'usage', tokens: m.tokens },
    ]);
    expect(m.toolCalls).toBe(2);
  });

  it('keeps the highest value of each field when copies of one id disagree', () => {
    const m = new StreamMeter({});
    m.push(assistant('msg_A', usage(4, 1, 100, 200)));
    const grow = m.push(assistant('msg_A', usage(4, 250, 100, 200)));
    const shrink = m.push(assistant('msg_A', usage(0, 3, 0, 0)));
    expect(m.usage).toEqual(usage(4, 250, 100, 200));
    expect(grow).toEqual([{ kind: 'usage', tokens: 554 }]);
    expect(shrink).toEqual([]);
  });

  it('counts messages without an id each time (they cannot be told apart)', () => {
    const m = new StreamMeter({});
    m.push(assistant(undefined, usage(1, 1)));
    m.push(assistant(undefined, usage(1, 1)));
    expect(m.tokens).toBe(4);
  });

  it('treats negative, non-finite and non-numeric counts as 0 and reports tampering once per reason', () => {
    const m = new StreamMeter({});
    const e1 = m.push(assistant('msg_1', { input_tokens: -1000, output_tokens: 50, cache_creation_input_tokens: 'lots', cache_read_input_tokens: null }));
    // 1e400 parses to Infinity (JSON.stringify could not write it).
    const e2 = m.push('{"type":"assistant","message":{"id":"msg_2","content":[],"usage":{"input_tokens":-1000,"output_tokens":1e400}}}\n');
    expect(m.usage).toEqual(usage(0, 50));
    expect(e1.filter((e) => e.kind === 'tampered')).toHaveLength(2);
    expect(e2.filter((e) => e.kind === 'tampered').map((e) => (e as { why: string }).why)).toEqual(['assistant usage.output_tokens is not a count (Infinity)']);
    expect(m.tampered).toMatch(/input_tokens is not a count \(-1000\)/);
    expect(m.tamperReasons).toHaveLength(3);
  });

  it('reports tool calls to the callback and as events, each tool_use id once', () => {
    const calls: unknown[] = [];
    const m = new StreamMeter({ onToolCall: (c) => calls.push(c) });
    const block = { type: 'tool_use', id: 'toolu_9', name: 'Bash', input: { command: 'ga propose x' } };
    const events = [
      ...m.push(assistant('msg_1', usage(1, 1), [{ type: 'text', text: 'x' }, block])),
      ...m.push(assistant('msg_1', usage(1, 1), [block])), // the same block again
      ...m.push(assistant('msg_2', usage(1, 1), [{ type: 'tool_use', name: 'Read', input: { file_path: 'a' } }])), // no id
      ...m.push(assistant('msg_3', usage(1, 1), [{ type: 'thinking', thinking: '...' }, 'junk', null])),
    ];
    expect(calls).toEqual([
      { name: 'Bash', input: { command: 'ga propose x' }, id: 'toolu_9' },
      { name: 'Read', input: { file_path: 'a' } },
    ]);
    expect(events.filter((e) => e.kind === 'tool')).toEqual([
      { kind: 'tool', name: 'Bash', input: { command: 'ga propose x' }, id: 'toolu_9' },
      { kind: 'tool', name: 'Read', input: { file_path: 'a' } },
    ]);
    expect(m.toolCalls).toBe(2);
  });

  it('keeps usage by model, falling back to the init model', () => {
    const m = new StreamMeter({});
    m.push(init('claude-opus-4-1'));
    m.push(line({ type: 'assistant', message: { id: 'm1', content: [], usage: usage(1, 2) } }));
    m.push(assistant('m2', usage(3, 4), [], 'claude-haiku-4-5'));
    expect(m.usageByModel).toEqual({ 'claude-opus-4-1': usage(1, 2), 'claude-haiku-4-5': usage(3, 4) });
  });
});

describe('StreamMeter: result', () => {
  it('summarises the result event', () => {
    const m = new StreamMeter({});
    const denial = { tool_name: 'Bash', tool_use_id: 'toolu_1', tool_input: { command: 'rm -rf /' } };
    const events = m.push(result({ permission_denials: [denial, 'junk'], num_turns: 3 }));
    expect(events).toHaveLength(1);
    expect(m.result).toEqual({
      subtype: 'success',
      is_error: false,
      total_cost_usd: 0.01,
      usage: usage(10, 20),
      model_usage: {
        'claude-sonnet-4-5': { inputTokens: 10, outputTokens: 20, cacheReadInputTokens: 0, cacheCreationInputTokens: 0, webSearchRequests: 0, costUSD: 0.01 },
      },
      permission_denials: [denial],
      num_turns: 3,
      duration_ms: 1000,
      session_id: SESSION,
      text: 'ok',
    });
    expect(events[0]).toEqual({ kind: 'result', result: m.result });
  });

  it('keeps the first result and reports a second one as tampering, once', () => {
    const m = new StreamMeter({});
    m.push(result({ total_cost_usd: 0.5 }));
    const second = m.push(result({ total_cost_usd: 0 }));
    const third = m.push(result({ total_cost_usd: 0 }));
    expect(second).toEqual([{ kind: 'tampered', why: 'a second result event' }]);
    expect(third).toEqual([]);
    expect(m.result?.total_cost_usd).toBe(0.5);
    expect(m.tampered).toBe('a second result event');
  });

  it('does not trust a negative or non-finite cost', () => {
    const m = new StreamMeter({});
    const events = m.push(result({ total_cost_usd: -5, modelUsage: { x: { inputTokens: -1, outputTokens: 2, costUSD: 'free' } } }));
    expect(m.result?.total_cost_usd).toBeUndefined();
    expect(m.result?.model_usage.x).toEqual({
      inputTokens: 0,
      outputTokens: 2,
      cacheReadInputTokens: 0,
      cacheCreationInputTokens: 0,
      webSearchRequests: 0,
      costUSD: undefined,
    });
    expect(kinds(events)).toEqual(['tampered', 'tampered', 'tampered', 'result']);
  });

  it('derives is_error from the subtype when the result does not say', () => {
    const m = new StreamMeter({});
    m.push(line({ type: 'result', subtype: 'error_max_turns', total_cost_usd: 0.1 }));
    expect(m.result).toMatchObject({ subtype: 'error_max_turns', is_error: true, model_usage: {}, permission_denials: [] });
  });
});

describe('chargeFor', () => {
  const sonnet = PRICE_TABLE.sonnet;

  it('prices by model family; an unknown model at the most expensive family', () => {
    expect(priceFor('claude-sonnet-4-5-20250929')).toBe(PRICE_TABLE.sonnet);
    expect(priceFor('claude-3-5-haiku-20241022')).toBe(PRICE_TABLE.haiku);
    expect(priceFor('claude-opus-4-1')).toBe(PRICE_TABLE.opus);
    expect(priceFor('some-new-model')).toBe(MOST_EXPENSIVE);
    expect(priceFor(undefined)).toBe(MOST_EXPENSIVE);
    for (const p of Object.values(PRICE_TABLE)) expect(MOST_EXPENSIVE.output).toBeGreaterThanOrEqual(p.output);
    // input $3, output $15, cache writes 1.25x and reads 0.1x input.
    expect(usdFor(usage(1e6, 1e6, 1e6, 1e6), sonnet)).toBeCloseTo(3 + 15 + 3.75 + 0.3, 10);
  });

  it('charges the reported cost when it is the larger', () => {
    const m = new StreamMeter({});
    m.push(assistant('m1', usage(1000, 1000)));
    m.push(result({ total_cost_usd: 1.25 }));
    expect(chargeFor(m, { reservationUsd: 0.5 })).toEqual({ usd: 1.25, tokens: 2000, source: 'reported', outcome: 'success' });
  });

  it('charges the metered usage when the report is lower', () => {
    const m = new StreamMeter({});
    m.push(assistant('m1', usage(1_000_000, 100_000)));
    m.push(result({ total_cost_usd: 0.01 }));
    const c = chargeFor(m, { reservationUsd: 0.5 });
    expect(c.source).toBe('metered');
    expect(c.outcome).toBe('success');
    expect(c.usd).toBeCloseTo(3 + 1.5, 10);
    expect(c.tokens).toBe(1_100_000);
  });

  it('prices an unknown model as the most expensive family, and honours pricePerMTok', () => {
    const m = new StreamMeter({});
    m.push(assistant('m1', usage(1_000_000, 0), [], 'mystery-model'));
    expect(chargeFor(m, { reservationUsd: 0 }).usd).toBeCloseTo(MOST_EXPENSIVE.input, 10);
    expect(chargeFor(m, { reservationUsd: 0, pricePerMTok: { input: 2, output: 4 } }).usd).toBeCloseTo(2, 10);
  });

  it('charges the reservation, as no-result, when there is no result', () => {
    const m = new StreamMeter({});
    m.push(assistant('m1', usage(100, 100)));
    expect(chargeFor(m, { reservationUsd: 0.5 })).toEqual({ usd: 0.5, tokens: 200, source: 'reservation', outcome: 'no-result' });
  });

  it('charges the metered usage of a run with no result when it is more than the reservation (live spend)', () => {
    const m = new StreamMeter({});
    m.push(assistant('m1', usage(1_000_000, 0)));
    expect(chargeFor(m, { reservationUsd: 0 })).toEqual({ usd: 3, tokens: 1_000_000, source: 'metered', outcome: 'no-result' });
    expect(chargeFor(m, { reservationUsd: 0.5 }).source).toBe('metered');
    expect(chargeFor(m, { reservationUsd: 5 })).toMatchObject({ usd: 5, source: 'reservation', outcome: 'no-result' });
  });

  it('treats a result with no usable cost as no usable report', () => {
    const m = new StreamMeter({});
    m.push(result({ total_cost_usd: -1, modelUsage: {} }));
    expect(chargeFor(m, { reservationUsd: 0.5 })).toMatchObject({ usd: 0.5, source: 'reservation', outcome: 'no-result' });
  });

  it('falls back to the sum of modelUsage costUSD when total_cost_usd is missing', () => {
    const m = new StreamMeter({});
    m.push(
      result({
        total_cost_usd: undefined,
        modelUsage: { a: { inputTokens: 1, outputTokens: 1, costUSD: 0.2 }, b: { inputTokens: 1, outputTokens: 1, costUSD: 0.3 } },
      }),
    );
    expect(chargeFor(m, { reservationUsd: 1 })).toMatchObject({ usd: 0.5, source: 'reported', outcome: 'success' });
  });

  it('is agent-error when the result is_error, or its subtype is not success', () => {
    const a = new StreamMeter({});
    a.push(result({ subtype: 'error_during_execution', is_error: true, total_cost_usd: 0.02 }));
    expect(chargeFor(a, { reservationUsd: 1 })).toMatchObject({ usd: 0.02, source: 'reported', outcome: 'agent-error' });
    const b = new StreamMeter({});
    b.push(result({ subtype: 'error_max_budget_usd', is_error: false, total_cost_usd: 0.6 }));
    expect(chargeFor(b, { reservationUsd: 0.5 })).toMatchObject({ usd: 0.6, outcome: 'agent-error' });
  });

  it('counts the larger of the metered and the reported tokens', () => {
    const m = new StreamMeter({});
    m.push(assistant('m1', usage(10, 10)));
    m.push(result({ usage: usage(10, 10), modelUsage: { s: { inputTokens: 500, outputTokens: 500, costUSD: 0.01 } } }));
    expect(chargeFor(m, { reservationUsd: 0 }).tokens).toBe(1000);
  });

  it('ignores a nonsensical reservation', () => {
    const m = new StreamMeter({});
    expect(chargeFor(m, { reservationUsd: -3 })).toMatchObject({ usd: 0, source: 'reservation' });
    expect(chargeFor(m, { reservationUsd: Number.NaN })).toMatchObject({ usd: 0, source: 'reservation' });
  });
});

describe('fake claude', () => {
  it('records its argv, environment and stdin', async () => {
    const args = ['-p', '--output-format', 'stream-json', '--verbose', '--permission-mode', 'dontAsk', '--session-id', SESSION];
    const r = await runFake('success', args, 'do the task');
    expect(r.code).toBe(0);
    expect(r.record?.argv).toEqual(args);
    expect(r.record?.env.SOME_SECRET).toBe('x');
    expect(r.record?.env.FAKE_CLAUDE_SCENARIO).toBe('success');
    expect(r.record?.stdin).toBe('do the task');
  });

  it('prints Claude Code shaped stream-json', async () => {
    const r = await runFake('success');
    const events = r.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, any>);
    expect(events[0]).toMatchObject({ type: 'system', subtype: 'init', model: 'claude-sonnet-4-5-20250929' });
    expect(events[0]!.session_id).toMatch(UUID);
    expect(events.map((e) => e.type)).toEqual(['system', 'assistant', 'assistant', 'user', 'assistant', 'user', 'assistant', 'result']);
    expect(events[1]!.message.id).toBe(events[2]!.message.id); // one API message, two content blocks
    expect(events[1]!.message.usage).toEqual(events[2]!.message.usage);
    expect(events.at(-1)).toMatchObject({ subtype: 'success', is_error: false, num_turns: 3, permission_denials: [] });
    expect(Object.keys(events.at(-1)!.modelUsage)).toHaveLength(2);
  });

  it('uses the --session-id and --model it is given', async () => {
    const r = await runFake('success', ['--session-id', SESSION, '--model', 'claude-opus-4-1']);
    const first = JSON.parse(r.out.split('\n')[0]!) as { session_id: string; model: string };
    expect(first).toMatchObject({ session_id: SESSION, model: 'claude-opus-4-1' });
  });

  it('writes to stderr in the stderr and error scenarios, and exits 2 on an unknown scenario', async () => {
    const s = await runFake('stderr');
    expect(s.err.trim().split('\n').length).toBeGreaterThanOrEqual(3);
    expect(s.out).not.toContain('stderr line');
    const e = await runFake('error');
    expect(e.code).toBe(1);
    expect(e.err).toContain('API Error');
    const u = await runFake('no-such-thing');
    expect(u.code).toBe(2);
  });
});

describe('StreamMeter on the fake claude, in random chunk sizes', () => {
  it('success: init, usage once per message, tool calls, a reported charge', async () => {
    for (const seed of [1, 2, 3]) {
      const r = await runFake('success', ['--session-id', SESSION]);
      const m = new StreamMeter({});
      const events = feed(m, r.out, seed);
      expect(events[0]).toEqual({ kind: 'init', model: 'claude-sonnet-4-5-20250929', session_id: SESSION, tools: expect.arrayContaining(['Bash', 'Read']) });
      expect(events.filter((e) => e.kind === 'usage')).toHaveLength(3);
      expect(events.filter((e) => e.kind === 'tool').map((e) => (e as { name: string }).name)).toEqual(['Read', 'Bash']);
      expect(m.usage).toEqual({ input_tokens: 15, output_tokens: 279, cache_creation_input_tokens: 5610, cache_read_input_tokens: 52160 });
      expect(m.result?.usage).toEqual(m.usage); // the meter agrees with the report
      expect(m.result?.session_id).toBe(SESSION);
      expect(m.garbage).toBe(0);
      expect(m.tampered).toBeUndefined();
      const c = chargeFor(m, { reservationUsd: 0.5 });
      // The report includes a small haiku request the stream does not show, so it is the larger.
      expect(c).toMatchObject({ source: 'reported', outcome: 'success' });
      expect(c.usd).toBe(m.result?.total_cost_usd);
      expect(c.usd).toBeGreaterThan(usdFor(m.usage, PRICE_TABLE.sonnet));
    }
  });

  it('success, piped live as bytes', async () => {
    const { meter, events, code } = await meterFake('success', 7);
    expect(code).toBe(0);
    expect(kinds(events)[0]).toBe('init');
    expect(kinds(events).at(-1)).toBe('result');
    expect(meter.toolCalls).toBe(2);
    expect(meter.garbage).toBe(0);
  });

  it('denials: the result carries the permission denials', async () => {
    const { meter } = await meterFake('denials', 11);
    expect(meter.result?.permission_denials.map((d) => d.tool_name)).toEqual(['Bash', 'WebFetch']);
    expect(meter.result?.permission_denials[0]).toMatchObject({ tool_input: { command: 'rm -rf build' } });
    expect(meter.result?.permission_denials[0]?.tool_use_id).toMatch(/^toolu_/);
    expect(chargeFor(meter, { reservationUsd: 0.5 }).outcome).toBe('success');
  });

  it('error: agent-error, charged what it reported', async () => {
    const { meter, code } = await meterFake('error', 12);
    expect(code).toBe(1);
    expect(meter.result).toMatchObject({ subtype: 'error_during_execution', is_error: true });
    expect(chargeFor(meter, { reservationUsd: 0.5 })).toMatchObject({ source: 'reported', outcome: 'agent-error' });
  });

  it('no-result: charged the reservation', async () => {
    const { meter, code } = await meterFake('no-result', 13);
    expect(code).toBe(0);
    expect(meter.result).toBeUndefined();
    expect(meter.tokens).toBeGreaterThan(0);
    expect(chargeFor(meter, { reservationUsd: 0.5 })).toEqual({ usd: 0.5, tokens: meter.tokens, source: 'reservation', outcome: 'no-result' });
  });

  it('two-results: tampering, the first result kept', async () => {
    const { meter, events } = await meterFake('two-results', 14);
    expect(events.filter((e) => e.kind === 'tampered')).toEqual([{ kind: 'tampered', why: 'a second result event' }]);
    expect(meter.result?.total_cost_usd).toBeGreaterThan(0);
    expect(meter.result?.text).toBe('I submitted proposal p-0001.');
  });

  it('garbage: counted, the rest still metered', async () => {
    const { meter, events } = await meterFake('garbage', 15);
    expect(meter.garbage).toBe(7);
    expect(events.filter((e) => e.kind === 'garbage')).toHaveLength(7);
    expect(meter.result?.subtype).toBe('success');
    expect(meter.toolCalls).toBe(1);
    expect(meter.tampered).toBeUndefined();
    expect(chargeFor(meter, { reservationUsd: 0.5 }).outcome).toBe('success');
  });

  it('hang: init, then nothing until it is killed', async () => {
    const started = Date.now();
    const { meter, events, signal } = await meterFake('hang', 16, (e, kill) => {
      if (e.kind === 'init') setTimeout(kill, 300);
    });
    expect(signal).toBe('SIGKILL');
    expect(kinds(events)).toEqual(['init']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(chargeFor(meter, { reservationUsd: 0.5 })).toMatchObject({ usd: 0.5, source: 'reservation', outcome: 'no-result' });
  });

  it('overspend: the running total grows message by message, and a cap can stop it early', async () => {
    const full = await meterFake('overspend', 17);
    const totals = full.events.filter((e) => e.kind === 'usage').map((e) => (e as { tokens: number }).tokens);
    expect(totals).toEqual(Array.from({ length: 20 }, (_, i) => (i + 1) * 100_000));
    expect(full.meter.tokens).toBe(2_000_000);
    expect(chargeFor(full.meter, { reservationUsd: 0.5 }).usd).toBeGreaterThan(0.5);

    let stoppedAt = 0;
    const capped = await meterFake('overspend', 18, (e, kill) => {
      if (e.kind === 'usage' && e.tokens > 300_000 && !stoppedAt) {
        stoppedAt = e.tokens;
        kill();
      }
    });
    expect(stoppedAt).toBe(400_000);
    expect(capped.meter.result).toBeUndefined();
    expect(capped.meter.tokens).toBeLessThan(1_000_000);
    const c = chargeFor(capped.meter, { reservationUsd: 0.5 });
    expect(c.outcome).toBe('no-result');
    expect(c.usd).toBeGreaterThanOrEqual(0.5);
  });

  it('tool-loop: the same tool call six times in a row', async () => {
    const calls: { name: string; input: unknown }[] = [];
    const r = await runFake('tool-loop');
    const m = new StreamMeter({ onToolCall: (c) => calls.push(c) });
    feed(m, r.out, 19);
    expect(m.toolCalls).toBe(6);
    expect(calls).toHaveLength(6);
    expect(new Set(calls.map((c) => JSON.stringify([c.name, c.input]))).size).toBe(1);
  });

  it('stderr: stdout stays clean stream-json', async () => {
    const { meter, code } = await meterFake('stderr', 20);
    expect(code).toBe(0);
    expect(meter.garbage).toBe(0);
    expect(meter.result?.subtype).toBe('success');
  });
});
