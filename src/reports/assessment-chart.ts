// Server-rendered SVG charts of the assessment: no script, no external font or stylesheet, so the
// console draws them offline and a browser prints them. Every text is XML-escaped.
import type { Language } from '../config.js';
import type { AssessmentReport, DepartmentAssessment, Figures } from './assessment.js';
import { formatFigure } from './definitions.js';
import { fitWidth } from './transmittal-text.js';

export const CHARTS = ['acceptance', 'satisfaction'] as const;
export type ChartKind = (typeof CHARTS)[number];

/** Layout, px. */
const WIDTH = 760;
const LABEL_WIDTH = 190;
const BAR_WIDTH = 380;
const TOP = 48;
const FONT = `font-family="'WenQuanYi Micro Hei','Noto Sans CJK SC','Microsoft YaHei',sans-serif"`;
const COLOURS = { accepted: '#2e7d32', unacknowledged: '#c62828', attitude: '#1565c0', speed: '#00897b', quality: '#8e24aa', grid: '#d0d7de', text: '#1f2328', muted: '#57606a' };

interface ChartWords {
  acceptanceTitle: string; satisfactionTitle: string; accepted: string; unacknowledged: string; attitude: string; speed: string; quality: string;
  empty: string; emptySurvey: string; median: string; total: string; callbacks: string;
}
const WORDS: Record<Language, ChartWords> = {
  'zh-CN': {
    acceptanceTitle: '受理率（按名次）', satisfactionTitle: '三满意满意率', accepted: '受理', unacknowledged: '未应答',
    attitude: '服务态度', speed: '处置速度', quality: '处置水平', empty: '本季度无可统计的指令', emptySurvey: '本季度无已应答的回访',
    median: '中位', total: '全县', callbacks: '份回访',
  },
  en: {
    acceptanceTitle: 'Acceptance rate (by rank)', satisfactionTitle: 'Three satisfactions', accepted: 'accepted', unacknowledged: 'unacknowledged',
    attitude: 'attitude', speed: 'speed', quality: 'quality', empty: 'No orders to assess this quarter', emptySurvey: 'No answered callbacks this quarter',
    median: 'median', total: 'County', callbacks: 'callbacks',
  },
};

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] ?? c);
}

/** Long names are cut to fit the label column: 26 display columns (13 CJK characters at 13 px ≈ 170 px). */
const shorten = (name: string): string => fitWidth(name, 26);

function frame(title: string, height: number, body: string[], legend: Array<[string, string]>, withGrid = true): string {
  let x = LABEL_WIDTH;
  const keys = legend.map(([colour, label]) => {
    const item = `<rect x="${x}" y="26" width="10" height="10" fill="${colour}"/><text x="${x + 14}" y="35" font-size="12" fill="${COLOURS.muted}">${escapeXml(label)}</text>`;
    x += 24 + [...label].length * 12;
    return item;
  });
  const grid = !withGrid ? [] : [0, 0.25, 0.5, 0.75, 1].map((t) => {
    const gx = LABEL_WIDTH + t * BAR_WIDTH;
    return `<line x1="${gx}" y1="${TOP - 4}" x2="${gx}" y2="${height - 18}" stroke="${COLOURS.grid}" stroke-width="1"/>` +
      `<text x="${gx}" y="${height - 4}" font-size="11" text-anchor="middle" fill="${COLOURS.muted}">${t * 100}%</text>`;
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img" ${FONT}>`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="8" y="18" font-size="15" font-weight="bold" fill="${COLOURS.text}">${escapeXml(title)}</text>`,
    ...keys,
    ...grid,
    ...body,
    '</svg>',
  ].join('\n');
}

function empty(title: string, message: string): string {
  return frame(title, 90, [`<text x="${WIDTH / 2}" y="60" font-size="13" text-anchor="middle" fill="${COLOURS.muted}">${escapeXml(message)}</text>`], [], false);
}

function acceptanceChart(report: AssessmentReport, language: Language): string {
  const w = WORDS[language];
  const title = `${report.quarter} ${w.acceptanceTitle}`;
  const rows = report.departments.filter((d) => d.rank !== null);
  if (rows.length === 0) return empty(title, w.empty);
  const rowHeight = 24;
  const body = rows.map((d, i) => {
    const y = TOP + i * rowHeight;
    const answerable = d.accepted + d.unacknowledged;
    const acceptedWidth = (d.accepted / answerable) * BAR_WIDTH;
    const value = `${formatFigure(d.acceptanceRate, 'rate')}  ${d.accepted}/${answerable}  ${w.median} ${formatFigure(d.medianSecondsToAccept, 'seconds')} s`;
    return [
      `<text x="${LABEL_WIDTH - 8}" y="${y + 15}" font-size="13" text-anchor="end" fill="${COLOURS.text}">${d.rank}. ${escapeXml(shorten(d.name[language]))}</text>`,
      `<rect x="${LABEL_WIDTH}" y="${y + 4}" width="${acceptedWidth.toFixed(1)}" height="14" fill="${COLOURS.accepted}"><title>${escapeXml(`${d.name[language]}: ${w.accepted} ${d.accepted}`)}</title></rect>`,
      `<rect x="${(LABEL_WIDTH + acceptedWidth).toFixed(1)}" y="${y + 4}" width="${(BAR_WIDTH - acceptedWidth).toFixed(1)}" height="14" fill="${COLOURS.unacknowledged}"><title>${escapeXml(`${d.name[language]}: ${w.unacknowledged} ${d.unacknowledged}`)}</title></rect>`,
      `<text x="${LABEL_WIDTH + BAR_WIDTH + 8}" y="${y + 15}" font-size="12" fill="${COLOURS.text}">${escapeXml(value)}</text>`,
    ].join('');
  });
  return frame(title, TOP + rows.length * rowHeight + 24, body, [[COLOURS.accepted, w.accepted], [COLOURS.unacknowledged, w.unacknowledged]]);
}

function satisfactionChart(report: AssessmentReport, language: Language): string {
  const w = WORDS[language];
  const title = `${report.quarter} ${w.satisfactionTitle}`;
  const rows: Array<{ label: string; f: Figures }> = [];
  if (report.totals.callbacksAnswered > 0) rows.push({ label: w.total, f: report.totals });
  const answered = (d: DepartmentAssessment) => d.callbacksAnswered > 0;
  for (const d of report.departments.filter(answered)) rows.push({ label: d.name[language], f: d });
  if (rows.length === 0) return empty(title, w.emptySurvey);
  const questions = ['attitude', 'speed', 'quality'] as const;
  const rowHeight = 40;
  const body = rows.map((r, i) => {
    const y = TOP + i * rowHeight;
    const bars = questions.map((q, j) => {
      const s = r.f.satisfaction[q];
      const by = y + 3 + j * 11;
      const width = (s.rate ?? 0) * BAR_WIDTH;
      const text = `${formatFigure(s.rate, 'rate')} (${s.satisfied}/${s.satisfied + s.unsatisfied})`;
      return `<rect x="${LABEL_WIDTH}" y="${by}" width="${width.toFixed(1)}" height="9" fill="${COLOURS[q]}"><title>${escapeXml(`${r.label}: ${w[q]} ${text}`)}</title></rect>` +
        `<text x="${LABEL_WIDTH + BAR_WIDTH + 8}" y="${by + 8}" font-size="10" fill="${COLOURS.muted}">${escapeXml(`${w[q]} ${text}`)}</text>`;
    });
    return `<text x="${LABEL_WIDTH - 8}" y="${y + 16}" font-size="13" text-anchor="end" fill="${COLOURS.text}">${escapeXml(shorten(r.label))}</text>` +
      `<text x="${LABEL_WIDTH - 8}" y="${y + 30}" font-size="10" text-anchor="end" fill="${COLOURS.muted}">${r.f.callbacksAnswered} ${escapeXml(w.callbacks)}</text>${bars.join('')}`;
  });
  return frame(title, TOP + rows.length * rowHeight + 24, body, questions.map((q) => [COLOURS[q], w[q]]));
}

export function assessmentChart(report: AssessmentReport, kind: ChartKind, language: Language): string {
  return kind === 'acceptance' ? acceptanceChart(report, language) : satisfactionChart(report, language);
}
