// Persistence of callback surveys (SQLite or PostgreSQL, one query path). An answer is committed
// here before the citizen hears the next question; due times are stored, so a restart loses no
// scheduled call, and a due survey is taken by one conditional UPDATE, so two nodes never both
// call it.
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { unownedUnits } from '../cluster/unowned-units.js';
import { first, rows, run } from '../db/sql.js';
import type { Executor, Store } from '../db/store.js';

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

/** A case event as the hooks see it (structurally the webhooks' CaseEvent). */
export interface SurveyCaseEvent { orderId: string; actor: string; kind: string; detail: Record<string, unknown> }

/** The answer columns, fixed names (an answer's column is never built from input). */
const ANSWER_COLUMN: Readonly<Record<Question, string>> = { attitude: 'attitude', speed: 'speed', quality: 'quality' };

const iso = (ms: number): string => new Date(ms).toISOString();

const getIn = (db: Executor, id: string) => first(db, sql<SurveyRow>`SELECT * FROM surveys WHERE id = ${id}`);

export class SurveyRepository {
  constructor(
    readonly store: Store,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The same repository writing through another view of the store (a cluster node's fenced store
   * of one survey): its writes commit only while the node holds that survey's lease. The hooks
   * are this repository's, read at each call (the composition root sets them after construction).
   */
  withStore(store: Store): SurveyRepository {
    const view = new SurveyRepository(store, this.now);
    view.onAttempt = (e) => this.onAttempt(e);
    view.onEvent = (e, inTx) => this.onEvent(e, inTx);
    return view;
  }

  /** Told of every survey call started and ended (set by the composition root: the metrics, src/metrics/). */
  onAttempt: (e: { phase: 'started' | 'ended'; attemptId: string; script: string; result?: string }) => void = () => undefined;

  /**
   * Called with every case event inside the transaction that appends it, with that transaction's
   * store view, so what it writes (webhook events) commits with the event (see OrderRepository.onEvent).
   */
  onEvent: (e: SurveyCaseEvent, store: Store) => Promise<void> = () => Promise.resolve();

  /** Schedules a survey of this kind for the order once; returns the existing one otherwise. */
  async schedule(orderId: string, kind: SurveyKind, number: string, dueAt: number): Promise<{ row: SurveyRow; created: boolean }> {
    return this.store.transaction(async (tx) => {
      const existing = await first(tx, sql<SurveyRow>`SELECT * FROM surveys WHERE order_id = ${orderId} AND kind = ${kind}`);
      if (existing) return { row: existing, created: false };
      const id = `s${randomBytes(8).toString('hex')}`;
      const at = iso(this.now());
      const optedOut = await this.isOptedOutIn(tx, number);
      await run(tx, sql`INSERT INTO surveys (id, order_id, kind, status, number, due_at, created_at, updated_at, finished_at)
        VALUES (${id}, ${orderId}, ${kind}, ${optedOut ? 'opted_out' : 'scheduled'}, ${number}, ${iso(dueAt)}, ${at}, ${at}, ${optedOut ? at : null})`);
      await this.append(this.store.within(tx), orderId, optedOut ? 'survey_not_scheduled_opted_out' : 'survey_scheduled', { surveyId: id, kind, dueAt: iso(dueAt) });
      return { row: (await getIn(tx, id)) as SurveyRow, created: true };
    });
  }

  get(id: string): Promise<SurveyRow | undefined> {
    return getIn(this.store.db, id);
  }

  forOrder(orderId: string): Promise<SurveyRow[]> {
    return rows(this.store.db, sql<SurveyRow>`SELECT * FROM surveys WHERE order_id = ${orderId} ORDER BY created_at, kind`);
  }

  /**
   * Takes the surveys whose call is due (at most `limit`, earliest first): they become `calling`
   * in one UPDATE that re-checks `status = 'scheduled'` on every row it changes, so of two nodes
   * taking at once each survey goes to exactly one (PostgreSQL re-reads a row another transaction
   * changed; SQLite has one writer). `calling` ones belong to a live call.
   */
  async claimDue(atMs: number, limit: number): Promise<SurveyRow[]> {
    const now = iso(atMs);
    const taken = await this.store.transaction((tx) =>
      rows(tx, sql<SurveyRow>`UPDATE surveys SET status = 'calling', updated_at = ${iso(this.now())}
        WHERE status = 'scheduled' AND due_at <= ${now}
          AND id IN (SELECT id FROM surveys WHERE status = 'scheduled' AND due_at <= ${now} ORDER BY due_at, id LIMIT ${limit})
        RETURNING *`),
    );
    // RETURNING gives no order on either engine.
    return taken.sort((a, b) => a.due_at.localeCompare(b.due_at) || a.id.localeCompare(b.id));
  }

  async nextDueAt(): Promise<number | undefined> {
    const row = await first(this.store.db, sql<{ at: string | null }>`SELECT min(due_at) AS at FROM surveys WHERE status = 'scheduled'`);
    return row?.at ? Date.parse(row.at) : undefined;
  }

  /**
   * A survey taken by claimDue that this node may not call after all (its lease is held
   * elsewhere, or this node stopped renewing): due again at dueAt for whichever node takes it.
   * Only while nobody has started an attempt on it since it was taken.
   */
  async putBack(survey: SurveyRow, dueAt: number): Promise<boolean> {
    return (await this.store.transaction((tx) => run(tx, sql`UPDATE surveys SET status = 'scheduled', due_at = ${iso(dueAt)}, updated_at = ${iso(this.now())}
      WHERE id = ${survey.id} AND status = 'calling' AND attempts = ${survey.attempts}`))) > 0;
  }

  /**
   * Cluster: surveys `calling` since before `beforeMs` whose lease nobody holds: no lease row at
   * all (the node died between claimDue and its claim) or a released one (the same on a retry, or
   * the end of a call could not be recorded). `leased`: 1 when a released row exists.
   */
  callingUnowned(beforeMs: number): Promise<Array<{ id: string; leased: number }>> {
    return unownedUnits(this.store.db, 'surveys', 'calling', 'survey', beforeMs);
  }

  /** Surveys left `calling` by a stopped service. */
  calling(): Promise<SurveyRow[]> {
    return rows(this.store.db, sql<SurveyRow>`SELECT * FROM surveys WHERE status = 'calling' ORDER BY id`);
  }

  /**
   * Records a new attempt on the survey as it was read (`survey`): only if nobody started one
   * since (same attempts count and status), so an inbound call and an outbound one cannot both
   * take it. Returns the attempt id, or undefined when the survey was taken meanwhile.
   * `caller`: on an inbound call, the number that called (kept in full like the feedback line's
   * callers; the case record masks it), so an answer keyed in by someone else is traceable.
   */
  async startAttempt(survey: SurveyRow, via: 'outbound' | 'inbound' = 'outbound', caller?: string): Promise<string | undefined> {
    const attemptId = await this.store.transaction(async (tx) => {
      const seq = survey.attempts + 1;
      const attemptId = `${survey.id}-c${seq}`;
      const at = iso(this.now());
      const changed = await run(tx, sql`UPDATE surveys SET status = 'calling', attempts = ${seq}, updated_at = ${at}
        WHERE id = ${survey.id} AND attempts = ${survey.attempts} AND status = ${survey.status}`);
      if (changed === 0) return undefined;
      await run(tx, sql`INSERT INTO survey_attempts (id, survey_id, seq, started_at, via) VALUES (${attemptId}, ${survey.id}, ${seq}, ${at}, ${via})`);
      await this.append(this.store.within(tx), survey.order_id, 'survey_call_started', { surveyId: survey.id, attemptId, seq, via }, via === 'inbound' ? `phone:${caller || 'unknown'}` : 'liandong');
      return attemptId;
    });
    if (attemptId !== undefined) this.onAttempt({ phase: 'started', attemptId, script: 'survey' });
    return attemptId;
  }

  async markAnswered(attemptId: string, at: number): Promise<void> {
    await this.store.transaction((tx) => run(tx, sql`UPDATE survey_attempts SET answered_at = coalesce(answered_at, ${iso(at)}) WHERE id = ${attemptId}`));
  }

  /** Commits one answer; the column stays as first answered (a resumed call skips it). */
  async commitAnswer(surveyId: string, attemptId: string, question: Question, answer: Answer): Promise<void> {
    const column = sql.raw(ANSWER_COLUMN[question]);
    await this.store.transaction(async (tx) => {
      await run(tx, sql`UPDATE surveys SET ${column} = coalesce(${column}, ${answer}), updated_at = ${iso(this.now())} WHERE id = ${surveyId}`);
      const survey = await getIn(tx, surveyId);
      if (survey) await this.append(this.store.within(tx), survey.order_id, 'survey_answer', { surveyId, attemptId, question, answer });
    });
  }

  async commitOptOut(surveyId: string, attemptId: string): Promise<void> {
    await this.store.transaction(async (tx) => {
      const survey = await getIn(tx, surveyId);
      if (!survey) throw new Error(`survey ${surveyId} does not exist`);
      await run(tx, sql`INSERT INTO survey_opt_outs (number, survey_id, at) VALUES (${survey.number}, ${surveyId}, ${iso(this.now())}) ON CONFLICT (number) DO NOTHING`);
      await this.append(this.store.within(tx), survey.order_id, 'survey_opt_out', { surveyId, attemptId });
    });
  }

  isOptedOut(number: string): Promise<boolean> {
    return this.isOptedOutIn(this.store.db, number);
  }

  private async isOptedOutIn(db: Executor, number: string): Promise<boolean> {
    return (await first(db, sql<{ one: number }>`SELECT 1 AS one FROM survey_opt_outs WHERE number = ${number}`)) !== undefined;
  }

  async endAttempt(attemptId: string, end: { result: string; reason?: string | undefined; answeredAt?: number | undefined; endedAt: number; cause?: { code: number; text: string } | undefined }): Promise<void> {
    const changed = await this.store.transaction((tx) =>
      run(tx, sql`UPDATE survey_attempts SET ended_at = ${iso(end.endedAt)}, result = ${end.result}, reason = ${end.reason ?? null},
        answered_at = coalesce(answered_at, ${end.answeredAt === undefined ? null : iso(end.answeredAt)}), cause_code = ${end.cause?.code ?? null}, cause_text = ${end.cause?.text ?? null}
        WHERE id = ${attemptId} AND ended_at IS NULL`),
    );
    if (changed > 0) this.onAttempt({ phase: 'ended', attemptId, script: 'survey', result: end.result });
  }

  async reschedule(surveyId: string, dueAt: number): Promise<void> {
    await this.store.transaction((tx) => run(tx, sql`UPDATE surveys SET status = 'scheduled', due_at = ${iso(dueAt)}, updated_at = ${iso(this.now())} WHERE id = ${surveyId}`));
  }

  async finish(surveyId: string, disposition: Disposition | 'cancelled'): Promise<void> {
    const at = iso(this.now());
    await this.store.transaction((tx) => run(tx, sql`UPDATE surveys SET status = ${disposition}, finished_at = ${at}, updated_at = ${at} WHERE id = ${surveyId}`));
  }

  /**
   * The survey a citizen calling in answers: the most recent one of their number, or of the
   * order, that is still open (waiting for a retry, given up as unreachable, or left partial).
   */
  openSurvey(by: { number: string } | { orderId: string }): Promise<SurveyRow | undefined> {
    const match = 'number' in by ? sql`number = ${by.number}` : sql`order_id = ${by.orderId}`;
    return first(this.store.db, sql<SurveyRow>`SELECT * FROM surveys WHERE ${match} AND status IN ('scheduled', 'unreachable', 'partial') ORDER BY created_at DESC, id DESC LIMIT 1`);
  }

  attempts(surveyId: string): Promise<SurveyAttemptRow[]> {
    return rows(this.store.db, sql<SurveyAttemptRow>`SELECT * FROM survey_attempts WHERE survey_id = ${surveyId} ORDER BY seq`);
  }

  openAttempts(surveyId: string): Promise<SurveyAttemptRow[]> {
    return rows(this.store.db, sql<SurveyAttemptRow>`SELECT * FROM survey_attempts WHERE survey_id = ${surveyId} AND ended_at IS NULL ORDER BY seq`);
  }

  /** Raises the survey's flag once; true when this call raised it. */
  async flag(orderId: string, surveyId: string, reason: string): Promise<boolean> {
    // One commit: the flag, its case event and the webhook event it raises.
    return this.store.transaction(async (tx) => {
      const changed = await run(tx, sql`INSERT INTO flags (order_id, survey_id, reason, created_at) VALUES (${orderId}, ${surveyId}, ${reason}, ${iso(this.now())}) ON CONFLICT (survey_id) DO NOTHING`);
      if (changed > 0) await this.append(this.store.within(tx), orderId, 'flagged_unsatisfied', { surveyId, reason });
      return changed > 0;
    });
  }

  flags(limit: number, offset: number): Promise<FlagRow[]> {
    return rows(this.store.db, sql<FlagRow>`SELECT * FROM flags ORDER BY created_at DESC, id DESC LIMIT ${limit} OFFSET ${offset}`);
  }

  async event(orderId: string, kind: string, detail: Record<string, unknown>, actor = 'liandong'): Promise<void> {
    await this.store.transaction((tx) => this.append(this.store.within(tx), orderId, kind, detail, actor));
  }

  /** Appends a case event in the transaction `inTx` is the view of, and tells onEvent inside it. */
  private async append(inTx: Store, orderId: string, kind: string, detail: Record<string, unknown>, actor = 'liandong'): Promise<void> {
    await run(inTx.db, sql`INSERT INTO order_events (order_id, at, actor, kind, detail) VALUES (${orderId}, ${iso(this.now())}, ${actor}, ${kind}, ${JSON.stringify(detail)})`);
    await this.onEvent({ orderId, actor, kind, detail }, inTx);
  }
}
