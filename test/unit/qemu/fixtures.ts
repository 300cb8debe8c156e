// Locates captured QEMU output under test/fixtures/output/qemu from the compiled tests in dist/test/unit/qemu.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../../../../test/fixtures/output/qemu/', import.meta.url));

export function fixture(name: string): string {
  return readFileSync(`${dir}${name}`, 'utf8');
}
