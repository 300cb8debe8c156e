// Per-image run settings -> a systemd unit (docker, podman < 4.4) or a quadlet .container (podman >= 4.4).
// Every value that reaches a unit file is validated here and quoted for systemd; nothing is interpolated raw.
import { UsageError } from '../errors.js';
import type { Engine, RestartPolicy, RootFile, RunSettings } from '../types.js';

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;
const PORT = /^(?:(?:\d{1,3}\.){3}\d{1,3}:)?(?:\d{1,5}:)?\d{1,5}(?:\/(?:tcp|udp))?$/;
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const VOLUME = /^\/[\w./-]*:\/[\w./-]*(?::(?:ro|rw|z|Z))?$/;

export function validateRun(key: string, r: RunSettings): RunSettings {
  const bad = (what: string, v: unknown, expected: string): never => {
    throw new UsageError(`${key}.${what}: ${JSON.stringify(v)} is not ${expected}`, {
      hint: 'run settings become unit files: only plain values are accepted',
    });
  };
  if (!NAME.test(r.name)) bad('name', r.name, 'a name of letters, digits, ".", "_" and "-" (at most 63)');
  for (const p of r.ports ?? []) if (!PORT.test(p)) bad('ports', p, 'a port mapping like 8080:80 or 127.0.0.1:8080:80/tcp');
  for (const e of r.env ?? []) {
    const i = e.indexOf('=');
    if (i < 1 || !ENV_KEY.test(e.slice(0, i)) || /[\n\r\0]/.test(e)) bad('env', e, 'KEY=VALUE on one line');
  }
  for (const v of r.volumes ?? []) if (!VOLUME.test(v)) bad('volumes', v, 'an absolute host:container[:ro] path pair');
  for (const c of r.command ?? []) if (/[\n\r\0]/.test(c)) bad('command', c, 'a one-line argument');
  if (r.checkPort !== undefined && !(Number.isInteger(r.checkPort) && r.checkPort > 0 && r.checkPort < 65536))
    bad('checkPort', r.checkPort, 'a TCP port');
  return r;
}

/** Quote one argument for ExecStart= (systemd.syntax): double quotes, backslash escapes, %% and $$. */
export function systemdQuote(arg: string): string {
  const escaped = arg.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%').replace(/\$/g, '$$$$');
  return /^[\w@+=:,./-]+$/.test(arg) ? escaped : `"${escaped}"`;
}

/** A quadlet value (Environment=, Exec=) follows the same quoting. */
const quoteAll = (args: readonly string[]) => args.map(systemdQuote).join(' ');

export function unitName(r: RunSettings): string {
  return `remaster-app-${r.name}.service`;
}

/** `engine run` argv for a plain unit. */
export function runArgv(engine: Engine, ref: string, r: RunSettings): string[] {
  const argv = [`/usr/bin/${engine}`, 'run', '--rm', '--name', r.name];
  if (r.network) argv.push(`--network=${r.network}`);
  for (const p of r.ports ?? []) argv.push('-p', p);
  for (const e of r.env ?? []) argv.push('-e', e);
  for (const v of r.volumes ?? []) argv.push('-v', v);
  argv.push(ref, ...(r.command ?? []));
  return argv;
}

const systemdRestart: Record<RestartPolicy, string> = { no: 'no', always: 'always', 'on-failure': 'on-failure' };

export function plainUnit(engine: Engine, ref: string, r: RunSettings): string {
  const after = engine === 'docker' ? 'remaster-loader.service docker.service' : 'remaster-loader.service';
  return [
    `# Rendered by remaster: runs ${ref} as container ${r.name}`,
    '[Unit]',
    `Description=remaster app ${r.name} (${ref})`,
    `After=${after}`,
    `Requires=${after}`,
    '',
    '[Service]',
    `ExecStartPre=-/usr/bin/${engine} rm -f ${r.name}`,
    `ExecStart=${quoteAll(runArgv(engine, ref, r))}`,
    `ExecStop=/usr/bin/${engine} stop ${r.name}`,
    `Restart=${systemdRestart[r.restart ?? 'always']}`,
    'RestartSec=5',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

export function quadletContainer(ref: string, r: RunSettings): string {
  const lines = [
    `# Rendered by remaster: runs ${ref} as container ${r.name} (podman quadlet)`,
    '[Unit]',
    `Description=remaster app ${r.name} (${ref})`,
    'After=remaster-loader.service',
    'Requires=remaster-loader.service',
    '',
    '[Container]',
    `Image=${ref}`,
    `ContainerName=${r.name}`,
  ];
  if (r.network) lines.push(`Network=${r.network}`);
  for (const p of r.ports ?? []) lines.push(`PublishPort=${p}`);
  for (const e of r.env ?? []) lines.push(`Environment=${systemdQuote(e)}`);
  for (const v of r.volumes ?? []) lines.push(`Volume=${v}`);
  if (r.command && r.command.length > 0) lines.push(`Exec=${quoteAll(r.command)}`);
  lines.push('', '[Service]', `Restart=${systemdRestart[r.restart ?? 'always']}`, '', '[Install]', 'WantedBy=multi-user.target', '');
  return lines.join('\n');
}

/** podman reads quadlet files from 4.4 on (Debian 12 ships 4.3: plain units there). */
export function podmanHasQuadlet(version: string | undefined): boolean {
  const m = /^(?:\d+:)?(\d+)\.(\d+)/.exec(version ?? '');
  return m !== null && (Number(m[1]) > 4 || (Number(m[1]) === 4 && Number(m[2]) >= 4));
}

/** The files for every app, and apps.list for the verification report: name, unit, check port. */
export function appFiles(
  engine: Engine,
  podmanVersion: string | undefined,
  apps: readonly { ref: string; run: RunSettings }[],
): RootFile[] {
  const files: RootFile[] = [];
  const quadlet = engine === 'podman' && podmanHasQuadlet(podmanVersion);
  for (const { ref, run } of apps) {
    const unit = unitName(run);
    if (quadlet) {
      // The quadlet generator makes remaster-app-<name>.service from remaster-app-<name>.container and its [Install].
      files.push({ path: `etc/containers/systemd/remaster-app-${run.name}.container`, mode: 0o644, content: quadletContainer(ref, run) });
    } else {
      files.push({ path: `usr/lib/systemd/system/${unit}`, mode: 0o644, content: plainUnit(engine, ref, run) });
      files.push({ path: `etc/systemd/system/multi-user.target.wants/${unit}`, mode: 0o777, symlink: `/usr/lib/systemd/system/${unit}` });
    }
  }
  if (apps.length > 0) {
    files.push({
      path: 'var/lib/remaster/apps.list',
      mode: 0o644,
      content: `${apps.map(({ run }) => `${run.name}\t${unitName(run)}\t${run.checkPort ?? ''}`).join('\n')}\n`,
    });
  }
  return files;
}
