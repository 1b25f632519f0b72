// Commit signatures judged against a set of trusted approvers, memoised for
// one reading (and kept with a saved reading under .git/ga/, never under
// .ga/: DESIGN, nothing under .ga/ is evidence).
import { availableParallelism } from 'node:os';
import { verifySignature, type SignatureResult } from '../git/signature.js';
import type { Approver } from '../schema/approvers.js';
import type { Commit } from './chain.js';

/** Approvers a signature is judged against; `key` names the set (blob ids) for memoising. */
export interface ApproverSet {
  key: string;
  list: Approver[];
}

export const NO_APPROVERS: ApproverSet = { key: 'none', list: [] };

/** Approvers trusted in both sets (a commit brought in by a merge: at its own parent and at the merge's first parent). */
export function intersect(a: ApproverSet, b: ApproverSet): ApproverSet {
  if (a.key === b.key) return a;
  const same = (x: Approver, y: Approver) => x.principal === y.principal && x.keyType === y.keyType && x.key === y.key && x.certAuthority === y.certAuthority;
  return { key: `${a.key}&${b.key}`, list: a.list.filter((x) => b.list.some((y) => same(x, y))) };
}

export class SignatureJudge {
  private readonly memo = new Map<string, Promise<SignatureResult>>();
  /** The verdicts given so far, by commit and approver set: a saved reading keeps them. */
  readonly given = new Map<string, SignatureResult>();

  /** Verdicts a saved reading gave earlier (on commits read verified then), taken as given. */
  seed(verdicts: Map<string, SignatureResult>): void {
    for (const [k, r] of verdicts) if (!this.memo.has(k)) this.memo.set(k, Promise.resolve(r));
  }

  judge(commit: Commit, approvers: ApproverSet): Promise<SignatureResult> {
    const k = `${commit.id} ${approvers.key}`;
    let p = this.memo.get(k);
    if (!p) {
      p = verifySignature(commit.signature, approvers.list, commit.committedAt).then((r) =>
        r.status === 'good' && r.principal?.toLowerCase().startsWith('agent:')
          ? { ...r, status: 'bad' as const, detail: 'agent principals may never approve' }
          : r,
      );
      void p.then((r) => this.given.set(k, r)).catch(() => undefined);
      this.memo.set(k, p);
    }
    return p;
  }

  /** Judges many at once, a few ssh-keygen processes in flight. */
  async prefetch(items: { commit: Commit; approvers: ApproverSet }[]): Promise<void> {
    const queue = items.filter((i) => i.commit.signature && !this.memo.has(`${i.commit.id} ${i.approvers.key}`));
    const worker = async () => {
      for (let item = queue.shift(); item; item = queue.shift()) await this.judge(item.commit, item.approvers);
    };
    await Promise.all(Array.from({ length: Math.min(availableParallelism() + 1, queue.length) }, worker));
  }
}
