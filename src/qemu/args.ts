// Pure builder of the QEMU command line for a verification boot, and the file layout of a boot's work dir.
import { join } from 'node:path';
import type { Accel } from './accel.js';
import type { FirmwareSetup } from './firmware.js';

export type BootMedia = 'cdrom' | 'usb';

export const DEFAULT_MEMORY_MIB = 2048;
export const DEFAULT_CPUS = 2;
export const DEFAULT_REPORT_PORT = 'org.remaster.report';

/** Where a boot leaves its files. */
export interface BootPaths {
  serialLog: string;
  /** SeaBIOS's debug log (port 0x402). OVMF release builds print nothing there. */
  firmwareLog: string;
  reportFile: string;
  qmpSocket: string;
  bootMenuPng: string;
  finalPng: string;
}

export function bootPaths(workDir: string, qmpSocket = join(workDir, 'qmp.sock')): BootPaths {
  return {
    serialLog: join(workDir, 'serial.log'),
    firmwareLog: join(workDir, 'firmware.log'),
    reportFile: join(workDir, 'report.txt'),
    qmpSocket,
    bootMenuPng: join(workDir, 'boot-menu.png'),
    finalPng: join(workDir, 'final.png'),
  };
}

export interface QemuArgsOptions {
  iso: string;
  firmware: FirmwareSetup;
  media?: BootMedia;
  accel: Accel;
  memoryMiB?: number;
  cpus?: number;
  paths: BootPaths;
  reportPort?: string;
  /** Raw disk images attached writable as virtio disks (after the boot medium), e.g. a store device. */
  disks?: readonly string[];
}

/** QEMU's option syntax uses commas as separators; a literal comma in a value is written twice. */
export function qemuOptValue(value: string): string {
  return value.replaceAll(',', ',,');
}

/**
 * argv (without the binary) that boots the ISO through its own boot loader, read-only, headless but with a VGA
 * device for screenshots, serial and SeaBIOS logs to files, the guest report port, QMP, no network, no reboot;
 * extra disks writable.
 */
export function qemuArgs(o: QemuArgsOptions): string[] {
  const media = o.media ?? 'cdrom';
  const iso = qemuOptValue(o.iso);
  const p = o.paths;
  const secureBoot = o.firmware.kind === 'uefi' && o.firmware.secureBoot;
  // Secure Boot code keeps its variables behind SMM: without smm=on it hangs before any output.
  const args: string[] = [
    '-name',
    'remaster-verify',
    '-no-user-config',
    '-nodefaults',
    '-machine',
    `q35,accel=${o.accel}${secureBoot ? ',smm=on' : ''}`,
  ];
  if (o.accel === 'kvm') args.push('-cpu', 'host');
  args.push(
    '-m',
    String(o.memoryMiB ?? DEFAULT_MEMORY_MIB),
    '-smp',
    String(o.cpus ?? DEFAULT_CPUS),
    '-display',
    'none',
    '-device',
    'VGA',
    '-serial',
    `file:${p.serialLog}`,
    '-chardev',
    `file,id=fwlog,path=${qemuOptValue(p.firmwareLog)}`,
    '-device',
    'isa-debugcon,iobase=0x402,chardev=fwlog',
    '-qmp',
    `unix:${qemuOptValue(p.qmpSocket)},server=on,wait=off`,
    '-device',
    'virtio-serial-pci',
    '-chardev',
    `file,id=report,path=${qemuOptValue(p.reportFile)}`,
    '-device',
    `virtserialport,chardev=report,name=${o.reportPort ?? DEFAULT_REPORT_PORT}`,
    '-nic',
    'none',
    '-no-reboot',
  );
  if (secureBoot) args.push('-global', 'driver=cfi.pflash01,property=secure,value=on');
  if (o.firmware.kind === 'uefi') {
    args.push(
      '-drive',
      `if=pflash,format=raw,unit=0,readonly=on,file=${qemuOptValue(o.firmware.code)}`,
      '-drive',
      `if=pflash,format=raw,unit=1,file=${qemuOptValue(o.firmware.vars)}`,
    );
  }
  for (const disk of o.disks ?? []) {
    args.push('-drive', `file=${qemuOptValue(disk)},if=virtio,format=raw,cache=writeback`);
  }
  if (media === 'cdrom') {
    args.push('-drive', `file=${iso},media=cdrom,readonly=on,format=raw`, '-boot', 'order=d');
  } else {
    args.push(
      '-device',
      'qemu-xhci,id=xhci',
      '-drive',
      `if=none,id=stick,format=raw,readonly=on,file=${iso}`,
      '-device',
      'usb-storage,bus=xhci.0,drive=stick,removable=on,bootindex=0',
    );
  }
  return args;
}
