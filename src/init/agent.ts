// `ga agent new <id>`: an agent's governed files from a template, in one
// commit signed by the person (they are governed: an unsigned one would count
// for nothing). Nothing is overwritten: a file already in the work tree or in
// HEAD at any of the paths refuses the whole scaffold, and nothing is written.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../clock.js';
import { GovernanceRefusal, UsageError } from '../errors.js';
import { headCommit, readFileAt, type Repo } from '../git/repo.js';
import { signGovernedFiles } from '../governed/sign.js';
import { agentConfigPath, allowlistPath, checkAgentId, hookPath, systemPromptPath, taskPath, type AdapterName } from '../layout/layout.js';
import { agentTemplate } from './templates.js';
import type { FileWrite } from '../git/commit.js';

export interface NewAgent {
  commit: string;
  files: string[];
}

export async function newAgent(repo: Repo, id: string, adapter: AdapterName, clock: Clock): Promise<NewAgent> {
  checkAgentId(id);
  if (process.env.GA_AGENT) throw new GovernanceRefusal('ga agent new refused: GA_AGENT is set, and ga never signs inside an agent process');
  const t = agentTemplate(id, adapter);
  const files: FileWrite[] = [
    { path: agentConfigPath(id), content: t.config },
    { path: allowlistPath(id), content: t.allowlist },
    { path: systemPromptPath(id), content: t.prompt },
    { path: taskPath(id, 'smoke'), content: t.smokeTask },
    { path: hookPath(id, 'publish_content.sh'), content: t.hook, mode: '100755' },
  ];
  const head = await headCommit(repo);
  const taken: string[] = [];
  for (const f of files) {
    if (existsSync(join(repo.root, f.path)) || (await readFileAt(repo, head, f.path))) taken.push(f.path);
  }
  if (taken.length) {
    throw new UsageError(`agent ${id} already has ${taken.join(', ')}: nothing was written; edit them and sign with ga commit, or pick another id`);
  }
  // What is signed is these bytes, held in memory: the work tree gets them from the commit.
  const { commit } = await signGovernedFiles(
    repo,
    { files, head, diff: '' },
    { message: `add agent ${id} (adapter ${adapter})`, clock, command: 'ga agent new' },
  );
  return { commit, files: files.map((f) => f.path) };
}
