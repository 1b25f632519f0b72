// Opening a pull request with the host's own CLI (DESIGN "Pull requests"):
// gh for GitHub, glab for GitLab, when installed and logged in; otherwise the
// branch and the next step. The CLIs are fakes on PATH (the hosts cannot exist
// here) that note how they were called.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hostOf, openReview } from '../../src/hub/hosts.js';

let dir: string;
let savedPath: string | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ga-hosts-'));
  savedPath = process.env.PATH;
  process.env.PATH = `${join(dir, 'bin')}:/usr/bin:/bin`;
  mkdirSync(join(dir, 'bin'));
});
afterEach(() => {
  process.env.PATH = savedPath;
  rmSync(dir, { recursive: true, force: true });
});

/** A fake host CLI: `auth status` exits `authExit`; creating prints an address. */
function fakeCli(name: string, authExit: number): string {
  const log = join(dir, `${name}.log`);
  writeFileSync(
    join(dir, 'bin', name),
    `#!/bin/sh\nprintf '%s\\n' "$*" >> ${log}\n[ "$1" = auth ] && exit ${authExit}\necho "https://${name === 'gh' ? 'github.com/acme/gov/pull/3' : 'gitlab.com/acme/gov/-/merge_requests/3'}"\n`,
  );
  chmodSync(join(dir, 'bin', name), 0o755);
  return log;
}

describe('pull requests on the hosts', () => {
  it('knows GitHub and GitLab projects from ssh and https URLs, and nothing else', () => {
    expect(hostOf(['git@github.com:acme/gov.git'])).toEqual({ cli: 'gh', host: 'github.com', project: 'acme/gov' });
    expect(hostOf(['file:///srv/hub.git', 'https://gitlab.com/group/sub/gov.git'])).toEqual({ cli: 'glab', host: 'gitlab.com', project: 'group/sub/gov' });
    expect(hostOf(['ssh://git@github.com/acme/gov'])).toMatchObject({ cli: 'gh', project: 'acme/gov' });
    expect(hostOf(['git@gitea.example.com:acme/gov.git', 'file:///srv/hub.git'])).toBeUndefined();
  });

  it('glab, logged in: a merge request from the proposal branch into the hub branch', async () => {
    const log = fakeCli('glab', 0);
    const r = await openReview(dir, { urls: ['https://gitlab.com/acme/gov.git'], branch: 'main' }, 'p1', 'Publish');
    expect(r.url).toBe('https://gitlab.com/acme/gov/-/merge_requests/3');
    expect(readFileSync(log, 'utf8')).toMatch(/mr create --repo acme\/gov --source-branch ga\/proposals\/p1 --target-branch main --title Publish/);
  });

  it('a CLI that is not logged in, or none at all: the branch and the next step, and no pull request', async () => {
    const log = fakeCli('gh', 1);
    const hub = { urls: ['git@github.com:acme/gov.git'], branch: 'main' };
    const out = await openReview(dir, hub, 'p2', 'Publish');
    expect(out.url).toBeUndefined();
    expect(out.next).toMatch(/gh is not logged in to github.com \(gh auth login\); open a pull request from ga\/proposals\/p2 into main/);
    expect(readFileSync(log, 'utf8')).not.toMatch(/pr create/);
    rmSync(join(dir, 'bin', 'gh'));
    const none = await openReview(dir, hub, 'p2', 'Publish');
    expect(none.branch).toBe('ga/proposals/p2');
    expect(none.url).toBeUndefined();
    expect(none.next).toMatch(/^open a pull request from ga\/proposals\/p2 into main, or approve from a terminal: ga approve p2/);
  });
});
