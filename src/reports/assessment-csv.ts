// The transmittal as a spreadsheet: one row per department in rank order, then the county total.
// UTF-8 with a BOM and CRLF, like the callback register, so the Chinese opens correctly.
import type { Language } from '../config.js';
import { csvField } from '../survey/callback-register.js';
import type { AssessmentReport } from './assessment.js';
import { FIGURE_COLUMNS, formatFigure } from './definitions.js';

const FIXED_HEADERS: Record<Language, readonly string[]> = {
  'zh-CN': ['季度', '名次', '单位编号', '单位'],
  en: ['Quarter', 'Rank', 'Department id', 'Department'],
};
const TOTAL: Record<Language, string> = { 'zh-CN': '全县合计', en: 'All departments' };

export function assessmentCsv(report: AssessmentReport, language: Language): string {
  const lines = [[...FIXED_HEADERS[language], ...FIGURE_COLUMNS.map((c) => c.label[language])].map(csvField).join(',')];
  for (const d of report.departments) {
    const fixed = [report.quarter, d.rank === null ? '' : String(d.rank), d.departmentId, d.name[language]];
    lines.push([...fixed, ...FIGURE_COLUMNS.map((c) => formatFigure(c.value(d), c.format, ''))].map(csvField).join(','));
  }
  const total = [report.quarter, '', '', TOTAL[language], ...FIGURE_COLUMNS.map((c) => formatFigure(c.value(report.totals), c.format, ''))];
  lines.push(total.map(csvField).join(','));
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}
