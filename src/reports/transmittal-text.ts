// The 110 centre's quarterly transmittal (每季抄告县联动办和县监察局) as plain text for a terminal
// or a printout: the ranked departments with the main figures; `--csv` gives every figure.
import type { Language } from '../config.js';
import type { AssessmentReport, Figures } from './assessment.js';
import { FIGURE_COLUMNS, formatFigure, RANK_DEFINITION, SCOPE_DEFINITION, weightedRankDefinition } from './definitions.js';

/** The columns a terminal line has room for, by JSON key. */
const TEXT_KEYS = [
  'received', 'accepted', 'unacknowledged', 'acceptanceRate', 'medianSecondsToAccept', 'p90SecondsToAccept', 'escalations',
  'completionRate', 'satisfaction.attitude.rate', 'satisfaction.speed.rate', 'satisfaction.quality.rate',
];
const SHORT: Record<Language, Record<string, string>> = {
  'zh-CN': {
    received: '接收', accepted: '受理', unacknowledged: '未应答', acceptanceRate: '受理率', medianSecondsToAccept: '中位秒',
    p90SecondsToAccept: 'P90秒', escalations: '转备用', completionRate: '办结率', 'satisfaction.attitude.rate': '态度',
    'satisfaction.speed.rate': '速度', 'satisfaction.quality.rate': '质量',
  },
  en: {
    received: 'recv', accepted: 'acc', unacknowledged: 'unack', acceptanceRate: 'acc%', medianSecondsToAccept: 'med s',
    p90SecondsToAccept: 'p90 s', escalations: 'escal', completionRate: 'done%', 'satisfaction.attitude.rate': 'attit',
    'satisfaction.speed.rate': 'speed', 'satisfaction.quality.rate': 'qual',
  },
};
const WORDS: Record<Language, { title: (r: AssessmentReport) => string; rank: string; department: string; total: string; period: string; generated: string; more: string }> = {
  'zh-CN': {
    title: (r) => r.quarter[4] === 'H'
      ? `110社会联动各成员单位工作情况半年通报 ${r.quarter.slice(0, 4)}年${r.quarter[5] === '1' ? '上' : '下'}半年`
      : `110社会联动各成员单位工作情况季度通报 ${r.quarter.slice(0, 4)}年第${r.quarter.slice(5)}季度`,
    rank: '名次', department: '单位', total: '全县合计', period: '统计期间', generated: '制表时间',
    more: '全部指标见 --csv；各指标定义见 docs/reports.md。抄送：县联动办、县监察局。',
  },
  en: {
    title: (r) => `110 social linkage: ${r.quarter[4] === 'H' ? 'half-yearly' : 'quarterly'} transmittal of member departments, ${r.quarter}`,
    rank: 'Rank', department: 'Department', total: 'All departments', period: 'Period', generated: 'Generated',
    more: 'Every figure: --csv; definitions: docs/reports.md. To: the linkage office and the supervision bureau.',
  },
};

/** Terminal columns a string takes: East Asian wide and full-width characters take two. */
export function displayWidth(text: string): number {
  let width = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0) ?? 0;
    const wide = (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) || (cp >= 0xac00 && cp <= 0xd7a3) ||
      (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) || (cp >= 0xffe0 && cp <= 0xffe6);
    width += wide ? 2 : 1;
  }
  return width;
}

/** Cuts text to at most `max` display columns, ending in … when cut. */
export function fitWidth(text: string, max: number): string {
  if (displayWidth(text) <= max) return text;
  let out = '';
  for (const ch of text) {
    if (displayWidth(out + ch) > max - 1) break;
    out += ch;
  }
  return `${out}…`;
}

/** Widest department name in the table, display columns: the long English names are cut. */
const NAME_WIDTH = 36;

const padEnd = (s: string, w: number) => s + ' '.repeat(Math.max(0, w - displayWidth(s)));
const padStart = (s: string, w: number) => ' '.repeat(Math.max(0, w - displayWidth(s))) + s;

/** "2026-10-01 00:00" in the zone. */
function localMinute(iso: string, timeZone: string): string {
  const p = new Intl.DateTimeFormat('sv-SE', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(iso));
  return p.replace('T', ' ');
}

export function transmittalText(report: AssessmentReport, language: Language): string {
  const w = WORDS[language];
  const columns = TEXT_KEYS.map((key) => FIGURE_COLUMNS.find((c) => c.key === key)).filter((c) => c !== undefined);
  const cells = (f: Figures) => columns.map((c) => formatFigure(c.value(f), c.format));
  const table: string[][] = [[w.rank, w.department, ...columns.map((c) => SHORT[language][c.key] ?? c.key)]];
  for (const d of report.departments) table.push([d.rank === null ? '—' : String(d.rank), fitWidth(d.name[language], NAME_WIDTH), ...cells(d)]);
  table.push(['', w.total, ...cells(report.totals)]);
  const widths = (table[0] ?? []).map((_, i) => Math.max(...table.map((row) => displayWidth(row[i] ?? ''))));
  const line = (row: string[]) => row.map((cell, i) => (i === 1 ? padEnd(cell, widths[i] ?? 0) : padStart(cell, widths[i] ?? 0))).join('  ').trimEnd();
  return [
    w.title(report),
    `${w.period}: ${localMinute(report.from, report.timezone)} – ${localMinute(report.to, report.timezone)} (${report.timezone})   ${w.generated}: ${localMinute(report.generatedAt, report.timezone)}`,
    '',
    ...table.map(line),
    '',
    report.weights ? weightedRankDefinition(report.weights, language) : RANK_DEFINITION[language],
    SCOPE_DEFINITION[language],
    w.more,
  ].join('\n');
}
