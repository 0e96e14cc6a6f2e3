// Starts the project's real Asterisk 22 once for the integration tests (idempotent: reuses
// a running one with the same configuration). Left running afterwards, like a dev database.
import { asteriskUp } from '../../src/asterisk/index.js';
import { configFromProcess } from '../../src/config.js';

export default async function setup(): Promise<void> {
  const started = Date.now();
  const status = await asteriskUp(configFromProcess('dev'), (line) => process.stdout.write(`[asterisk] ${line}\n`));
  process.stdout.write(`[asterisk] ready in ${((Date.now() - started) / 1000).toFixed(1)} s: ${status.version ?? 'unknown version'}, logs in ${status.logDir}\n`);
}
