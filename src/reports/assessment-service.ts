// The assessment as the API, the console and the CLI ask for it: which quarter, read the facts,
// do the arithmetic, present it (JSON with definitions, CSV, SVG chart, text transmittal).
import type { Config, Language } from '../config.js';
import type { Store } from '../db/store.js';
import type { DepartmentStore } from '../departments/store.js';
import { assessQuarter, type AssessmentReport } from './assessment.js';
import { assessmentChart, type ChartKind } from './assessment-chart.js';
import { assessmentCsv } from './assessment-csv.js';
import { loadOrderFacts } from './assessment-facts.js';
import { definitionsIn } from './definitions.js';
import { parseQuarter, quarterContaining, type Quarter } from './quarter.js';
import { transmittalText } from './transmittal-text.js';

export interface AssessmentDeps {
  readonly store: Store;
  /** Only the catalog as it stands (names, member departments) is read. */
  readonly departments: Pick<DepartmentStore, 'current'>;
  readonly config: Pick<Config, 'timezone' | 'language'> & Partial<Pick<Config, 'rankingWeights'>>;
  readonly now?: () => number;
}

export class AssessmentService {
  private readonly now: () => number;

  constructor(private readonly deps: AssessmentDeps) {
    this.now = deps.now ?? Date.now;
  }

  get defaultLanguage(): Language {
    return this.deps.config.language;
  }

  /** The named quarter ("2026Q4"), or the current one in the service time zone; throws QuarterError. */
  quarter(text?: string): Quarter {
    return text === undefined ? quarterContaining(this.now(), this.deps.config.timezone) : parseQuarter(text, this.deps.config.timezone);
  }

  async report(quarter: Quarter): Promise<AssessmentReport> {
    const facts = await loadOrderFacts(this.deps.store.db, quarter.from, quarter.to);
    const catalog = this.deps.departments.current();
    return assessQuarter({
      quarter,
      facts,
      departments: catalog.departments.map((d) => ({ id: d.id, name: d.name })),
      now: new Date(this.now()),
      weights: this.deps.config.rankingWeights ?? null,
    });
  }

  /** The report with every figure's label and definition beside it. */
  async json(quarter: Quarter, language: Language) {
    const report = await this.report(quarter);
    return { ...report, language, definitions: definitionsIn(language, report.weights ?? null) };
  }

  async csv(quarter: Quarter, language: Language): Promise<string> {
    return assessmentCsv(await this.report(quarter), language);
  }

  async chart(quarter: Quarter, kind: ChartKind, language: Language): Promise<string> {
    return assessmentChart(await this.report(quarter), kind, language);
  }

  async text(quarter: Quarter, language: Language): Promise<string> {
    return transmittalText(await this.report(quarter), language);
  }
}
