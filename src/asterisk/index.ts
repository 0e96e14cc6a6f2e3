// liandong's own Asterisk 22: a Debian sid chroot under config.asterisk.cacheDir, configured
// from the templates in dialplans/ (each template's header says which module reads it).
export { asteriskCli, asteriskDown, asteriskKill, asteriskStatus, asteriskUp } from './lifecycle.js';
export { renderAsteriskConfigs } from './render.js';
export { ProvisionError } from './types.js';
export type { AsteriskStatus } from './types.js';
