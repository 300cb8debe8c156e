// The library API: the same pipeline the CLI runs, with typed options and results.
export { type BuildOptions, type BuildReport, build, buildStages, reportOf } from './build.js';
export { readConfigFile, toBuildConfig } from './config/load.js';
export { defaultCacheDir } from './config/paths.js';
export type { BuildConfig } from './config/types.js';
export { ExitCode, InterruptedError, RemasterError, ToolError, UsageError, VerificationError } from './errors.js';
export type { PayloadImage, PayloadManifest } from './images/manifest.js';
export { type InspectResult, inspectIso as inspect } from './iso/inspect.js';
export type { VerifyOutcome } from './pipeline/context.js';
export type { Accel, Compression, Engine, Firmware, ImageSpec, Media, RegistryAuth, RootfsMode, RunSettings } from './types.js';
export { type VerifyOptions, verifyIso as verify } from './verify.js';
