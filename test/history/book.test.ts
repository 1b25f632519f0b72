// The proposals a reading holds (history/book.ts): the ended ones packed,
// their briefs kept as columns beside the records. Whatever a query asks
// (a prefix of the id, an agent, a state, created since, the last step
// among some commits), the briefs and the count it gives are those a plain
// filter over every record gives, before and after a save, with some
// records unpacked or changed since.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { briefOf, ProposalBook, type BriefQuery, type ProposalRecord } from '../../src/history/book.js';
import { PROPOSAL_STATES, type ProposalState } from '../../src/layout/layout.js';

const AGENTS = ['noop', 'mailer', 'poster'];
// Commit ids (git's all-zero id names no object: the packed column keeps it for "no last commit").
const COMMITS = Array.from({ length: 6 }, (_, k) => String(k + 1).repeat(40));

const recordArb = fc.record({
  n: fc.integer({ min: 0, max: 40 }),
  state: fc.option(fc.constantFrom(...PROPOSAL_STATES), { nil: undefined }),
  agent: fc.option(fc.constantFrom(...AGENTS), { nil: undefined }),
  created: fc.integer({ min: 0, max: 9 }),
  last: fc.option(fc.constantFrom(...COMMITS), { nil: undefined }),
  valid: fc.boolean(),
});

function record(r: { n: number; state?: ProposalState; agent?: string; created: number; last?: string; valid: boolean }): ProposalRecord {
  const id = `20261201-0000${String(r.n).padStart(2, '0')}-000-abcde`;
  return {
    id,
    state: r.state,
    proposal: r.agent === undefined ? undefined : ({ agent: r.agent, created_at: new Date(r.created * 1000) } as ProposalRecord['proposal']),
    steps: r.last === undefined ? [] : [{ commit: r.last, at: new Date(0), kind: 'submitted' }],
    approvals: [],
    decided: false,
    submittedValid: r.valid,
  };
}

const queryArb: fc.Arbitrary<BriefQuery> = fc.record(
  {
    idPrefix: fc.constantFrom('2026', '20261201-00001', '20261201-000007-000-abcde', 'x'),
    agent: fc.constantFrom(...AGENTS, 'nobody'),
    state: fc.constantFrom<BriefQuery['state']>(...PROPOSAL_STATES, 'live', 'ended', 'present'),
    createdSince: fc.integer({ min: 0, max: 10 }).map((s) => s * 1000),
    lastIn: fc.subarray(COMMITS).map((c) => new Set(c)),
  },
  { requiredKeys: [] },
);

/** What a plain filter over every record says `q` asks for. */
function expected(all: ProposalRecord[], q: BriefQuery): string[] {
  const live = (s: ProposalState | undefined) => s === 'pending' || s === 'approved';
  return all
    .map(briefOf)
    .filter(
      (b) =>
        (q.idPrefix === undefined || b.id.startsWith(q.idPrefix)) &&
        (q.agent === undefined || b.agent === q.agent) &&
        (q.state === undefined ||
          (q.state === 'live'
            ? live(b.state)
            : q.state === 'ended'
              ? b.state !== undefined && !live(b.state)
              : q.state === 'present'
                ? b.state !== undefined
                : b.state === q.state)) &&
        (q.createdSince === undefined || (b.createdAt !== undefined && b.createdAt >= q.createdSince)) &&
        (q.lastIn === undefined || (b.lastCommit !== undefined && q.lastIn.has(b.lastCommit))),
    )
    .map((b) => b.id)
    .sort();
}

describe('the proposal book', () => {
  it('answers every query as a plain filter over the records does, packed or not, with some unpacked or changed since', () => {
    fc.assert(
      fc.property(
        fc.array(recordArb, { maxLength: 30 }),
        fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 5 }),
        fc.array(recordArb, { maxLength: 3 }),
        fc.array(queryArb, { minLength: 1, maxLength: 6 }),
        (records, unpack, changed, queries) => {
          const model = new Map<string, ProposalRecord>();
          for (const r of records.map(record)) model.set(r.id, r);
          const first = new ProposalBook(new Map(model));
          const check = (book: ProposalBook) => {
            for (const q of queries) {
              const want = expected([...model.values()], q);
              expect(
                book
                  .briefs(q)
                  .map((b) => b.id)
                  .sort(),
              ).toEqual(want);
              expect(book.count(q)).toBe(want.length);
              for (const b of book.briefs(q)) expect(b).toEqual(briefOf(model.get(b.id)!));
            }
          };
          check(first);
          // Saved: the live ones stay open, the rest packed; another command takes it on.
          const book = new ProposalBook(...packedOf(first));
          check(book);
          for (const n of unpack) book.get(record({ n, created: 0, valid: false }).id);
          for (const r of changed.map(record)) {
            book.set(r.id, r);
            model.set(r.id, r);
          }
          check(book);
          check(new ProposalBook(...packedOf(book)));
        },
      ),
      { numRuns: 300 },
    );
  });
});

function packedOf(book: ProposalBook): [Map<string, ProposalRecord>, ReturnType<ProposalBook['pack']>['packed']] {
  const { open, packed } = book.pack();
  return [open, packed];
}
