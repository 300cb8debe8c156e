// subiquity's copy, checked on the build host: for each install source (and each of its variations) in the
// install-sources.yaml a medium carries, mount the source's chain exactly as curtin's fsimage-layered handler does
// (every dotted prefix of the path read-only, the longest name on top, a missing member is a failure) and check that
// the result holds what an installed server needs. It reads no installer code: it is the chain rule, applied.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { curtinChain, type InstallSource, sourcePaths } from '../iso/install-sources.js';
import { type ChainMember, mountChain } from '../rootfs/chain.js';
import { MountStack } from '../rootfs/mounts.js';
import { checkTarget, type ReplayExpectation } from './replay.js';

export interface SourceCheck {
  /** The install source's id (and variation), and the path install-sources.yaml names. */
  source: string;
  path: string;
  /** The chain's ISO paths, bottom first. */
  chain: string[];
  /** What the installed root would miss; empty when it has everything. */
  problems: string[];
}

/** Where the medium keeps an ISO path: a member of the chain, or undefined when the medium lacks it. */
export type MemberLookup = (isoPath: string) => ChainMember | undefined;

/** Check every path an installation can copy. Mounts are taken down before it returns. */
export async function checkInstallSources(o: {
  sources: readonly InstallSource[];
  lookup: MemberLookup;
  expect: ReplayExpectation;
  /** More checks on each mounted chain (its root): problems in words. */
  more?: ((root: string) => Promise<string[]>) | undefined;
  dir: string;
  signal?: AbortSignal | undefined;
}): Promise<SourceCheck[]> {
  const out: SourceCheck[] = [];
  for (const [i, path] of sourcePaths(o.sources).entries()) {
    const names = o.sources.flatMap((s) => [
      ...(s.path === path ? [s.id] : []),
      ...s.variations.filter((v) => v.path === path && v.name !== 'default').map((v) => `${s.id}/${v.name}`),
    ]);
    const chain = curtinChain(path);
    const check: SourceCheck = { source: [...new Set(names)].join(', '), path, chain, problems: [] };
    out.push(check);
    const members = chain.map((p) => ({ p, m: o.lookup(p) }));
    const missing = members.filter((x) => x.m === undefined).map((x) => x.p);
    if (missing.length > 0) {
      check.problems.push(`curtin cannot mount ${missing.join(', ')}: the medium lacks it`);
      continue;
    }
    const mounts = new MountStack({ signal: o.signal });
    const dir = join(o.dir, `source-${i}`);
    try {
      const root = await mountChain(
        mounts,
        dir,
        members.map((x) => x.m as ChainMember),
      );
      check.problems.push(...(await checkTarget(root, o.expect, o.signal)));
      if (o.more) check.problems.push(...(await o.more(root)));
    } finally {
      await mounts.unwind();
      await rm(dir, { recursive: true, force: true });
    }
  }
  return out;
}

/** One line per source: its chain and what is wrong with it, or that it is complete. */
export function describeChecks(checks: readonly SourceCheck[]): string[] {
  return checks.map(
    (c) =>
      `${c.source}: ${c.chain.map((p) => p.replace(/^\/casper\//, '')).join(' + ')}: ${c.problems.length === 0 ? 'engine, dpkg status, units and archives present' : c.problems.join('; ')}`,
  );
}
