// The host side of boot verification: firmware, accelerator, QEMU launch, QMP, guest report and diagnosis.
export * from './accel.js';
export * from './args.js';
export * from './diagnose.js';
export * from './firmware.js';
export * from './launch.js';
export * from './phases.js';
export * from './qmp.js';
export * from './report.js';
