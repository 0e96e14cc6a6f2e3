// The quarterly assessment (监督考核) of every member department, and the 110 centre's ranked
// transmittal to the linkage office and the supervision bureau (每季抄告). Pure arithmetic on
// OrderFacts (assessment-facts.ts); every figure is defined in definitions.ts and docs/reports.md.
//
// Which orders count: those created in the quarter (Asia/Shanghai), routed to the department.
// Everything that happened to such an order counts in that quarter, even if it happened later
// (a callback in the first days of the next quarter belongs to the order's quarter), so a report
// on a quarter that just ended can still grow; `generatedAt` says when it was read.
import type { RankingWeights } from '../config.js';
import type { LocalizedText } from '../departments/types.js';
import { QUESTIONS, type Question } from '../survey/survey-repository.js';
import type { DisputeFact, OrderFacts } from './assessment-facts.js';
import type { Quarter } from './quarter.js';
import { median, percentileNearestRank, rate, round } from './stats.js';

export interface QuestionFigures {
  readonly satisfied: number;
  readonly unsatisfied: number;
  /** satisfied ÷ (satisfied + unsatisfied); "no answer" is left out. */
  readonly rate: number | null;
}

/** One department's (or the county's) figures; field meanings in definitions.ts. Rates are fractions 0–1. */
export interface Figures {
  readonly received: number;
  readonly withdrawn: number;
  readonly accepted: number;
  readonly unacknowledged: number;
  readonly pending: number;
  readonly disputed: number;
  readonly acceptanceRate: number | null;
  readonly medianSecondsToAccept: number | null;
  readonly p90SecondsToAccept: number | null;
  readonly attemptsPerAcceptance: number | null;
  readonly escalations: number;
  readonly arrivalsReported: number;
  readonly medianMinutesToArrival: number | null;
  readonly completed: number;
  readonly completionRate: number | null;
  readonly callbacksFinished: number;
  readonly callbacksAnswered: number;
  readonly surveyResponseRate: number | null;
  readonly satisfaction: Readonly<Record<Question, QuestionFigures>>;
  readonly unsatisfiedFollowUps: number;
  readonly flagged: number;
  readonly overdueArrivals: number;
  readonly overdueCompletions: number;
  readonly reminderRounds: number;
  readonly disputesOpen: number;
  readonly disputesUpheld: number;
  readonly disputesRejected: number;
}

export interface DepartmentAssessment extends Figures {
  /** 1 is best; equal keys share a rank (1, 2, 2, 4); null when the department had no answerable order. */
  readonly rank: number | null;
  /** The weighted score (0–1), only when LIANDONG_RANKING_WEIGHTS is set. */
  readonly score?: number | null;
  readonly departmentId: string;
  readonly name: LocalizedText;
}

export interface AssessmentReport {
  readonly quarter: string;
  readonly timezone: string;
  /** ISO UTC, inclusive: local midnight starting the quarter. */
  readonly from: string;
  /** ISO UTC, exclusive. */
  readonly to: string;
  readonly generatedAt: string;
  /** The ranking weights used, when LIANDONG_RANKING_WEIGHTS is set. */
  readonly weights?: RankingWeights;
  /** Ranked departments first (by rank), then those with nothing to rank, in catalog order. */
  readonly departments: readonly DepartmentAssessment[];
  /** The same figures over every order of the quarter. */
  readonly totals: Figures;
}

/** Callback dispositions that are final (scheduled/calling are still under way; cancelled never called). */
const FINISHED_CALLBACKS = new Set(['completed', 'partial', 'unreachable', 'opted_out']);
/** The citizen keyed at least one answer. */
const ANSWERED_CALLBACKS = new Set(['completed', 'partial']);

/** Rounding of the published figures (the arithmetic itself is exact). */
const RATE_DIGITS = 4;
const SECONDS_DIGITS = 1;
const MINUTES_DIGITS = 1;
const ATTEMPTS_DIGITS = 2;

/** Withdrawn by the desk while still being phoned (before the chain ran out): not the department's to answer for. */
export function isWithdrawn(o: OrderFacts): boolean {
  return o.status === 'cancelled' && !o.exhausted && o.acceptance === null;
}

/**
 * The figures of a set of orders (one department's, or all of them). `disputes`: the disputes
 * raised by the department (an upheld one may have moved the order to another unit); all of the
 * orders' disputes by default.
 */
export function figuresOf(orders: readonly OrderFacts[], disputes: readonly DisputeFact[] = orders.flatMap((o) => o.disputes)): Figures {
  const received = orders.filter((o) => !isWithdrawn(o));
  const accepted = received.filter((o) => o.acceptance !== null);
  const pending = received.filter((o) => o.acceptance === null && o.status === 'dispatching');
  const unacknowledged = received.length - accepted.length - pending.length;
  const answerable = accepted.length + unacknowledged;
  const secondsToAccept = accepted.map((o) => o.acceptance?.secondsToAccept ?? 0);
  const arrivals = received.filter((o) => o.arrivedAt !== null).map((o) => (Date.parse(o.arrivedAt as string) - Date.parse(o.createdAt)) / 60_000);
  const completed = received.filter((o) => o.completedAt !== null).length;
  const finished = received.filter((o) => o.callback !== null && FINISHED_CALLBACKS.has(o.callback.status));
  const answered = finished.filter((o) => ANSWERED_CALLBACKS.has(o.callback?.status ?? ''));
  const satisfaction = Object.fromEntries(
    QUESTIONS.map((q) => {
      const satisfied = answered.filter((o) => o.callback?.[q] === 'satisfied').length;
      const unsatisfied = answered.filter((o) => o.callback?.[q] === 'unsatisfied').length;
      return [q, { satisfied, unsatisfied, rate: round(rate(satisfied, satisfied + unsatisfied), RATE_DIGITS) }];
    }),
  ) as Record<Question, QuestionFigures>;
  return {
    received: received.length,
    withdrawn: orders.length - received.length,
    accepted: accepted.length,
    unacknowledged,
    pending: pending.length,
    disputed: accepted.filter((o) => o.acceptance?.disputed === true).length,
    acceptanceRate: round(rate(accepted.length, answerable), RATE_DIGITS),
    medianSecondsToAccept: round(median(secondsToAccept), SECONDS_DIGITS),
    p90SecondsToAccept: round(percentileNearestRank(secondsToAccept, 90), SECONDS_DIGITS),
    attemptsPerAcceptance: round(rate(accepted.reduce((n, o) => n + o.dispatchAttempts, 0), accepted.length), ATTEMPTS_DIGITS),
    escalations: received.filter((o) => o.escalated).length,
    arrivalsReported: arrivals.length,
    medianMinutesToArrival: round(median(arrivals), MINUTES_DIGITS),
    completed,
    completionRate: round(rate(completed, answerable), RATE_DIGITS),
    callbacksFinished: finished.length,
    callbacksAnswered: answered.length,
    surveyResponseRate: round(rate(answered.length, finished.length), RATE_DIGITS),
    satisfaction,
    unsatisfiedFollowUps: received.reduce((n, o) => n + o.followUps, 0),
    flagged: received.filter((o) => o.flags > 0).length,
    overdueArrivals: received.filter((o) => o.overdueArrival).length,
    overdueCompletions: received.filter((o) => o.overdueCompletion).length,
    reminderRounds: received.reduce((n, o) => n + o.reminderRounds, 0),
    disputesOpen: disputes.filter((d) => d.status === 'open').length,
    disputesUpheld: disputes.filter((d) => d.status === 'upheld').length,
    disputesRejected: disputes.filter((d) => d.status === 'rejected').length,
  };
}

/**
 * The ranking of the transmittal: higher acceptance rate first; then fewer unacknowledged
 * orders; then the shorter median time to accept. Negative when a ranks before b.
 */
export function compareForRanking(a: Figures, b: Figures): number {
  return (b.acceptanceRate ?? -1) - (a.acceptanceRate ?? -1)
    || a.unacknowledged - b.unacknowledged
    || (a.medianSecondsToAccept ?? Infinity) - (b.medianSecondsToAccept ?? Infinity)
    || 0;
}

/** Seconds to accept at which the time-to-accept part of the weighted score reaches 0 (10 min). */
export const SLOW_ACCEPT_SECONDS = 600;

/**
 * The weighted score (0–1) of LIANDONG_RANKING_WEIGHTS: the weighted mean of the parts a
 * department has figures for (a part without figures is left out, its weight too). null: no part.
 */
export function weightedScore(f: Figures, w: RankingWeights): number | null {
  const sat = [f.satisfaction.attitude.rate, f.satisfaction.speed.rate, f.satisfaction.quality.rate].filter((x): x is number => x !== null);
  const parts: Array<[number, number | null]> = [
    [w.acceptance, f.acceptanceRate],
    [w.timeToAccept, f.medianSecondsToAccept === null ? null : Math.max(0, 1 - f.medianSecondsToAccept / SLOW_ACCEPT_SECONDS)],
    [w.arrival, f.accepted === 0 ? null : Math.max(0, 1 - f.overdueArrivals / f.accepted)],
    [w.completion, f.completionRate],
    [w.satisfaction, sat.length === 0 ? null : sat.reduce((a, b) => a + b, 0) / sat.length],
  ];
  const used = parts.filter(([weight, value]) => weight > 0 && value !== null) as Array<[number, number]>;
  const total = used.reduce((n, [weight]) => n + weight, 0);
  return total === 0 ? null : round(used.reduce((n, [weight, value]) => n + weight * value, 0) / total, RATE_DIGITS);
}

export interface AssessInput {
  readonly quarter: Quarter;
  /** LIANDONG_RANKING_WEIGHTS; null or absent: the default ranking rule (compareForRanking). */
  readonly weights?: RankingWeights | null;
  readonly facts: readonly OrderFacts[];
  /** Every member department, in catalog order (those with no order are listed too). */
  readonly departments: ReadonlyArray<{ readonly id: string; readonly name: LocalizedText }>;
  readonly now: Date;
}

export function assessQuarter(input: AssessInput): AssessmentReport {
  const byDepartment = new Map<string, OrderFacts[]>();
  for (const d of input.departments) byDepartment.set(d.id, []);
  for (const o of input.facts) {
    const list = byDepartment.get(o.departmentId);
    if (list) list.push(o);
    else byDepartment.set(o.departmentId, [o]); // a department no longer in the catalog still answers for its orders
  }
  const names = new Map(input.departments.map((d) => [d.id, d.name]));
  const allDisputes = input.facts.flatMap((o) => o.disputes);
  const rows = [...byDepartment].map(([departmentId, orders]) => ({
    departmentId,
    name: names.get(departmentId) ?? { 'zh-CN': departmentId, en: departmentId },
    figures: figuresOf(orders, allDisputes.filter((d) => d.departmentId === departmentId)),
  }));
  const weights = input.weights ?? null;
  // Weighted: higher score first, the default rule breaking ties; unweighted: the default rule.
  const compare = weights
    ? (a: Figures, b: Figures) => (weightedScore(b, weights) ?? -1) - (weightedScore(a, weights) ?? -1) || compareForRanking(a, b)
    : compareForRanking;
  const rankable = rows.filter((r) => r.figures.accepted + r.figures.unacknowledged > 0);
  rankable.sort((a, b) => compare(a.figures, b.figures) || a.departmentId.localeCompare(b.departmentId));
  const ranked: DepartmentAssessment[] = [];
  rankable.forEach((r, i) => {
    const previous = ranked[i - 1];
    const tied = previous !== undefined && compare(previous, r.figures) === 0;
    ranked.push({ rank: tied ? previous.rank : i + 1, departmentId: r.departmentId, name: r.name, ...r.figures, ...(weights ? { score: weightedScore(r.figures, weights) } : {}) });
  });
  const unranked = rows.filter((r) => !rankable.includes(r)).map((r) => ({ rank: null, departmentId: r.departmentId, name: r.name, ...r.figures }));
  return {
    quarter: input.quarter.id,
    timezone: input.quarter.timezone,
    from: input.quarter.from,
    to: input.quarter.to,
    generatedAt: input.now.toISOString(),
    ...(weights ? { weights } : {}),
    departments: [...ranked, ...unranked],
    // The county's totals count orders: a co-unit's facts are in its own row only.
    totals: figuresOf(input.facts.filter((o) => o.coUnit !== true)),
  };
}
