// The feedback line's PIN per unit (department): admin-set, 4 to 8 digits, stored as scrypt with
// its own random salt, compared in constant time. A caller whose number is not one of the unit's
// contacts must key it before giving feedback (caller-check.ts).
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import type { Db } from '../db/database.js';

export const PIN_PATTERN = /^[0-9]{4,8}$/;
/** scrypt output length, bytes. */
const KEY_BYTES = 32;

const derive = (pin: string, salt: Buffer): Buffer => scryptSync(pin, salt, KEY_BYTES);

export class UnitPins {
  constructor(private readonly db: Db) {}

  /** Sets (or replaces) a unit's PIN. The caller has checked PIN_PATTERN and the unit. */
  set(departmentId: string, pin: string, actor: string): void {
    if (!PIN_PATTERN.test(pin)) throw new Error('a PIN is 4 to 8 digits');
    const salt = randomBytes(16);
    this.db.prepare(`INSERT INTO unit_pins (department_id, salt, hash, set_at, set_by) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (department_id) DO UPDATE SET salt = excluded.salt, hash = excluded.hash, set_at = excluded.set_at, set_by = excluded.set_by`)
      .run(departmentId, salt.toString('hex'), derive(pin, salt).toString('hex'), new Date().toISOString(), actor);
  }

  clear(departmentId: string): boolean {
    return this.db.prepare('DELETE FROM unit_pins WHERE department_id = ?').run(departmentId).changes > 0;
  }

  has(departmentId: string): boolean {
    return this.db.prepare('SELECT 1 FROM unit_pins WHERE department_id = ?').get(departmentId) !== undefined;
  }

  /** True when `pin` is the unit's PIN; false when it is not or the unit has none. */
  verify(departmentId: string, pin: string): boolean {
    const row = this.db.prepare('SELECT salt, hash FROM unit_pins WHERE department_id = ?').get(departmentId) as { salt: string; hash: string } | undefined;
    if (!row || !PIN_PATTERN.test(pin)) return false;
    return timingSafeEqual(derive(pin, Buffer.from(row.salt, 'hex')), Buffer.from(row.hash, 'hex'));
  }
}
