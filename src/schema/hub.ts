// policies/hub.toml: the hub where clones meet (DESIGN "Many clones: one hub").
import * as z from 'zod';
import { HUB_PATH } from '../layout/layout.js';
import { duration } from './common.js';
import { lazySchema } from './lazy.js';
import { parseTomlFile } from './toml.js';

/** A hub URL git can fetch from: ssh (scp-like or ssh://), git://, http(s)://, file:// or an absolute path. Never ext:: or a relative path. */
const hubUrl = () =>
  z
    .string()
    .min(1)
    .refine((u) => /^(ssh|git|https?|file):\/\/\S+$/.test(u) || /^[\w.-]+@[\w.-]+:\S+$/.test(u) || /^\/\S*$/.test(u), {
      message: 'expected a git URL: ssh://host/path, user@host:path, git://, https://, file:///path or an absolute path',
    });

export const hubSchema = lazySchema(() =>
  z.strictObject({
    url: z.union([hubUrl(), z.array(hubUrl()).min(1)]).transform((u) => (Array.isArray(u) ? u : [u])),
    branch: z
      .string()
      .regex(/^(?!.*\.\.)(?!\/)[A-Za-z0-9._\/-]+(?<!\/)(?<!\.lock)$/, 'expected a branch name such as main')
      .default('main'),
    sync_interval: duration().prefault('2s'),
    proposals: z.enum(['direct', 'pull-request']).default('direct'),
  }),
);
export type HubSettings = z.output<ReturnType<typeof hubSchema>>;

export function parseHub(text: string, file = HUB_PATH): HubSettings {
  return parseTomlFile(hubSchema(), text, file);
}
