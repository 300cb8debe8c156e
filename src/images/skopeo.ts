// skopeo wrapper: copy any supported source into a docker-archive, with credentials kept out of argv and logs.
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { type RunOptions, run } from '../exec/run.js';
import type { RegistryAuth } from '../types.js';
import { mib } from '../util/format.js';

export interface SkopeoCopyOptions {
  /** skopeo source, e.g. docker://reg/app:1, oci-archive:/x.tar, oci:/dir:tag, docker-daemon:app:1 */
  source: string;
  /** docker-archive file to write and the name:tag it records. */
  dest: string;
  ref: string;
  arch?: string | undefined;
  authFile?: string | undefined;
  tlsVerify?: boolean | undefined;
  /** docker-daemon sources: the daemon's socket (DOCKER_HOST), else skopeo's default /var/run/docker.sock. */
  daemonHost?: string | undefined;
  /** Let skopeo name each blob it copies (progress); default quiet. */
  verbose?: boolean | undefined;
}

export function copyArgs(o: SkopeoCopyOptions): string[] {
  const args = ['--insecure-policy', 'copy', ...(o.verbose ? [] : ['--quiet'])];
  if (o.arch) args.push('--override-arch', o.arch, '--override-os', 'linux');
  if (o.authFile) args.push('--src-authfile', o.authFile);
  if (o.tlsVerify === false) args.push('--src-tls-verify=false');
  if (o.daemonHost) args.push('--src-daemon-host', o.daemonHost);
  args.push(o.source, `docker-archive:${o.dest}:${o.ref}`);
  return args;
}

export function inspectArgs(
  source: string,
  o: { authFile?: string | undefined; tlsVerify?: boolean | undefined; arch?: string | undefined; daemonHost?: string | undefined },
): string[] {
  const args = ['--insecure-policy', 'inspect', '--format', '{{.Digest}}'];
  if (o.arch) args.push('--override-arch', o.arch, '--override-os', 'linux');
  if (o.authFile) args.push('--authfile', o.authFile);
  if (o.tlsVerify === false) args.push('--tls-verify=false');
  if (o.daemonHost) args.push('--daemon-host', o.daemonHost);
  args.push(source);
  return args;
}

/** The registry host of a docker:// reference (docker.io when none is named). */
export function registryHost(reference: string): string {
  const first = reference.replace(/^docker:\/\//, '').split('/')[0] ?? '';
  return reference.replace(/^docker:\/\//, '').includes('/') && /[.:]|^localhost$/.test(first) ? first : 'docker.io';
}

/** Contents of a containers auth file for user/password on one host. */
export function authFileJson(host: string, username: string, password: string): string {
  return `${JSON.stringify({ auths: { [host]: { auth: Buffer.from(`${username}:${password}`).toString('base64') } } })}\n`;
}

/**
 * Run fn with a path to an auth file for host, or undefined when no credentials are configured.
 * A file made from a user name and password lives in a private temporary folder (0700/0600) outside the
 * workspace and is removed afterwards: credentials never reach argv, the logs, the report or the ISO.
 */
export async function withAuthFile<T>(auth: RegistryAuth, host: string, fn: (file: string | undefined) => Promise<T>): Promise<T> {
  if (auth.file) return fn(auth.file);
  if (!auth.username && !auth.password) return fn(undefined);
  if (!auth.username || !auth.password) {
    throw new UsageError('registry credentials need both a user name and a password', {
      hint: 'set REMASTER_REGISTRY_USER and REMASTER_REGISTRY_PASSWORD, or point REMASTER_REGISTRY_AUTH_FILE at an auth.json',
    });
  }
  const dir = await mkdtemp(join(tmpdir(), 'remaster-auth-'));
  const file = join(dir, 'auth.json');
  try {
    await writeFile(file, authFileJson(host, auth.username, auth.password), { mode: 0o600 });
    return await fn(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The human part of skopeo's fatal log line, without its "initializing source X:" preamble. */
export function skopeoMessage(stderr: string): string {
  const line = stderr.trim().split('\n').pop() ?? '';
  const msg = /msg="((?:[^"\\]|\\.)*)"/.exec(line)?.[1]?.replace(/\\"/g, '"') ?? line;
  return msg.replace(/^initializing source [^:]+(?::[^:\s]+)*: /, '').slice(0, 240);
}

/** Turn skopeo's failure into one line that says what went wrong with the source. */
export function explainSkopeoFailure(source: string, stderr: string): UsageError | undefined {
  const s = stderr.toLowerCase();
  if (/unauthorized|authentication required|denied|invalid username\/password|401/.test(s)) {
    return new UsageError(`registry refused the credentials for ${source}`, {
      hint: 'check REMASTER_REGISTRY_USER / REMASTER_REGISTRY_PASSWORD or the auth file (registryAuthFile)',
    });
  }
  if (/manifest unknown|not found|name unknown|no such image|does not exist/.test(s)) {
    return new UsageError(`image ${source} does not exist`, {
      hint: 'check the name and tag (skopeo list-tags docker://<repo> lists tags)',
    });
  }
  if (/connection refused|no such host|i\/o timeout|network is unreachable|dial tcp|server gave http response to https client/.test(s)) {
    return new UsageError(`registry for ${source} is unreachable: ${skopeoMessage(stderr)}`, {
      hint: /http response to https/.test(s)
        ? 'the registry speaks plain HTTP: add tlsVerify: false to this image'
        : 'check the registry address and the network, or use a docker-archive instead',
    });
  }
  return undefined;
}

/** skopeo's own lines when not on a terminal: "Copying blob sha256:...", "Copying config sha256:...". */
export function parseSkopeoLine(line: string): { what: 'blob' | 'config'; digest: string } | { what: 'manifest' } | undefined {
  const m = /^Copying (blob|config) (\S+)/.exec(line.trim());
  if (m) return { what: m[1] as 'blob' | 'config', digest: m[2] ?? '' };
  if (/^Writing manifest to image destination/.test(line.trim())) return { what: 'manifest' };
  return undefined;
}

/**
 * skopeo prints no byte counts off a terminal, and a docker-archive holds layers uncompressed while a registry
 * states compressed sizes: no honest percentage exists. Progress is what is known: the blob being copied and
 * the bytes written so far, every 2 s while they change.
 */
function skopeoProgress(dest: string, emit: (line: string) => void): { onLine: (line: string) => boolean; stop: () => void } {
  let blobs = 0;
  let doing = 'starting';
  let lastBytes = -1;
  const tick = async () => {
    const bytes = (await stat(dest).catch(() => undefined))?.size ?? 0;
    if (bytes === lastBytes) return;
    lastBytes = bytes;
    emit(`skopeo: ${doing}, ${mib(bytes)} written`);
  };
  const timer = setInterval(() => void tick(), 2000);
  return {
    onLine: (line) => {
      const p = parseSkopeoLine(line);
      if (!p) return false;
      if (p.what === 'blob') doing = `blob ${++blobs} (${p.digest.slice(0, 19)})`;
      else doing = p.what === 'config' ? 'config' : 'manifest';
      emit(`skopeo: copying ${doing}`);
      return true;
    },
    stop: () => clearInterval(timer),
  };
}

export async function skopeoCopy(o: SkopeoCopyOptions, io: RunOptions = {}, onProgress?: (line: string) => void): Promise<void> {
  const progress = onProgress && skopeoProgress(o.dest, onProgress);
  try {
    await run('skopeo', copyArgs({ ...o, verbose: o.verbose ?? progress !== undefined }), {
      ...io,
      ...(progress ? { onLine: (line: string) => progress.onLine(line) || io.onLine?.(line, 'stdout') } : {}),
    });
    if (progress && onProgress) onProgress(`skopeo: done, ${mib((await stat(o.dest)).size)} written`);
  } catch (e) {
    const explained =
      e instanceof Error && 'stderrTail' in e
        ? explainSkopeoFailure(o.source, String((e as { stderrTail: string }).stderrTail))
        : undefined;
    throw explained ?? e;
  } finally {
    progress?.stop();
  }
}

export async function skopeoDigest(
  source: string,
  o: { authFile?: string | undefined; tlsVerify?: boolean | undefined; arch?: string | undefined; daemonHost?: string | undefined },
  io: RunOptions = {},
): Promise<string | undefined> {
  const r = await run('skopeo', inspectArgs(source, o), { ...io, okCodes: [0, 1] });
  return r.exitCode === 0 ? r.stdout.trim() : undefined;
}
