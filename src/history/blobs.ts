// Governed blobs as the replay parses them, memoised by blob id: text, the
// approvers a blob lists, the policy it sets. A malformed approvers file
// approves nobody; a malformed policy is the fail-closed one.
import { readBlobs, type Repo } from '../git/repo.js';
import { parseApprovers, type Approver } from '../schema/approvers.js';
import { lazyValue } from '../schema/lazy.js';
import { parsePolicy, policySchema, type Policy } from '../schema/policy.js';

/** The policy used when the trusted one is missing or malformed: nothing is automatic. */
export const failClosedPolicy = lazyValue((): Policy => policySchema().parse({}));

export class BlobReader {
  private readonly texts = new Map<string, string>();
  // Promises, so that many asking at once (a listing's quorum of every proposal) parse a blob once.
  private readonly approvers = new Map<string, Promise<Approver[]>>();
  private readonly policies = new Map<string, Promise<Policy>>();
  constructor(private readonly repo: Repo) {}

  async text(blob: string): Promise<string> {
    await this.preload([blob]);
    return this.texts.get(blob) ?? '';
  }

  async preload(blobs: string[]): Promise<void> {
    const missing = [...new Set(blobs)].filter((b) => !this.texts.has(b));
    if (missing.length === 0) return;
    const read = await readBlobs(this.repo, missing);
    for (const b of missing) this.texts.set(b, read.get(b)?.toString('utf8') ?? '');
  }

  approversOf(blob: string | undefined): Promise<Approver[]> {
    if (!blob) return Promise.resolve([]);
    let a = this.approvers.get(blob);
    if (!a) {
      a = this.text(blob).then((text) => {
        try {
          return parseApprovers(text);
        } catch {
          return [];
        }
      });
      this.approvers.set(blob, a);
      a.catch(() => this.approvers.delete(blob)); // a blob that could not be read is asked for again
    }
    return a;
  }

  policyOf(blob: string | undefined): Promise<Policy> {
    if (!blob) return Promise.resolve(failClosedPolicy());
    let p = this.policies.get(blob);
    if (!p) {
      p = this.text(blob).then((text) => {
        try {
          return parsePolicy(text);
        } catch {
          return failClosedPolicy();
        }
      });
      this.policies.set(blob, p);
      p.catch(() => this.policies.delete(blob));
    }
    return p;
  }
}
