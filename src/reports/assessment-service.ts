// The assessment as the API, the console and the CLI ask for it: which quarter, read the facts,
// do the arithmetic, present it (JSON with definitions, CSV, SVG chart, text transmittal).
import type { Config, Language } from '../config.js';
import type { Db } from '../db/database.js';
import type { DepartmentStore } from '../departments/store.js';
import { assessQuarter, type AssessmentReport } from './assessment.js';
import { assessmentChart, type ChartKind } from './assessment-chart.js';
import { assessmentCsv } from './assessment-csv.js';
import { loadOrderFacts } from './assessment-facts.js';
import { definitionsIn } from './definitions.js';
import { parseQuarter, quarterContaining, type Quarter } from './quarter.js';
import { transmittalText } from './transmittal-text.js';

export interface AssessmentDeps {
  readonly db: Db;
  readonly departments: DepartmentStore;
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

  report(quarter: Quarter): AssessmentReport {
    const catalog = this.deps.departments.current();
    return assessQuarter({
      quarter,
      facts: loadOrderFacts(this.deps.db, quarter.from, quarter.to),
      departments: catalog.departments.map((d) => ({ id: d.id, name: d.name })),
      now: new Date(this.now()),
      weights: this.deps.config.rankingWeights ?? null,
    });
  }

  /** The report with every figure's label and definition beside it. */
  json(quarter: Quarter, language: Language) {
    const report = this.report(quarter);
    return { ...report, language, definitions: definitionsIn(language, report.weights ?? null) };
  }

  csv(quarter: Quarter, language: Language): string {
    return assessmentCsv(this.report(quarter), language);
  }

  chart(quarter: Quarter, kind: ChartKind, language: Language): string {
    return assessmentChart(this.report(quarter), kind, language);
  }

  text(quarter: Quarter, language: Language): string {
    return transmittalText(this.report(quarter), language);
  }
}
