// SQLite persistence of callback surveys. An answer is committed here before the citizen hears
// the next question; due times are stored, so a restart loses no scheduled call.
import { randomBytes } from 'node:crypto';
import type { Db } from '../db/database.js';

export type Question = 'attitude' | 'speed' | 'quality';
export const QUESTIONS: readonly Question[] = ['attitude', 'speed', 'quality'];
export type Answer = 'satisfied' | 'unsatisfied' | 'no_answer';
export type SurveyKind = 'callback' | 'follow_up';
export type SurveyStatus = 'scheduled' | 'calling' | 'completed' | 'partial' | 'unreachable' | 'opted_out' | 'cancelled';
export type Disposition = 'completed' | 'partial' | 'unreachable' | 'opted_out';

export interface SurveyRow {
  id: string;
  order_id: string;
  kind: SurveyKind;
  status: SurveyStatus;
  number: string;
  due_at: string;
  attempts: number;
  attitude: Answer | null;
  speed: Answer | null;
  quality: Answer | null;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
}

export interface SurveyAttemptRow {
  id: string;
  survey_id: string;
  seq: number;
  started_at: string;
  answered_at: string | null;
  ended_at: string | null;
  result: string | null;
  reason: string | null;
  cause_code: number | null;
  cause_text: string | null;
  /** outbound: we called; inbound: the citizen called the feedback or survey line. */
  via: 'outbound' | 'inbound';
}

export interface FlagRow { id: number; order_id: string; survey_id: string; reason: string; created_at: string; owner: string | null; status: string; resolution: string | null }

const iso = (ms: number): string => new Date(ms).toISOString();

export class SurveyRepository {
  constructor(
    readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  /** Schedules a survey of this kind for the order once; returns the existing one otherwise. */
  schedule(orderId: string, kind: SurveyKind, number: string, dueAt: number): { row: SurveyRow; created: boolean } {
    return this.db.transaction(() => {
      const existing = this.db.prepare('SELECT * FROM surveys WHERE order_id = ? AND kind = ?').get(orderId, kind) as SurveyRow | undefined;
      if (existing) return { row: existing, created: false };
      const id = `s${randomBytes(8).toString('hex')}`;
      const at = iso(this.now());
      const optedOut = this.isOptedOut(number);
      this.db
        .prepare('INSERT INTO surveys (id, order_id, kind, status, number, due_at, created_at, updated_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .run(id, orderId, kind, optedOut ? 'opted_out' : 'scheduled', number, iso(dueAt), at, at, optedOut ? at : null);
      this.event(orderId, optedOut ? 'survey_not_scheduled_opted_out' : 'survey_scheduled', { surveyId: id, kind, dueAt: iso(dueAt) });
      return { row: this.get(id) as SurveyRow, created: true };
    })();
  }

  get(id: string): SurveyRow | undefined {
    return this.db.prepare('SELECT * FROM surveys WHERE id = ?').get(id) as SurveyRow | undefined;
  }

  forOrder(orderId: string): SurveyRow[] {
    return this.db.prepare('SELECT * FROM surveys WHERE order_id = ? ORDER BY created_at, kind').all(orderId) as SurveyRow[];
  }

  /** Surveys whose call is due; `calling` ones belong to a live call. */
  due(atMs: number, limit: number): SurveyRow[] {
    return this.db.prepare("SELECT * FROM surveys WHERE status = 'scheduled' AND due_at <= ? ORDER BY due_at LIMIT ?").all(iso(atMs), limit) as SurveyRow[];
  }

  nextDueAt(): number | undefined {
    const at = this.db.prepare("SELECT min(due_at) FROM surveys WHERE status = 'scheduled'").pluck().get() as string | null;
    return at ? Date.parse(at) : undefined;
  }

  /** Surveys left `calling` by a stopped service. */
  calling(): SurveyRow[] {
    return this.db.prepare("SELECT * FROM surveys WHERE status = 'calling'").all() as SurveyRow[];
  }

  /** Told of every survey call started and ended (set by the composition root: the metrics, src/metrics/). */
  onAttempt: (e: { phase: 'started' | 'ended'; attemptId: string; script: string; result?: string }) => void = () => undefined;

  /** Marks the survey calling and records the new attempt; returns the attempt id. */
  /**
   * `caller`: on an inbound call, the number that called (kept in full like the feedback line's
   * callers; the case record masks it), so an answer keyed in by someone else is traceable.
   */
  startAttempt(survey: SurveyRow, via: 'outbound' | 'inbound' = 'outbound', caller?: string): string {
    const attemptId = this.db.transaction(() => {
      const seq = survey.attempts + 1;
      const attemptId = `${survey.id}-c${seq}`;
      const at = iso(this.now());
      this.db.prepare("UPDATE surveys SET status = 'calling', attempts = ?, updated_at = ? WHERE id = ?").run(seq, at, survey.id);
      this.db.prepare('INSERT INTO survey_attempts (id, survey_id, seq, started_at, via) VALUES (?, ?, ?, ?, ?)').run(attemptId, survey.id, seq, at, via);
      this.event(survey.order_id, 'survey_call_started', { surveyId: survey.id, attemptId, seq, via }, via === 'inbound' ? `phone:${caller || 'unknown'}` : 'liandong');
      return attemptId;
    })();
    this.onAttempt({ phase: 'started', attemptId, script: 'survey' });
    return attemptId;
  }

  markAnswered(attemptId: string, at: number): void {
    this.db.prepare('UPDATE survey_attempts SET answered_at = coalesce(answered_at, ?) WHERE id = ?').run(iso(at), attemptId);
  }

  /** Commits one answer; the column stays as first answered (a resumed call skips it). */
  commitAnswer(surveyId: string, attemptId: string, question: Question, answer: Answer): void {
    this.db.transaction(() => {
      const column = { attitude: 'attitude', speed: 'speed', quality: 'quality' }[question];
      this.db.prepare(`UPDATE surveys SET ${column} = coalesce(${column}, ?), updated_at = ? WHERE id = ?`).run(answer, iso(this.now()), surveyId);
      const survey = this.get(surveyId);
      if (survey) this.event(survey.order_id, 'survey_answer', { surveyId, attemptId, question, answer });
    })();
  }

  commitOptOut(surveyId: string, attemptId: string): void {
    this.db.transaction(() => {
      const survey = this.get(surveyId);
      if (!survey) throw new Error(`survey ${surveyId} does not exist`);
      this.db.prepare('INSERT INTO survey_opt_outs (number, survey_id, at) VALUES (?, ?, ?) ON CONFLICT (number) DO NOTHING').run(survey.number, surveyId, iso(this.now()));
      this.event(survey.order_id, 'survey_opt_out', { surveyId, attemptId });
    })();
  }

  isOptedOut(number: string): boolean {
    return this.db.prepare('SELECT 1 FROM survey_opt_outs WHERE number = ?').get(number) !== undefined;
  }

  endAttempt(attemptId: string, end: { result: string; reason?: string | undefined; answeredAt?: number | undefined; endedAt: number; cause?: { code: number; text: string } | undefined }): void {
    const info = this.db
      .prepare('UPDATE survey_attempts SET ended_at = ?, result = ?, reason = ?, answered_at = coalesce(answered_at, ?), cause_code = ?, cause_text = ? WHERE id = ? AND ended_at IS NULL')
      .run(iso(end.endedAt), end.result, end.reason ?? null, end.answeredAt === undefined ? null : iso(end.answeredAt), end.cause?.code ?? null, end.cause?.text ?? null, attemptId);
    if (info.changes > 0) this.onAttempt({ phase: 'ended', attemptId, script: 'survey', result: end.result });
  }

  reschedule(surveyId: string, dueAt: number): void {
    this.db.prepare("UPDATE surveys SET status = 'scheduled', due_at = ?, updated_at = ? WHERE id = ?").run(iso(dueAt), iso(this.now()), surveyId);
  }

  finish(surveyId: string, disposition: Disposition | 'cancelled'): void {
    const at = iso(this.now());
    this.db.prepare('UPDATE surveys SET status = ?, finished_at = ?, updated_at = ? WHERE id = ?').run(disposition, at, at, surveyId);
  }

  /**
   * The survey a citizen calling in answers: the most recent one of their number, or of the
   * order, that is still open (waiting for a retry, given up as unreachable, or left partial).
   */
  openSurvey(by: { number: string } | { orderId: string }): SurveyRow | undefined {
    const [column, value] = 'number' in by ? ['number', by.number] : ['order_id', by.orderId];
    return this.db
      .prepare(`SELECT * FROM surveys WHERE ${column} = ? AND status IN ('scheduled', 'unreachable', 'partial') ORDER BY created_at DESC, id DESC LIMIT 1`)
      .get(value) as SurveyRow | undefined;
  }

  attempts(surveyId: string): SurveyAttemptRow[] {
    return this.db.prepare('SELECT * FROM survey_attempts WHERE survey_id = ? ORDER BY seq').all(surveyId) as SurveyAttemptRow[];
  }

  openAttempts(surveyId: string): SurveyAttemptRow[] {
    return this.db.prepare('SELECT * FROM survey_attempts WHERE survey_id = ? AND ended_at IS NULL').all(surveyId) as SurveyAttemptRow[];
  }

  flag(orderId: string, surveyId: string, reason: string): boolean {
    // One commit: the flag, its case event and the webhook event it raises.
    return this.db.transaction(() => {
      const info = this.db.prepare('INSERT INTO flags (order_id, survey_id, reason, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (survey_id) DO NOTHING').run(orderId, surveyId, reason, iso(this.now()));
      if (info.changes > 0) this.event(orderId, 'flagged_unsatisfied', { surveyId, reason });
      return info.changes > 0;
    })();
  }

  flags(limit: number, offset: number): FlagRow[] {
    return this.db.prepare('SELECT * FROM flags ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?').all(limit, offset) as FlagRow[];
  }

  /** Called with every case event inside the transaction that appends it (see OrderRepository.onEvent). */
  onEvent: (e: { orderId: string; actor: string; kind: string; detail: Record<string, unknown> }) => void = () => undefined;

  event(orderId: string, kind: string, detail: Record<string, unknown>, actor = 'liandong'): void {
    this.db.transaction(() => {
      this.db.prepare('INSERT INTO order_events (order_id, at, actor, kind, detail) VALUES (?, ?, ?, ?, ?)').run(orderId, iso(this.now()), actor, kind, JSON.stringify(detail));
      this.onEvent({ orderId, actor, kind, detail });
    })();
  }
}
