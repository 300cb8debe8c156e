import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '../../../src/errors.js';
import {
  appFiles,
  plainUnit,
  podmanHasQuadlet,
  quadletContainer,
  runArgv,
  systemdQuote,
  validateRun,
} from '../../../src/units/run-units.js';

const web = {
  name: 'web',
  command: ['httpd', '-f', '-p', '8080'],
  ports: ['8080:80'],
  env: ['GREETING=hello world $HOME 100%'],
  volumes: ['/srv/data:/data:ro'],
  network: 'host' as const,
};

test('systemdQuote: spaces, quotes, backslashes, % and $ are neutralised', () => {
  assert.equal(systemdQuote('plain-arg'), 'plain-arg');
  assert.equal(systemdQuote('a b'), '"a b"');
  assert.equal(systemdQuote('say "hi" \\ 50% $HOME'), '"say \\"hi\\" \\\\ 50%% $$HOME"');
});

test('run settings with shell metacharacters or newlines are refused with the key path', () => {
  const bad: [string, object][] = [
    ['name', { name: 'web;reboot' }],
    ['ports', { name: 'w', ports: ['8080:80 -v /:/host'] }],
    ['env', { name: 'w', env: ['BAD KEY=x'] }],
    ['env', { name: 'w', env: ['K=line1\nExecStartPre=/bin/rm'] }],
    ['volumes', { name: 'w', volumes: ['relative:/data'] }],
    ['volumes', { name: 'w', volumes: ['/a b:/c'] }],
    ['command', { name: 'w', command: ['sh', 'x\ny'] }],
  ];
  for (const [what, r] of bad) {
    assert.throws(
      () => validateRun('images[0].run', r as never),
      (e: unknown) => e instanceof UsageError && e.message.startsWith(`images[0].run.${what}:`),
      what,
    );
  }
  assert.doesNotThrow(() => validateRun('r', web));
});

test('docker unit: after the loader and the engine, argv quoted, restart policy', () => {
  const u = plainUnit('docker', 'acme/web:1', { ...web, restart: 'on-failure' });
  assert.match(u, /^After=remaster-loader.service docker.service$/m);
  assert.match(u, /^Requires=remaster-loader.service docker.service$/m);
  assert.match(
    u,
    /^ExecStart=\/usr\/bin\/docker run --rm --name web --network=host -p 8080:80 -e "GREETING=hello world \$\$HOME 100%%" -v \/srv\/data:\/data:ro acme\/web:1 httpd -f -p 8080$/m,
  );
  assert.match(u, /^Restart=on-failure$/m);
  assert.deepEqual(runArgv('podman', 'x:1', { name: 'n' }), ['/usr/bin/podman', 'run', '--rm', '--name', 'n', 'x:1']);
});

test('quadlet only where podman reads it (4.4 and newer)', () => {
  assert.equal(podmanHasQuadlet('4.3.1+ds1-8+deb12u1'), false);
  assert.equal(podmanHasQuadlet('4.9.3+ds1-1ubuntu0.2'), true);
  assert.equal(podmanHasQuadlet('5.0.0'), true);
  assert.equal(podmanHasQuadlet(undefined), false);
  const q = appFiles('podman', '4.9.3', [{ ref: 'acme/web:1', run: web }]);
  assert.deepEqual(
    q.map((f) => f.path),
    ['etc/containers/systemd/remaster-app-web.container', 'var/lib/remaster/apps.list'],
  );
  assert.match(quadletContainer('acme/web:1', web), /^Image=acme\/web:1$[\s\S]*^Environment="GREETING=hello world \$\$HOME 100%%"$/m);
  const p = appFiles('podman', '4.3.1', [{ ref: 'acme/web:1', run: { ...web, checkPort: 8080 } }]);
  assert.deepEqual(
    p.map((f) => f.path),
    [
      'usr/lib/systemd/system/remaster-app-web.service',
      'etc/systemd/system/multi-user.target.wants/remaster-app-web.service',
      'var/lib/remaster/apps.list',
    ],
  );
  assert.equal(p[2]?.content, 'web\tremaster-app-web.service\t8080\n');
});
