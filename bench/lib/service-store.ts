// The bench reads the measured service's database (orders, attempts, acknowledgements) through the
// same store the service uses: its LIANDONG_DATABASE_URL, or the SQLite file of LIANDONG_DB.
import type { ServiceProcess } from '../../harness/service-process.js';
import { openStore, parseDatabaseUrl, type Store } from '../../src/db/store.js';

/**
 * Opens the service's store; close it when done. The service migrated it at boot, so the
 * migration check openStore runs finds nothing to do (on PostgreSQL it waits on the same advisory
 * lock as a booting node).
 */
export async function openServiceStore(svc: ServiceProcess): Promise<Store> {
  const raw = svc.env.LIANDONG_DATABASE_URL || svc.env.LIANDONG_DB || svc.dbFile;
  const target = parseDatabaseUrl(raw);
  if (typeof target === 'string') throw new Error(`the service's database: ${target}`);
  return openStore(target);
}
