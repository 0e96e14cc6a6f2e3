// The callback register (回访登记表): one row per finished survey, as JSON for the API and as
// CSV for spreadsheet programs (UTF-8 with a BOM so the Chinese opens correctly).
import type { Language } from '../config.js';
import { sql, type RawBuilder } from 'kysely';
import { rows as allRows } from '../db/sql.js';
import type { Executor } from '../db/store.js';
import type { Catalog } from '../departments/catalog.js';
import { maskPhone } from '../logging.js';
import type { Answer } from './survey-repository.js';

export interface RegisterRow {
  orderId: string;
  orderCode: string;
  departmentId: string;
  department: string;
  category: string;
  incidentAt: string;
  callbackAt: string;
  kind: string;
  attempts: number;
  attitude: Answer | null;
  speed: Answer | null;
  quality: Answer | null;
  disposition: string;
  reporterPhone: string;
}

interface Joined {
  order_id: string; code: string; department_id: string; category: string; created_at: string;
  finished_at: string; kind: string; attempts: number; attitude: Answer | null; speed: Answer | null; quality: Answer | null;
  status: string; number: string;
}

export interface RegisterFilter {
  readonly from?: string | undefined;
  readonly to?: string | undefined;
  readonly departmentId?: string | undefined;
}

/** Order event of a completed case whose reporter is never called back; it is a register row `not_called (privacy)`. */
export const PRIVACY_EVENT = 'survey_not_called_privacy';
/** The disposition of such a row. */
export const PRIVACY_DISPOSITION = 'not_called (privacy)';

/** Finished surveys (and cases not called back for privacy) whose callback time is in [from, to), oldest first. */
export async function callbackRegister(db: Executor, catalog: Catalog, language: Language, filter: RegisterFilter): Promise<RegisterRow[]> {
  const where: RawBuilder<unknown>[] = [sql`s.status IN ('completed', 'partial', 'unreachable', 'opted_out')`, sql`s.finished_at IS NOT NULL`];
  // Cases never called back (informants' privacy): one row each, at the time the case was completed.
  const privacyWhere: RawBuilder<unknown>[] = [sql`e.kind = ${PRIVACY_EVENT}`];
  if (filter.from) {
    const from = new Date(filter.from).toISOString();
    where.push(sql`s.finished_at >= ${from}`);
    privacyWhere.push(sql`e.at >= ${from}`);
  }
  if (filter.to) {
    const to = new Date(filter.to).toISOString();
    where.push(sql`s.finished_at < ${to}`);
    privacyWhere.push(sql`e.at < ${to}`);
  }
  if (filter.departmentId) {
    where.push(sql`o.department_id = ${filter.departmentId}`);
    privacyWhere.push(sql`o.department_id = ${filter.departmentId}`);
  }
  // Both branches' columns have one type on PostgreSQL (CAST of the parameter, attempts as a number,
  // the privacy row's id made text); the derived table needs its alias there.
  const rows = await allRows(
    db,
    sql<Joined>`SELECT * FROM (
         SELECT s.order_id, o.code, o.department_id, o.category, o.created_at, s.finished_at, s.kind, s.attempts,
                s.attitude, s.speed, s.quality, s.status, s.number, s.id AS sort_id
         FROM surveys s JOIN orders o ON o.id = s.order_id WHERE ${sql.join(where, sql` AND `)}
         UNION ALL
         SELECT o.id, o.code, o.department_id, o.category, o.created_at, e.at, 'callback', 0,
                NULL, NULL, NULL, CAST(${PRIVACY_DISPOSITION} AS TEXT), o.reporter_phone, 'privacy-' || CAST(e.id AS TEXT)
         FROM order_events e JOIN orders o ON o.id = e.order_id WHERE ${sql.join(privacyWhere, sql` AND `)}
       ) AS register ORDER BY finished_at, sort_id`,
  );
  return rows.map((r) => ({
    orderId: r.order_id,
    orderCode: r.code,
    departmentId: r.department_id,
    department: catalog.departmentsById.get(r.department_id)?.name[language] ?? r.department_id,
    category: catalog.categoriesById.get(r.category)?.name[language] ?? r.category,
    incidentAt: r.created_at,
    callbackAt: r.finished_at,
    kind: r.kind,
    attempts: r.attempts,
    attitude: r.attitude,
    speed: r.speed,
    quality: r.quality,
    disposition: r.status,
    reporterPhone: maskPhone(r.number),
  }));
}

const HEADERS: Record<Language, readonly string[]> = {
  'zh-CN': ['单号', '处置单位', '类别', '报警时间', '回访时间', '回访类型', '回访次数', '服务态度', '处置速度', '处置水平', '回访结果', '报警人电话'],
  en: ['Order code', 'Department', 'Category', 'Incident time', 'Callback time', 'Callback kind', 'Attempts', 'Attitude', 'Speed', 'Quality', 'Disposition', 'Reporter phone'],
};
const WORDS: Record<Language, Record<string, string>> = {
  'zh-CN': {
    satisfied: '满意', unsatisfied: '不满意', no_answer: '未回答', '': '',
    completed: '完成', partial: '部分完成', unreachable: '未接通', opted_out: '拒绝回访', [PRIVACY_DISPOSITION]: '未回访（保护隐私）',
    callback: '回访', follow_up: '二次回访',
  },
  en: {
    satisfied: 'satisfied', unsatisfied: 'not satisfied', no_answer: 'no answer', '': '',
    completed: 'completed', partial: 'partial', unreachable: 'unreachable', opted_out: 'opted out', [PRIVACY_DISPOSITION]: 'not called (privacy)',
    callback: 'callback', follow_up: 'follow-up',
  },
};

/** "2026-11-23 16:51" in the given zone. */
export function localMinute(isoTime: string, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(new Date(isoTime));
  const p = (t: string) => parts.find((x) => x.type === t)?.value ?? '';
  return `${p('year')}-${p('month')}-${p('day')} ${p('hour')}:${p('minute')}`;
}

/** Invisible format characters (zero-width space/joiners, BOM, bidi marks …): Unicode category Cf. */
const INVISIBLE = /\p{Cf}/gu;

/**
 * One CSV cell, safe to open in a spreadsheet. Invisible characters are removed (they hide what
 * a cell starts with); then, if the cell — with full-width forms folded to ASCII (NFKC, so
 * `＝` is `=`) and leading blanks skipped — starts with = + - @ or a tab/CR, it is prefixed with
 * `'` so no spreadsheet runs it as a formula. The text itself keeps its full-width characters.
 * RFC 4180 quoting, also for `;` (the field separator of spreadsheets in many locales).
 */
export function csvField(value: string): string {
  const visible = value.replace(INVISIBLE, '');
  const probe = visible.normalize('NFKC');
  const safe = /^[\t\r]/.test(probe) || /^\s*[=+\-@]/u.test(probe) ? `'${visible}` : visible;
  return /[",;\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function registerCsv(rows: readonly RegisterRow[], language: Language, timeZone: string): string {
  const w = WORDS[language];
  const word = (v: string | null) => w[v ?? ''] ?? v ?? '';
  const lines = [HEADERS[language].map(csvField).join(',')];
  for (const r of rows) {
    lines.push(
      [r.orderCode, r.department, r.category, localMinute(r.incidentAt, timeZone), localMinute(r.callbackAt, timeZone), word(r.kind), String(r.attempts),
        word(r.attitude), word(r.speed), word(r.quality), word(r.disposition), r.reporterPhone]
        .map(csvField)
        .join(','),
    );
  }
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}
