// The library API: the same programs the CLI runs, with the typed options each verb builds from its flags.
export {
  type BuildOptions,
  type BuildReport,
  build,
  buildStages,
  type FetchPackagesOptions,
  type FetchPackagesResult,
  fetchPackages,
  fetchStages,
  reportOf,
} from './build.js';
export { type BuildConfig, type RawConfig, readConfigFile, toBuildConfig } from './config/load.js';
export { defaultCacheDir } from './config/paths.js';
export { jsonSchema } from './config/schema.js';
export { SETTINGS, type Setting } from './config/settings.js';
export { ExitCode, InterruptedError, RemasterError, ToolError, UsageError, VerificationError } from './errors.js';
export type { PayloadImage, PayloadManifest } from './images/manifest.js';
export { type InspectResult, inspectIso as inspect } from './iso/inspect.js';
export type { Accel, Compression, Engine, Firmware, ImageSpec, Media, RegistryAuth, RootfsMode, RunSettings } from './types.js';
export type { VerifyOutcome } from './verify/verdict.js';
export { type VerifyOptions, verifyIso as verify } from './verify/verify-iso.js';
