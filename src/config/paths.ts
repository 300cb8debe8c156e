// Where remaster keeps caches and work directories; all paths derive from one root.
import { homedir } from 'node:os';
import { join } from 'node:path';

/** REMASTER_CACHE_DIR, else $XDG_CACHE_HOME/remaster, else ~/.cache/remaster. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.REMASTER_CACHE_DIR) return env.REMASTER_CACHE_DIR;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, 'remaster');
  return join(homedir(), '.cache', 'remaster');
}
