// The feedback line's PIN per unit (department): admin-set, 4 to 8 digits, stored as scrypt with
// its own random salt, compared in constant time. A caller whose number is not one of the unit's
// contacts must key it before giving feedback (caller-check.ts).
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { sql } from 'kysely';
import { first, run } from '../db/sql.js';
import type { Store } from '../db/store.js';

export const PIN_PATTERN = /^[0-9]{4,8}$/;
/** scrypt output length, bytes. */
const KEY_BYTES = 32;

/** Off the event loop: a call's audio and other calls go on while the key is derived. */
const derive = (pin: string, salt: Buffer): Promise<Buffer> =>
  new Promise((resolve, reject) => scrypt(pin, salt, KEY_BYTES, (err, key) => (err ? reject(err) : resolve(key))));

export class UnitPins {
  constructor(private readonly store: Store) {}

  /** Sets (or replaces) a unit's PIN. The caller has checked PIN_PATTERN and the unit. */
  async set(departmentId: string, pin: string, actor: string): Promise<void> {
    if (!PIN_PATTERN.test(pin)) throw new Error('a PIN is 4 to 8 digits');
    const salt = randomBytes(16);
    const hash = (await derive(pin, salt)).toString('hex');
    await this.store.transaction(async (tx) => {
      await run(tx, sql`INSERT INTO unit_pins (department_id, salt, hash, set_at, set_by) VALUES (${departmentId}, ${salt.toString('hex')}, ${hash}, ${new Date().toISOString()}, ${actor})
        ON CONFLICT (department_id) DO UPDATE SET salt = excluded.salt, hash = excluded.hash, set_at = excluded.set_at, set_by = excluded.set_by`);
    });
  }

  /** True when the unit had a PIN (now removed). */
  clear(departmentId: string): Promise<boolean> {
    return this.store.transaction(async (tx) => (await run(tx, sql`DELETE FROM unit_pins WHERE department_id = ${departmentId}`)) > 0);
  }

  async has(departmentId: string): Promise<boolean> {
    return (await first(this.store.db, sql`SELECT 1 AS one FROM unit_pins WHERE department_id = ${departmentId}`)) !== undefined;
  }

  /** True when `pin` is the unit's PIN; false when it is not or the unit has none. */
  async verify(departmentId: string, pin: string): Promise<boolean> {
    const row = await first(this.store.db, sql<{ salt: string; hash: string }>`SELECT salt, hash FROM unit_pins WHERE department_id = ${departmentId}`);
    if (!row || !PIN_PATTERN.test(pin)) return false;
    return timingSafeEqual(await derive(pin, Buffer.from(row.salt, 'hex')), Buffer.from(row.hash, 'hex'));
  }
}
