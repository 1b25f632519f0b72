// The hub as trusted: policies/hub.toml at its trusted version, or none (a
// clone that is its own hub). A malformed file is an error: a clone must not
// quietly stop publishing because its hub settings cannot be read.
import type { Governance } from '../history/replay.js';
import { HUB_PATH } from '../layout/layout.js';
import { parseHub, type HubSettings } from '../schema/hub.js';

export async function hubSettings(gov: Governance): Promise<HubSettings | undefined> {
  const text = await gov.readTrusted(HUB_PATH);
  return text ? parseHub(text.toString('utf8')) : undefined;
}
