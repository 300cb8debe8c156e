// Where a netinst or DVD base gets remaster's payload on the medium: the engine's .debs and one tar of the payload,
// under their own folder (the base's signed pool and Release stay untouched). d-i's late command reads them from here.
export const MEDIUM_DIR = '/remaster';
export const MEDIUM_DEBS = `${MEDIUM_DIR}/debs`;
export const MEDIUM_PAYLOAD = `${MEDIUM_DIR}/payload.tar`;
/** Ubiquity bases: the install script its success_command runs (d-i keeps its copy in the initrd). */
export const MEDIUM_INSTALL = `${MEDIUM_DIR}/install.sh`;
