// Survey calls under cluster ownership (PostgreSQL, several nodes; docs/cluster.md): each survey
// call is unit `survey:<id>`, claimed right after claimDue took the survey, its writes made through
// that unit's fenced store, released once its result is written. A node that stops renewing loses
// its calls to the node that takes them over; that node hangs up what the dead one left (through
// its Asterisk) and reconciles the survey as a restart would. Single node: none of this is used.
// Claim, takeover and the orphan sweep are shared with reminders (cluster/call-units.ts); putBack
// is the surveys' own.
import { CallUnits, type CallUnitHost } from '../cluster/call-units.js';
import type { WorkOwnership } from '../cluster/ownership.js';
import type { Logger } from '../logging.js';
import type { SurveyRepository, SurveyRow } from './survey-repository.js';

export const SURVEY_UNIT = 'survey';

/**
 * A survey put back because another node holds its lease (finishing its call, or a call-in
 * there) is due again after this, not at once: taking it again right away would only spin.
 */
export const HELD_ELSEWHERE_RETRY_MS = 5_000;

/** What the service does for its units. */
export interface SurveyUnitHost extends CallUnitHost {
  /** Ends the survey's open attempts (hanging each up first through hangUp) and settles it as an interrupted call. */
  recover(repo: SurveyRepository, survey: SurveyRow, hangUp: (channelId: string) => Promise<void>): Promise<void>;
}

export class SurveyUnits extends CallUnits<SurveyRepository> {
  constructor(ownership: WorkOwnership, surveys: SurveyRepository, private readonly host: SurveyUnitHost, logger: Logger) {
    super(ownership, surveys, host, {
      kind: SURVEY_UNIT, component: 'survey', idKey: 'surveyId', listKey: 'surveys',
      takenOver: 'survey taken over and reconciled',
      orphanRecovered: 'survey left calling with a released lease; reconciled',
      orphanFailed: 'could not reconcile an orphaned survey; tried again next sweep',
      orphansOffered: 'surveys left calling without a lease; offered for takeover',
    }, logger);
  }

  /**
   * A survey claimDue took that this node cannot call (claim refused or failed): due again for
   * any node, at once if this node stopped renewing (it takes nothing more), shortly if it is held
   * elsewhere. If even that fails, the orphan sweep finds it `calling` without a holder.
   */
  async putBack(survey: SurveyRow, why: string): Promise<void> {
    const dueAt = Date.now() + (this.ownership.canOriginate() ? HELD_ELSEWHERE_RETRY_MS : 0);
    this.log.warn({ surveyId: survey.id, reason: why, dueAt: new Date(dueAt).toISOString() }, 'survey taken but not claimed here; put back as due');
    await this.repository.putBack(survey, dueAt);
  }

  /** The call is over and its result written (or could not be): another node may claim it later. Never rejects. */
  release(surveyId: string): Promise<void> {
    return this.releaseLease(surveyId);
  }

  /** Not calling: the previous owner wrote the result but died before releasing; nothing to recover. */
  protected override async recoverUnit(repo: SurveyRepository, surveyId: string, hangUp: (channelId: string) => Promise<void>): Promise<void> {
    const survey = await repo.get(surveyId);
    if (survey?.status === 'calling') await this.host.recover(repo, survey, hangUp);
  }

  protected override unowned(beforeMs: number): Promise<Array<{ id: string; leased: number }>> {
    return this.repository.callingUnowned(beforeMs);
  }
}
