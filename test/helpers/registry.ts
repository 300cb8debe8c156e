// A real registry on loopback (Debian's docker-registry), optionally with htpasswd auth, for skopeo sources.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Registry {
  host: string;
  stop(): void;
}

export async function startRegistry(dir: string, auth?: { user: string; password: string }): Promise<Registry> {
  mkdirSync(dir, { recursive: true });
  let htpasswd = '';
  if (auth) {
    const r = spawnSync('htpasswd', ['-Bbn', auth.user, auth.password], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`htpasswd failed: ${r.stderr}`);
    writeFileSync(join(dir, 'htpasswd'), r.stdout);
    htpasswd = `auth:\n  htpasswd:\n    realm: test\n    path: ${join(dir, 'htpasswd')}\n`;
  }
  for (let attempt = 0; attempt < 10; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const config = join(dir, 'config.yml');
    writeFileSync(
      config,
      `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\nhttp:\n  addr: 127.0.0.1:${port}\n${htpasswd}`,
    );
    const child: ChildProcess = spawn('docker-registry', ['serve', config], { stdio: 'ignore' });
    for (let i = 0; i < 50; i++) {
      await sleep(100);
      if (child.exitCode !== null) break;
      const ok = await fetch(`http://127.0.0.1:${port}/v2/`)
        .then((r) => r.status === 200 || r.status === 401)
        .catch(() => false);
      if (ok) return { host: `127.0.0.1:${port}`, stop: () => child.kill('SIGKILL') };
    }
    child.kill('SIGKILL');
  }
  throw new Error('could not start docker-registry on loopback');
}

/** skopeo copy, for test set-up only. */
export function skopeo(args: string[]): void {
  const r = spawnSync('skopeo', ['--insecure-policy', 'copy', '--quiet', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`skopeo ${args.join(' ')}: ${r.stderr}`);
}
