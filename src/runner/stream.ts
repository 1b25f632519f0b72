// Claude Code's stream-json output (`claude -p --output-format stream-json
// --verbose`), read incrementally and metered. Pure and synchronous: the
// caller feeds chunks of stdout and acts on the events that come back.
//
// The format, one JSON object a line:
//   {"type":"system","subtype":"init","session_id","model","tools":[...],...}
//   {"type":"assistant","message":{"id":"msg_...","model","content":[...],"usage":{...}},...}
//     Claude Code writes one such line per content block (text, thinking,
//     tool_use), each repeating the API message's id and usage: the usage is
//     that of the whole API message, so it is counted once per message.id.
//     Where copies of one id disagree, the highest value of each field counts
//     (the Agent SDK's cost-tracking guide: "use the highest value").
//   {"type":"user","message":{"content":[{"type":"tool_result",...}]},...}
//   {"type":"result","subtype":"success"|"error_max_turns"|"error_during_execution"|
//     "error_max_budget_usd"|...,"is_error","total_cost_usd","usage","modelUsage",
//     "permission_denials","num_turns","duration_ms","session_id",...}   (last line)
// Other lines (other system subtypes, stream_event, ...) are ignored.
//
// Nothing the agent prints is trusted: a line that is not a JSON object is
// garbage (counted, never thrown), a number that is negative or not finite
// counts as 0 and is reported as tampering, and so is a second result.

import type { ChargeSource } from '../schema/ledger.js';

export interface TokenUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

export interface ModelUsageEntry {
  inputTokens: number;
  outputTokens: number;
  cacheReadInputTokens: number;
  cacheCreationInputTokens: number;
  webSearchRequests: number;
  /** Undefined when absent or not a usable number. */
  costUSD: number | undefined;
}

export interface PermissionDenial {
  tool_name: string;
  tool_use_id?: string;
  tool_input?: unknown;
}

export interface ResultSummary {
  subtype: string;
  is_error: boolean;
  /** Undefined when absent, negative or not finite. */
  total_cost_usd: number | undefined;
  usage?: TokenUsage;
  model_usage: Record<string, ModelUsageEntry>;
  permission_denials: PermissionDenial[];
  num_turns?: number;
  duration_ms?: number;
  session_id?: string;
  /** The final text of a successful run (`result`), when it is a string. */
  text?: string;
}

export type StreamEvent =
  | { kind: 'init'; model?: string; session_id?: string; tools?: string[] }
  /** After an assistant message that changed the metered usage: the running total of tokens. */
  | { kind: 'usage'; tokens: number }
  | { kind: 'tool'; name: string; input: unknown; id?: string }
  | { kind: 'result'; result: ResultSummary }
  /** Reported once per distinct reason. */
  | { kind: 'tampered'; why: string }
  | { kind: 'garbage'; line: string };

export interface StreamMeterOptions {
  onToolCall?: (call: { name: string; input: unknown; id?: string }) => void;
  /** A line longer than this (characters) is dropped as garbage. Default 32 Mi. */
  maxLineLength?: number;
}

const ZERO: TokenUsage = { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
const USAGE_FIELDS = ['input_tokens', 'output_tokens', 'cache_creation_input_tokens', 'cache_read_input_tokens'] as const;
const GARBAGE_SHOWN = 200;
/** The model of assistant messages that do not name one and come before any init. */
const UNKNOWN_MODEL = '';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
/** A value in a tampering reason: numbers as themselves (Infinity too), the rest as JSON, cut short. */
const shown = (v: unknown): string => (typeof v === 'number' ? String(v) : (JSON.stringify(v) ?? String(v)).slice(0, 60));
const sumTokens = (u: TokenUsage): number => u.input_tokens + u.output_tokens + u.cache_creation_input_tokens + u.cache_read_input_tokens;

export class StreamMeter {
  private readonly onToolCall: StreamMeterOptions['onToolCall'];
  private readonly maxLineLength: number;
  private buf = '';
  private skipping = false; // inside an over-long line, until its newline
  private readonly decoder = new TextDecoder('utf-8');
  private ended = false;

  private readonly total: TokenUsage = { ...ZERO };
  /** Per message.id: the highest value seen of each field, and the model it was charged to. */
  private readonly messages = new Map<string, { usage: TokenUsage; model: string }>();
  private readonly byModel = new Map<string, TokenUsage>();
  private readonly toolIds = new Set<string>();
  private readonly reasons: string[] = [];
  private firstResult: ResultSummary | undefined;
  private initInfo: { model?: string; session_id?: string; tools?: string[] } | undefined;
  private garbageLines = 0;
  private tools = 0;
  private anonymous = 0;

  constructor(opts: StreamMeterOptions = {}) {
    this.onToolCall = opts.onToolCall;
    this.maxLineLength = opts.maxLineLength ?? 32 * 1024 * 1024;
  }

  /** Feeds a chunk of stdout (a string, or bytes decoded as UTF-8 across chunk boundaries). */
  push(chunk: string | Uint8Array): StreamEvent[] {
    if (this.ended) return [];
    const text = typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    const out: StreamEvent[] = [];
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      const piece = text.slice(start, nl);
      start = nl + 1;
      if (this.skipping) {
        this.skipping = false;
        this.buf = '';
        continue;
      }
      const line = this.buf + piece;
      this.buf = '';
      if (line.length > this.maxLineLength) this.overlong(line, out);
      else this.line(line, out);
    }
    if (!this.skipping) {
      this.buf += text.slice(start);
      if (this.buf.length > this.maxLineLength) {
        this.overlong(this.buf, out);
        this.buf = '';
        this.skipping = true;
      }
    }
    return out;
  }

  /** The stream has closed: the last line, if it had no newline, is read now. */
  end(): StreamEvent[] {
    if (this.ended) return [];
    const out = this.push(this.decoder.decode());
    this.ended = true;
    const rest = this.buf;
    this.buf = '';
    if (!this.skipping && rest) this.line(rest, out);
    this.skipping = false;
    return out;
  }

  get usage(): TokenUsage {
    return { ...this.total };
  }

  /** What counts against a token cap: input + output + cache creation + cache read. */
  get tokens(): number {
    return sumTokens(this.total);
  }

  /** Metered usage by model (the model each assistant message named, else the init model). */
  get usageByModel(): Record<string, TokenUsage> {
    const out: Record<string, TokenUsage> = {};
    for (const [model, u] of this.byModel) out[model] = { ...u };
    return out;
  }

  /** The first result event; later ones are tampering and ignored. */
  get result(): ResultSummary | undefined {
    return this.firstResult;
  }

  get init(): { model?: string; session_id?: string; tools?: string[] } | undefined {
    return this.initInfo;
  }

  /** The first reason the stream is not to be trusted, e.g. "a second result event". */
  get tampered(): string | undefined {
    return this.reasons[0];
  }

  /** Every distinct reason, in order. */
  get tamperReasons(): readonly string[] {
    return [...this.reasons];
  }

  /** Lines that were not JSON objects (blank lines are not counted). */
  get garbage(): number {
    return this.garbageLines;
  }

  /** tool_use blocks seen, each tool_use id once. */
  get toolCalls(): number {
    return this.tools;
  }

  // ---------------------------------------------------------------------

  private overlong(line: string, out: StreamEvent[]): void {
    this.garbageLines++;
    out.push({ kind: 'garbage', line: `${line.slice(0, GARBAGE_SHOWN)}... (${line.length} characters)` });
  }

  private tamper(why: string, out: StreamEvent[]): void {
    if (this.reasons.includes(why)) return;
    this.reasons.push(why);
    out.push({ kind: 'tampered', why });
  }

  /** A count: a finite number >= 0. Absent (undefined/null) is 0; anything else is 0 and tampering. */
  private count(v: unknown, what: string, out: StreamEvent[]): number {
    if (v === undefined || v === null) return 0;
    if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v;
    this.tamper(`${what} is not a count (${shown(v)})`, out);
    return 0;
  }

  /** A cost in USD: undefined when absent; negative, non-finite or non-numbers are tampering. */
  private cost(v: unknown, what: string, out: StreamEvent[]): number | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v;
    this.tamper(`${what} is not a cost (${shown(v)})`, out);
    return undefined;
  }

  private tokenUsage(v: unknown, what: string, out: StreamEvent[]): TokenUsage | undefined {
    if (!isObj(v)) return undefined;
    const u = { ...ZERO };
    for (const f of USAGE_FIELDS) u[f] = this.count(v[f], `${what}.${f}`, out);
    return u;
  }

  private line(raw: string, out: StreamEvent[]): void {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (!line.trim()) return;
    let ev: unknown;
    try {
      ev = JSON.parse(line);
    } catch {
      ev = undefined;
    }
    if (!isObj(ev)) {
      this.garbageLines++;
      out.push({ kind: 'garbage', line: line.length > GARBAGE_SHOWN ? `${line.slice(0, GARBAGE_SHOWN)}...` : line });
      return;
    }
    switch (ev.type) {
      case 'system':
        if (ev.subtype === 'init') this.onInit(ev, out);
        return;
      case 'assistant':
        this.onAssistant(ev, out);
        return;
      case 'result':
        this.onResult(ev, out);
        return;
      default:
        return; // user (tool results), stream_event, and types to come: nothing to meter
    }
  }

  private onInit(ev: Obj, out: StreamEvent[]): void {
    const info: { model?: string; session_id?: string; tools?: string[] } = {};
    const model = str(ev.model);
    const session = str(ev.session_id);
    if (model !== undefined) info.model = model;
    if (session !== undefined) info.session_id = session;
    if (Array.isArray(ev.tools)) info.tools = ev.tools.filter((t): t is string => typeof t === 'string');
    this.initInfo ??= info;
    out.push({ kind: 'init', ...info });
  }

  private onAssistant(ev: Obj, out: StreamEvent[]): void {
    const msg = ev.message;
    if (!isObj(msg)) return;
    const before = this.tokens;
    const usage = this.tokenUsage(msg.usage, 'assistant usage', out);
    if (usage) {
      const id = str(msg.id) ?? `anonymous ${++this.anonymous}`; // no id: cannot be a repeat, so counted
      const model = str(msg.model) ?? this.initInfo?.model ?? UNKNOWN_MODEL;
      let seen = this.messages.get(id);
      if (!seen) {
        seen = { usage: { ...ZERO }, model };
        this.messages.set(id, seen);
      }
      let forModel = this.byModel.get(seen.model);
      if (!forModel) {
        forModel = { ...ZERO };
        this.byModel.set(seen.model, forModel);
      }
      for (const f of USAGE_FIELDS) {
        const grow = usage[f] - seen.usage[f];
        if (grow > 0) {
          seen.usage[f] = usage[f];
          this.total[f] += grow;
          forModel[f] += grow;
        }
      }
    }
    if (Array.isArray(msg.content)) {
      for (const block of msg.content) {
        if (!isObj(block) || block.type !== 'tool_use') continue;
        const name = str(block.name) ?? '';
        const id = str(block.id);
        if (id !== undefined) {
          if (this.toolIds.has(id)) continue;
          this.toolIds.add(id);
        }
        this.tools++;
        const call = id === undefined ? { name, input: block.input } : { name, input: block.input, id };
        this.onToolCall?.(call);
        out.push({ kind: 'tool', ...call });
      }
    }
    if (this.tokens !== before) out.push({ kind: 'usage', tokens: this.tokens });
  }

  private onResult(ev: Obj, out: StreamEvent[]): void {
    if (this.firstResult) {
      this.tamper('a second result event', out);
      return;
    }
    const modelUsage: Record<string, ModelUsageEntry> = {};
    if (isObj(ev.modelUsage)) {
      for (const [model, m] of Object.entries(ev.modelUsage)) {
        if (!isObj(m)) continue;
        const what = `result modelUsage[${JSON.stringify(model)}]`;
        modelUsage[model] = {
          inputTokens: this.count(m.inputTokens, `${what}.inputTokens`, out),
          outputTokens: this.count(m.outputTokens, `${what}.outputTokens`, out),
          cacheReadInputTokens: this.count(m.cacheReadInputTokens, `${what}.cacheReadInputTokens`, out),
          cacheCreationInputTokens: this.count(m.cacheCreationInputTokens, `${what}.cacheCreationInputTokens`, out),
          webSearchRequests: this.count(m.webSearchRequests, `${what}.webSearchRequests`, out),
          costUSD: this.cost(m.costUSD, `${what}.costUSD`, out),
        };
      }
    }
    const denials: PermissionDenial[] = [];
    if (Array.isArray(ev.permission_denials)) {
      for (const d of ev.permission_denials) {
        if (!isObj(d)) continue;
        const denial: PermissionDenial = { tool_name: str(d.tool_name) ?? '' };
        const id = str(d.tool_use_id);
        if (id !== undefined) denial.tool_use_id = id;
        if (d.tool_input !== undefined) denial.tool_input = d.tool_input;
        denials.push(denial);
      }
    }
    const subtype = str(ev.subtype) ?? '';
    const result: ResultSummary = {
      subtype,
      // A result that does not say is_error is an error unless its subtype says success.
      is_error: typeof ev.is_error === 'boolean' ? ev.is_error : subtype !== 'success',
      total_cost_usd: this.cost(ev.total_cost_usd, 'result total_cost_usd', out),
      model_usage: modelUsage,
      permission_denials: denials,
    };
    const usage = this.tokenUsage(ev.usage, 'result usage', out);
    if (usage) result.usage = usage;
    if (ev.num_turns !== undefined) result.num_turns = this.count(ev.num_turns, 'result num_turns', out);
    if (ev.duration_ms !== undefined) result.duration_ms = this.count(ev.duration_ms, 'result duration_ms', out);
    const session = str(ev.session_id);
    if (session !== undefined) result.session_id = session;
    const text = str(ev.result);
    if (text !== undefined) result.text = text;
    this.firstResult = result;
    out.push({ kind: 'result', result });
  }
}

// ---------------------------------------------------------------------------
// Charging a run.

export interface Price {
  /** USD per million input tokens. */
  input: number;
  /** USD per million output tokens. */
  output: number;
  /** USD per million tokens written to the prompt cache; default 1.25 x input (5-minute cache writes). */
  cacheWrite?: number;
  /** USD per million tokens read from the prompt cache; default 0.1 x input. */
  cacheRead?: number;
}

/**
 * An ESTIMATE of list prices (USD per million tokens) by model family, used
 * only to turn metered tokens into dollars when the agent's own report is
 * missing or lower. Each family carries the highest price of its members
 * (the Opus entry is Opus 4/4.1's, higher than Opus 4.5's), so the estimate
 * errs high; a model that matches no family is priced as the most expensive.
 */
export const PRICE_TABLE: Readonly<Record<'opus' | 'sonnet' | 'haiku', Price>> = {
  opus: { input: 15, output: 75 },
  sonnet: { input: 3, output: 15 },
  haiku: { input: 1, output: 5 },
};

/** The price used for a model no family matches: the most expensive family. */
export const MOST_EXPENSIVE: Price = Object.values(PRICE_TABLE).reduce((a, b) => (b.output > a.output ? b : a));

export function priceFor(model: string | undefined): Price {
  const m = (model ?? '').toLowerCase();
  for (const family of ['opus', 'sonnet', 'haiku'] as const) if (m.includes(family)) return PRICE_TABLE[family];
  return MOST_EXPENSIVE;
}

/** USD of `usage` at `price`. */
export function usdFor(usage: TokenUsage, price: Price): number {
  const write = price.cacheWrite ?? price.input * 1.25;
  const read = price.cacheRead ?? price.input * 0.1;
  return (
    (usage.input_tokens * price.input + usage.output_tokens * price.output + usage.cache_creation_input_tokens * write + usage.cache_read_input_tokens * read) /
    1_000_000
  );
}

export interface Charge {
  usd: number;
  tokens: number;
  /** Where the figure came from: a stream never reports `unmetered`. */
  source: Exclude<ChargeSource, 'unmetered'>;
  outcome: 'success' | 'no-result' | 'agent-error';
}

/**
 * What a run is charged (DESIGN "Ledger and budgets"): the larger of the
 * reported cost and the metered usage; a run with no usable report is charged
 * its reservation and recorded as `no-result` (or its metered usage, if that
 * is larger: a run is never charged less than it was seen to spend; with a
 * reservation of 0 this is the live metered spend).
 *
 * - reported: the first result's total_cost_usd, else the sum of its
 *   modelUsage costUSD; no result or neither figure usable = no usable report.
 * - metered: the stream's usage priced by model family (`pricePerMTok`
 *   overrides the table for every model), an estimate that errs high.
 * - tokens: the larger of the metered tokens and those the result reports.
 * - outcome: `agent-error` when the result is_error or its subtype is not
 *   "success" (error_max_budget_usd comes with is_error false).
 */
export function chargeFor(meter: StreamMeter, opts: { reservationUsd: number; pricePerMTok?: Price }): Charge {
  let metered = 0;
  for (const [model, usage] of Object.entries(meter.usageByModel)) {
    metered += usdFor(usage, opts.pricePerMTok ?? priceFor(model || undefined));
  }
  const reservation = Number.isFinite(opts.reservationUsd) && opts.reservationUsd > 0 ? opts.reservationUsd : 0;
  const result = meter.result;
  let tokens = meter.tokens;
  let reported: number | undefined;
  if (result) {
    reported = result.total_cost_usd;
    const entries = Object.values(result.model_usage);
    if (reported === undefined && entries.length > 0 && entries.every((m) => m.costUSD !== undefined)) {
      reported = entries.reduce((s, m) => s + (m.costUSD ?? 0), 0);
    }
    if (result.usage) tokens = Math.max(tokens, sumTokens(result.usage));
    const byModel = entries.reduce((s, m) => s + m.inputTokens + m.outputTokens + m.cacheReadInputTokens + m.cacheCreationInputTokens, 0);
    tokens = Math.max(tokens, byModel);
  }
  if (!result || reported === undefined) {
    return metered > reservation
      ? { usd: metered, tokens, source: 'metered', outcome: 'no-result' }
      : { usd: reservation, tokens, source: 'reservation', outcome: 'no-result' };
  }
  const outcome = result.is_error || result.subtype !== 'success' ? 'agent-error' : 'success';
  return reported >= metered ? { usd: reported, tokens, source: 'reported', outcome } : { usd: metered, tokens, source: 'metered', outcome };
}
