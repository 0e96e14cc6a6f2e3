// The quarterly assessment for the linkage office (viewer): JSON with the definition of every
// figure, the ranked transmittal as CSV, and SVG charts for the console. Thin: the arithmetic is
// in src/reports/.
import type { FastifyPluginAsync } from 'fastify';
import type { FeaturePlugin } from '../composition.js';
import { LANGUAGES, type Language } from '../config.js';
import { CHARTS, type ChartKind } from '../reports/assessment-chart.js';
import { AssessmentService } from '../reports/assessment-service.js';
import { QuarterError, type Quarter } from '../reports/quarter.js';
import { HttpError } from './errors.js';
import { assessmentSchema, textResponse } from './response-schemas.js';

const assessmentQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    // Checked by parseQuarter, which says what is wrong ("2026Q4", year 2000-2100).
    quarter: { type: 'string', maxLength: 16 },
    lang: { type: 'string', enum: [...LANGUAGES] },
  },
} as const;
const chartQuery = {
  ...assessmentQuery,
  properties: { ...assessmentQuery.properties, chart: { type: 'string', enum: [...CHARTS] } },
} as const;

type AssessmentQuery = { quarter?: string; lang?: Language };

export const assessmentRoutes: FastifyPluginAsync<{ reports: AssessmentService }> = async (app, { reports }) => {
  const quarterOf = (text: string | undefined): Quarter => {
    try {
      return reports.quarter(text);
    } catch (err) {
      if (err instanceof QuarterError) throw new HttpError(400, 'invalid_quarter', err.message);
      throw err;
    }
  };

  app.get<{ Querystring: AssessmentQuery }>(
    '/api/v1/reports/assessment',
    { onRequest: app.requireRole('viewer'), schema: { querystring: assessmentQuery, response: { 200: assessmentSchema } } },
    async (request) => reports.json(quarterOf(request.query.quarter), request.query.lang ?? reports.defaultLanguage),
  );

  app.get<{ Querystring: AssessmentQuery }>(
    '/api/v1/reports/assessment.csv',
    { onRequest: app.requireRole('viewer'), schema: { querystring: assessmentQuery, response: { 200: textResponse('text/csv', 'the assessment, ranked, UTF-8 with BOM') } } },
    async (request, reply) => {
      const quarter = quarterOf(request.query.quarter);
      void reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="assessment-${quarter.id}.csv"`);
      return reports.csv(quarter, request.query.lang ?? reports.defaultLanguage);
    },
  );

  app.get<{ Querystring: AssessmentQuery & { chart?: ChartKind } }>(
    '/api/v1/reports/assessment.svg',
    { onRequest: app.requireRole('viewer'), schema: { querystring: chartQuery, response: { 200: textResponse('image/svg+xml', 'one chart of the assessment') } } },
    async (request, reply) => {
      const quarter = quarterOf(request.query.quarter);
      void reply.header('content-type', 'image/svg+xml; charset=utf-8');
      return reports.chart(quarter, request.query.chart ?? 'acceptance', request.query.lang ?? reports.defaultLanguage);
    },
  );
  return Promise.resolve();
};

/** The feature plugin registered in src/composition.ts. */
export const reportRoutes: FeaturePlugin = async (app, { core }) => {
  await app.register(assessmentRoutes, { reports: new AssessmentService({ store: core.store, departments: core.departments, config: core.config }) });
};
