// Survey calls under cluster ownership (PostgreSQL, several nodes; docs/cluster.md): each survey
// call is unit `survey:<id>`, claimed right after claimDue took the survey, its writes made through
// that unit's fenced store, released once its result is written. A node that stops renewing loses
// its calls to the node that takes them over; that node hangs up what the dead one left (through
// its Asterisk) and reconciles the survey as a restart would. Single node: none of this is used.
import type { Takeover } from '../cluster/leases.js';
import type { WorkOwnership } from '../cluster/ownership.js';
import type { Store } from '../db/store.js';
import type { Logger } from '../logging.js';
import type { SurveyRepository, SurveyRow } from './survey-repository.js';

export const SURVEY_UNIT = 'survey';

/**
 * A survey `calling` for longer than this without a lease holder is an orphan (its node died
 * between claimDue and the claim): claimDue and the claim are milliseconds apart on a live node.
 */
export const ORPHAN_AFTER_MS = 5_000;

/**
 * A survey put back because another node holds its lease (finishing its call, or a call-in
 * there) is due again after this, not at once: taking it again right away would only spin.
 */
export const HELD_ELSEWHERE_RETRY_MS = 5_000;

/** What the service does for its units. */
export interface SurveyUnitHost {
  /** Ends the survey's open attempts (hanging each up first through hangUp) and settles it as an interrupted call. */
  recover(repo: SurveyRepository, survey: SurveyRow, hangUp: (channelId: string) => Promise<void>): Promise<void>;
  /** Stops the machines of these surveys' live calls here and hangs their channels up, writing nothing more. */
  abandon(ids: readonly string[] | 'all', reason: string): void;
  /** Hangs a channel up on this node's Asterisk (a failure is logged there). */
  hangUpLocal(channelId: string): Promise<void>;
  /** A survey may be due again: re-arm the timer. */
  wake(): void;
}

export class SurveyUnits {
  private readonly log: Logger;

  constructor(
    private readonly ownership: WorkOwnership,
    private readonly surveys: SurveyRepository,
    private readonly host: SurveyUnitHost,
    logger: Logger,
  ) {
    this.log = logger.child({ component: 'survey', nodeId: ownership.nodeId });
  }

  /** Takes part in takeovers and hears of lost units (once, from the service's start). */
  register(): void {
    this.ownership.handle(SURVEY_UNIT, (id, takeover, store) => this.takeOver(id, takeover, store), () => this.orphans());
    this.ownership.onLost(SURVEY_UNIT, (ids, reason) => this.host.abandon(ids, reason));
  }

  canOriginate(): boolean {
    return this.ownership.canOriginate();
  }

  /** The survey's repository on its fenced store, or undefined when this node may not run it now. */
  async claim(surveyId: string): Promise<SurveyRepository | undefined> {
    const store = await this.ownership.claim(SURVEY_UNIT, surveyId);
    return store && this.surveys.withStore(store);
  }

  /**
   * A survey claimDue took that this node cannot call (claim refused or failed): due again for
   * any node, at once if this node stopped renewing (it takes nothing more), shortly if it is held
   * elsewhere. If even that fails, the orphan sweep finds it `calling` without a holder.
   */
  async putBack(survey: SurveyRow, why: string): Promise<void> {
    const dueAt = Date.now() + (this.ownership.canOriginate() ? HELD_ELSEWHERE_RETRY_MS : 0);
    this.log.warn({ surveyId: survey.id, reason: why, dueAt: new Date(dueAt).toISOString() }, 'survey taken but not claimed here; put back as due');
    await this.surveys.putBack(survey, dueAt);
  }

  /** The call is over and its result written (or could not be): another node may claim it later. */
  async release(surveyId: string): Promise<void> {
    try {
      await this.ownership.release(SURVEY_UNIT, surveyId);
    } catch (err) {
      // The lease then expires and is taken over; the handler finds the survey settled and releases it.
      this.log.error({ surveyId, reason: err instanceof Error ? err.message : String(err) }, 'could not release a survey lease');
    }
  }

  /** A survey whose node stopped renewing is ours now: its calls hung up where they live, the survey reconciled, then released. */
  private async takeOver(surveyId: string, takeover: Takeover, store: Store): Promise<void> {
    const repo = this.surveys.withStore(store);
    const hangUp = async (channelId: string) => {
      const r = await this.ownership.hangUpLeft(channelId, takeover);
      if (r.status === 'unreachable') this.log.warn({ surveyId, channelId, from: takeover.previousOwner, reason: r.reason }, 'could not hang up a survey call the previous owner left; its Asterisk is down with it');
    };
    try {
      // Trunk lines it held for the survey: normally the open attempt's channel, hung up once.
      const attempts = new Set((await repo.openAttempts(surveyId)).map((a) => a.id));
      for (const channelId of takeover.channels) if (!attempts.has(channelId)) await hangUp(channelId);
      const survey = await repo.get(surveyId);
      // Not calling: the previous owner wrote the result but died before releasing.
      if (survey?.status === 'calling') await this.host.recover(repo, survey, hangUp);
      this.log.info({ surveyId, from: takeover.previousOwner }, 'survey taken over and reconciled');
    } finally {
      // Also after a failure: a survey left `calling` without a holder is found by the orphan sweep.
      await this.release(surveyId);
      this.host.wake();
    }
  }

  /**
   * Surveys `calling` without a holder for a while. Those without any lease row are returned, so
   * the ownership offers them for takeover; a released row cannot be offered (its epoch must go
   * on), so those are claimed and reconciled here: nobody holds them, so no call of theirs is up
   * anywhere (a released call had ended), and no hang-up is needed beyond this node's own Asterisk.
   */
  private async orphans(): Promise<string[]> {
    const offer: string[] = [];
    let reconciled = false;
    for (const { id, leased } of await this.surveys.callingUnowned(Date.now() - ORPHAN_AFTER_MS)) {
      if (Number(leased) === 0) {
        offer.push(id);
        continue;
      }
      const repo = await this.claim(id);
      if (!repo) continue; // another node got there first
      reconciled = true;
      try {
        const survey = await repo.get(id);
        if (survey?.status === 'calling') await this.host.recover(repo, survey, (c) => this.host.hangUpLocal(c));
        this.log.warn({ surveyId: id }, 'survey left calling with a released lease; reconciled');
      } catch (err) {
        this.log.error({ surveyId: id, reason: err instanceof Error ? err.message : String(err) }, 'could not reconcile an orphaned survey; tried again next sweep');
      } finally {
        await this.release(id);
      }
    }
    if (reconciled) this.host.wake(); // due again now, or later than the timer thought
    if (offer.length > 0) this.log.warn({ surveys: offer }, 'surveys left calling without a lease; offered for takeover');
    return offer;
  }
}
