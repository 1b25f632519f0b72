// Signature results cached by commit id and approvers blob under .ga/cache.
// Commits never change, so a result never goes stale; the cache only saves
// ssh-keygen runs and is never evidence for anything.
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SignatureResult } from '../git/signature.js';
import type { Repo } from '../git/repo.js';
import { runtimeDir } from '../store/lock.js';

export class SignatureCache {
  private readonly entries = new Map<string, SignatureResult>();
  private readonly file: string;

  constructor(repo: Repo) {
    this.file = join(runtimeDir(repo), 'cache', 'signatures.jsonl');
    let text = '';
    try {
      text = readFileSync(this.file, 'utf8');
    } catch {
      return;
    }
    for (const line of text.split('\n')) {
      try {
        const { k, r } = JSON.parse(line) as { k: string; r: SignatureResult };
        this.entries.set(k, r);
      } catch {
        // a torn or foreign line only costs a re-check
      }
    }
  }

  get(commit: string, approversBlob: string): SignatureResult | undefined {
    return this.entries.get(`${commit} ${approversBlob}`);
  }

  private unsaved: string[] = [];

  set(commit: string, approversBlob: string, result: SignatureResult): void {
    const k = `${commit} ${approversBlob}`;
    this.entries.set(k, result);
    this.unsaved.push(JSON.stringify({ k, r: result }) + '\n');
  }

  /** Appends what is new in one write. */
  flush(): void {
    if (this.unsaved.length === 0) return;
    try {
      mkdirSync(join(this.file, '..'), { recursive: true });
      appendFileSync(this.file, this.unsaved.join(''));
    } catch {
      // caching is optional
    }
    this.unsaved = [];
  }
}
