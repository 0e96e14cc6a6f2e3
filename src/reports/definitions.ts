// Every figure of the assessment with its label and its definition, in both languages. The API
// returns these next to the figures, the console shows them under the table, the CSV and the
// CLI use the labels; docs/reports.md says the same in prose.
import type { Language, RankingWeights } from '../config.js';
import type { LocalizedText } from '../departments/types.js';
import type { Figures } from './assessment.js';

export type Format = 'count' | 'rate' | 'seconds' | 'minutes' | 'ratio';

export interface FigureColumn {
  /** The JSON field (satisfaction rates as "satisfaction.attitude.rate"). */
  readonly key: string;
  readonly label: LocalizedText;
  readonly definition: LocalizedText;
  readonly format: Format;
  readonly value: (f: Figures) => number | null;
}

const col = (key: string, format: Format, value: (f: Figures) => number | null, zhLabel: string, enLabel: string, zh: string, en: string): FigureColumn => ({
  key, format, value, label: { 'zh-CN': zhLabel, en: enLabel }, definition: { 'zh-CN': zh, en },
});

/** In the order of the CSV columns. */
export const FIGURE_COLUMNS: readonly FigureColumn[] = [
  col('received', 'count', (f) => f.received, '接收指令', 'Orders received',
    '本季度（北京时间）下达给本单位的指令数，不含110在呼叫本单位期间撤销的指令。',
    'Orders routed to the department that were created in the quarter (Shanghai time), less those the desk withdrew while the department was still being phoned.'),
  col('accepted', 'count', (f) => f.accepted, '受理', 'Accepted',
    '接收指令中本单位已受理的：值班人员按1或按3，或在呼叫期间通过反馈接手。迟到的受理（呼叫链结束后）不计入。',
    'Received orders the department accepted: a duty officer pressed 1 or 3, or the department gave feedback while still being phoned. A late acceptance (after the chain ran out) does not count.'),
  col('unacknowledged', 'count', (f) => f.unacknowledged, '未应答', 'Unacknowledged',
    '接收指令中呼叫链用尽仍无人受理的（已报警至110指挥中心）。',
    'Received orders whose whole call chain ran out with nobody accepting (the 110 command centre was alarmed).'),
  col('pending', 'count', (f) => f.pending, '呼叫中', 'Still calling',
    '制表时仍在呼叫、尚无结果的指令；不计入任何比率。',
    'Orders still being phoned when the report was read; left out of every rate.'),
  col('withdrawn', 'count', (f) => f.withdrawn, '已撤销', 'Withdrawn',
    '110在呼叫期间撤销的指令；不计入接收指令。',
    'Orders the desk withdrew while they were still being phoned; not counted as received.'),
  col('disputed', 'count', (f) => f.disputed, '有争议受理', 'Accepted under dispute',
    '按3受理并登记管辖争议的指令（先处置，后协调）。',
    'Accepted orders where the officer pressed 3: accepted, with a jurisdiction dispute recorded (help first, argue later).'),
  col('acceptanceRate', 'rate', (f) => f.acceptanceRate, '受理率', 'Acceptance rate',
    '受理 ÷（受理 + 未应答）。无此类指令时为空。',
    'Accepted ÷ (accepted + unacknowledged). Empty when there are none.'),
  col('medianSecondsToAccept', 'seconds', (f) => f.medianSecondsToAccept, '受理用时中位数（秒）', 'Median seconds to accept',
    '从指令生成到受理写入的秒数的中位数；偶数个时取中间两个的平均值。',
    'Median of the seconds from the order’s creation to the committed acceptance; with an even count, the mean of the two middle values.'),
  col('p90SecondsToAccept', 'seconds', (f) => f.p90SecondsToAccept, '受理用时P90（秒）', 'p90 seconds to accept',
    '同上秒数的第90百分位（最近秩法：排序后第 ⌈0.9 × n⌉ 个值）。',
    'The 90th percentile of the same seconds, nearest rank: the ⌈0.9 × n⌉-th smallest value.'),
  col('attemptsPerAcceptance', 'ratio', (f) => f.attemptsPerAcceptance, '每次受理呼叫次数', 'Calls per acceptance',
    '已受理指令上拨打本单位联系人的呼叫总数 ÷ 受理数；1.00 表示每次第一通电话即受理。',
    'Calls placed to the department’s contacts on accepted orders ÷ accepted orders; 1.00 means the first call was always accepted.'),
  col('escalations', 'count', (f) => f.escalations, '转备用联系人', 'Escalated to backup contacts',
    '接收指令中，首位联系人未受理、需呼叫后续联系人或再轮呼叫的指令数。',
    'Received orders on which the first contact did not accept and a later contact (or a further pass over the chain) was called.'),
  col('arrivalsReported', 'count', (f) => f.arrivalsReported, '到场反馈', 'Arrivals reported',
    '有“已到场”反馈的接收指令数。',
    'Received orders with an “arrived” feedback.'),
  col('medianMinutesToArrival', 'minutes', (f) => f.medianMinutesToArrival, '到场用时中位数（分）', 'Median minutes to arrival',
    '从指令生成到第一次“已到场”反馈的分钟数的中位数（仅计有到场反馈的指令）。',
    'Median of the minutes from the order’s creation to its first “arrived” feedback, over the orders that have one.'),
  col('completed', 'count', (f) => f.completed, '办结', 'Completed',
    '有“已办结”反馈的接收指令数。',
    'Received orders with a “completed” feedback.'),
  col('completionRate', 'rate', (f) => f.completionRate, '办结率', 'Completion rate',
    '办结 ÷（受理 + 未应答）。',
    'Completed ÷ (accepted + unacknowledged).'),
  col('callbacksFinished', 'count', (f) => f.callbacksFinished, '回访结束', 'Callbacks finished',
    '已结束的“三满意”回访（完成、部分完成、未接通、拒绝回访）；不含二次回访。',
    'Three-satisfactions callbacks that are over (completed, partial, unreachable, opted out); follow-ups not included.'),
  col('callbacksAnswered', 'count', (f) => f.callbacksAnswered, '回访应答', 'Callbacks answered',
    '报警人至少回答了一个问题的回访（完成或部分完成）。',
    'Callbacks where the citizen keyed at least one answer (completed or partial).'),
  col('surveyResponseRate', 'rate', (f) => f.surveyResponseRate, '回访应答率', 'Survey response rate',
    '回访应答 ÷ 回访结束。',
    'Callbacks answered ÷ callbacks finished.'),
  col('satisfaction.attitude.rate', 'rate', (f) => f.satisfaction.attitude.rate, '服务态度满意率', 'Satisfied: attitude',
    '应答的回访中，服务态度“满意”÷（“满意”+“不满意”）；未回答的不计。',
    'Over answered callbacks: “satisfied” ÷ (“satisfied” + “not satisfied”) on service attitude; no answer is left out.'),
  col('satisfaction.speed.rate', 'rate', (f) => f.satisfaction.speed.rate, '处置速度满意率', 'Satisfied: speed',
    '同上，问题为处置速度。', 'The same, on handling speed.'),
  col('satisfaction.quality.rate', 'rate', (f) => f.satisfaction.quality.rate, '处置水平满意率', 'Satisfied: quality',
    '同上，问题为处置水平（永嘉细则所称“处置水平”）。', 'The same, on handling quality.'),
  col('unsatisfiedFollowUps', 'count', (f) => f.unsatisfiedFollowUps, '不满意二次回访', 'Unsatisfied follow-ups',
    '因回访中回答“不满意”而安排的二次回访数。',
    'Follow-up calls scheduled because a callback answer was “not satisfied”.'),
  col('flagged', 'count', (f) => f.flagged, '不满意标记', 'Flagged unsatisfied',
    '因“不满意”回答而标记给联动办的指令数。',
    'Orders flagged to the linkage office by a “not satisfied” answer.'),
  col('overdueArrivals', 'count', (f) => f.overdueArrivals, '超时未报到场', 'Overdue arrivals',
    '受理后到场时限已过仍无“已到场”反馈、需督查催办的指令数（时限见 docs/reminders.md）。',
    'Orders whose arrival deadline after acceptance passed without an “arrived” feedback, so a reminder was due (deadlines in docs/reminders.md).'),
  col('overdueCompletions', 'count', (f) => f.overdueCompletions, '超时未报办结', 'Overdue completions',
    '办结时限已过仍无“已办结”反馈的指令数。',
    'Orders whose completion deadline passed without a “completed” feedback.'),
  col('reminderRounds', 'count', (f) => f.reminderRounds, '督办催办次数', 'Reminder rounds',
    '为催报到场或办结而拨打本单位的催办轮次（含向领导升级的一轮；不含向110的求援告警）。',
    'Reminder rounds phoned to the department to chase an arrival or completion report (the escalation to its leader included; help alarms to the 110 centre not).'),
  col('disputesOpen', 'count', (f) => f.disputesOpen, '争议待裁定', 'Disputes open',
    '本单位按3提出、联动办尚未裁定的管辖争议数。',
    'Jurisdiction disputes the department raised (key 3) that the linkage office has not settled yet.'),
  col('disputesUpheld', 'count', (f) => f.disputesUpheld, '争议成立', 'Disputes upheld',
    '本单位提出、经联动办裁定成立的管辖争议数（可改派其他单位，本单位记为先行处置）。',
    'Disputes the department raised that the linkage office upheld (the order may have been reassigned; the department is on record as having helped first).'),
  col('disputesRejected', 'count', (f) => f.disputesRejected, '争议不成立', 'Disputes rejected',
    '本单位提出、经裁定不成立的管辖争议数（仍由本单位负责）。',
    'Disputes the department raised that were rejected (the order stays the department’s).'),
];

export const RANK_DEFINITION: LocalizedText = {
  'zh-CN': '名次：受理率高者在前；相同时未应答少者在前；再相同时受理用时中位数短者在前。完全相同的名次并列。本季度无可计指令（受理与未应答均为0）的单位不排名，列于表末。',
  en: 'Rank: higher acceptance rate first; then fewer unacknowledged orders; then the shorter median time to accept. Equal on all three share a rank. Departments with nothing to rank (no accepted or unacknowledged order) are listed last without a rank.',
};

export const SCOPE_DEFINITION: LocalizedText = {
  'zh-CN': '统计范围：本季度内（北京时间，季度首日00:00至下季度首日00:00）生成的指令，及其后发生的一切（含下季度初的回访）。制表后的回访仍会改变数字，以制表时间为准。',
  en: 'Scope: orders created in the quarter (Shanghai time, 00:00 on its first day to 00:00 on the next quarter’s), with everything that happened to them since (a callback early in the next quarter included). Later callbacks can still change the figures; generatedAt says when they were read.',
};

/** The rank rule when LIANDONG_RANKING_WEIGHTS is set, naming the weights. */
export function weightedRankDefinition(w: RankingWeights, language: Language): string {
  const list = Object.entries(w).filter(([, v]) => v > 0).map(([k, v]) => `${k}=${v}`).join(', ');
  return language === 'en'
    ? `Rank: by weighted score (${list}), the weighted mean of the parts the department has figures for: acceptance = acceptance rate; timeToAccept = 1 − median seconds to accept ÷ 600 (0 from 10 min); arrival = 1 − overdue arrivals ÷ accepted; completion = completion rate; satisfaction = mean of the three satisfaction rates. Equal scores fall back to the default rule.`
    : `名次：按加权得分（${list}）排序，得分为本单位有数据的各项的加权平均：acceptance=受理率；timeToAccept=1−受理用时中位数÷600（10分钟及以上为0）；arrival=1−超时未报到场÷受理；completion=办结率；satisfaction=三项满意率的平均。得分相同时按默认规则。`;
}

/** The definitions for the API: `{key: {label, definition}}` in one language. */
export function definitionsIn(language: Language, weights: RankingWeights | null = null): Record<string, { label: string; definition: string }> {
  const out: Record<string, { label: string; definition: string }> = {
    scope: { label: language === 'en' ? 'Scope' : '统计范围', definition: SCOPE_DEFINITION[language] },
    rank: { label: language === 'en' ? 'Rank' : '名次', definition: weights ? weightedRankDefinition(weights, language) : RANK_DEFINITION[language] },
  };
  for (const c of FIGURE_COLUMNS) out[c.key] = { label: c.label[language], definition: c.definition[language] };
  return out;
}

/** A figure as text: rates as percentages with one decimal, empty (—) when undefined. */
export function formatFigure(value: number | null, format: Format, empty = '—'): string {
  if (value === null) return empty;
  switch (format) {
    case 'rate': return `${(value * 100).toFixed(1)}%`;
    case 'seconds':
    case 'minutes': return value.toFixed(1);
    case 'ratio': return value.toFixed(2);
    case 'count': return String(value);
  }
}
