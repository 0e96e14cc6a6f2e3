// What the admin API and command line show of the telephony config and the rendered files:
// everything except passwords and secrets.
import type { TelephonyConfig } from './telephony-config.js';

/** `password = x`, `secret = x` (pjsip, ari, manager) → `password = ********`. */
export function redactSecrets(confText: string): string {
  return confText.replace(/^(\s*(?:password|secret|auth_pass|md5_cred)\s*=>?\s*)([^;\n]*?)(\s*(?:;.*)?)$/gim, (_m, head: string, value: string, tail: string) => `${head}${value ? '********' : ''}${tail}`);
}

/** The telephony config without its passwords. */
export function telephonySummary(t: TelephonyConfig) {
  const trunk = t.trunk
    ? t.trunk.mode === 'registration'
      ? { id: t.trunk.id, mode: t.trunk.mode, host: t.trunk.host, port: t.trunk.port, username: t.trunk.username, codecs: t.trunk.codecs, qualifySeconds: t.trunk.qualifySeconds, expirySeconds: t.trunk.expirySeconds }
      : { id: t.trunk.id, mode: t.trunk.mode, host: t.trunk.host, port: t.trunk.port, match: t.trunk.match, codecs: t.trunk.codecs, qualifySeconds: t.trunk.qualifySeconds }
    : null;
  return {
    trunk,
    extensions: t.extensions.map((e) => ({ number: e.number, departmentId: e.departmentId, label: e.label, codecs: e.codecs })),
    feedbackNumbers: t.feedbackNumbers,
  };
}
