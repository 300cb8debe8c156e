// Pure builder of the QEMU command line for a verification boot, and the file layout of a boot's work dir.
import { join } from 'node:path';
import type { Accel } from './accel.js';
import type { FirmwareSetup } from './firmware.js';

/** What the VM boots from: the ISO as an optical drive or a USB stick, or (an installed system) its first disk. */
export type BootMedia = 'cdrom' | 'usb' | 'disk';

/** Direct kernel boot (an installer started with test-only answers); the ISO is then attached but not booted. */
export interface DirectKernel {
  kernel: string;
  initrd: string;
  append: string;
}

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
  /** The ISO: booted (cdrom, usb), or attached as a CD-ROM for the kernel (direct boot) or the installed system. */
  iso?: string | undefined;
  /** Boot this kernel directly instead of any medium's boot loader. */
  kernel?: DirectKernel | undefined;
  firmware: FirmwareSetup;
  media?: BootMedia;
  accel: Accel;
  memoryMiB?: number;
  cpus?: number;
  paths: BootPaths;
  reportPort?: string;
  /** Raw disk images attached writable as virtio disks (a store device; with media disk, the first is booted). */
  disks?: readonly string[];
  /** A second serial port written to this file (an installer mirrors its syslog there). */
  secondSerial?: string | undefined;
  /**
   * A network card that leads nowhere (user networking with restrict=on: no host, no outside). An installer finds a
   * card as on a real server; with none, d-i's ethdetect walks every NIC driver's description (2.5 min under TCG).
   */
  isolatedNic?: boolean | undefined;
}

/** QEMU's option syntax uses commas as separators; a literal comma in a value is written twice. */
export function qemuOptValue(value: string): string {
  return value.replaceAll(',', ',,');
}

/**
 * argv (without the binary) that boots the ISO through its own boot loader, read-only, headless but with a VGA
 * device for screenshots, serial and SeaBIOS logs to files, the guest report port, QMP, no network (or an isolated card), no reboot;
 * extra disks writable.
 */
export function qemuArgs(o: QemuArgsOptions): string[] {
  const media = o.media ?? 'cdrom';
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
    ...(o.secondSerial ? ['-serial', `file:${o.secondSerial}`] : []),
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
    o.isolatedNic ? 'user,model=virtio-net-pci,restrict=on' : 'none',
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
  if (o.kernel) {
    args.push('-kernel', o.kernel.kernel, '-initrd', o.kernel.initrd, '-append', o.kernel.append);
  }
  for (const [i, disk] of (o.disks ?? []).entries()) {
    const file = qemuOptValue(disk);
    // The installed system boots from its disk, by whatever the firmware finds there (MBR, or the ESP's removable path).
    if (media === 'disk' && i === 0 && !o.kernel)
      args.push('-drive', `file=${file},if=none,id=disk0,format=raw,cache=writeback`, '-device', 'virtio-blk-pci,drive=disk0,bootindex=0');
    else args.push('-drive', `file=${file},if=virtio,format=raw,cache=writeback`);
  }
  if (o.iso === undefined) {
    if (media !== 'disk') throw new Error('internal: booting a medium needs the ISO');
    return args;
  }
  const iso = qemuOptValue(o.iso);
  if (media === 'usb' && !o.kernel) {
    args.push(
      '-device',
      'qemu-xhci,id=xhci',
      '-drive',
      `if=none,id=stick,format=raw,readonly=on,file=${iso}`,
      '-device',
      'usb-storage,bus=xhci.0,drive=stick,removable=on,bootindex=0',
    );
  } else {
    args.push('-drive', `file=${iso},media=cdrom,readonly=on,format=raw`);
    if (media === 'cdrom' && !o.kernel) args.push('-boot', 'order=d');
  }
  return args;
}
