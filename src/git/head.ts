// Following the branch cheaply: the commit HEAD names, read straight from
// the ref files (a few microseconds, no git process), so that a runner can
// look at every new commit within its poll, and stop its agent when a commit
// pauses it, whatever the agent did to the work tree.
import { join } from 'node:path';
import { gitText } from './exec.js';
import type { Repo } from './repo.js';
import { readRegularText } from '../runtime/files.js';

const OID = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

/** The commit HEAD names, from the ref files; undefined when they cannot be read directly. */
export function readHeadFromFiles(repo: Repo): string | undefined {
  const head = readRegularText(join(repo.gitDir, 'HEAD'), 4096)?.trim();
  if (!head) return undefined;
  if (OID.test(head)) return head;
  const ref = /^ref: (refs\/[^\s]+)$/.exec(head)?.[1];
  return ref ? readRefFromFiles(repo, ref) : undefined;
}

/** The commit a ref names, from the loose ref or packed-refs; undefined when they cannot be read directly. */
export function readRefFromFiles(repo: Repo, ref: string): string | undefined {
  if (ref.split('/').includes('..')) return undefined;
  const loose = readRegularText(join(repo.commonDir, ref), 4096)?.trim();
  if (loose && OID.test(loose)) return loose;
  return packedRef(repo, ref);
}

/** The commit packed-refs names for `ref`; undefined when it names none (or cannot be read). */
export function packedRef(repo: Repo, ref: string): string | undefined {
  const packed = readRegularText(join(repo.commonDir, 'packed-refs'), 256 * 1024 * 1024);
  const line = packed?.split('\n').find((l) => l.endsWith(` ${ref}`));
  const oid = line?.split(' ')[0];
  return oid && OID.test(oid) ? oid : undefined;
}

export async function readHead(repo: Repo, ref?: string): Promise<string | undefined> {
  const direct = ref ? readRefFromFiles(repo, ref) : readHeadFromFiles(repo);
  return direct ?? ((await gitText(['rev-parse', '--verify', '-q', `${ref ?? 'HEAD'}^{commit}`], { cwd: repo.root, allowFailure: true })) || undefined);
}

/**
 * Calls `onCommit` for each new tip of HEAD (or of `ref`, the governed
 * branch wherever HEAD is) seen by `check()`, one at a time; an error in it
 * (a commit that cannot be read) goes to `onError`.
 */
export class HeadWatcher {
  private last: string | undefined;
  private busy = false;
  private closed = false;
  constructor(
    private readonly repo: Repo,
    private readonly onCommit: (head: string) => Promise<void>,
    private readonly onError: (e: Error) => void = () => undefined,
    private readonly ref?: string,
  ) {
    this.last = ref ? readRefFromFiles(repo, ref) : readHeadFromFiles(repo);
  }

  check(): void {
    if (this.busy || this.closed) return;
    this.busy = true;
    void readHead(this.repo, this.ref)
      .then(async (head) => {
        if (!head || head === this.last || this.closed) return;
        await this.onCommit(head);
        this.last = head;
      })
      .catch((e: Error) => this.onError(e))
      .finally(() => (this.busy = false));
  }

  close(): void {
    this.closed = true;
  }
}
