// The webhook events in the OpenAPI document (its `webhooks` section, OpenAPI 3.1): what a
// subscriber receives, so receivers can be generated from the same document as clients.
import { WEBHOOK_EVENTS } from './events.js';

const header = (name: string, description: string, pattern?: string) => ({ name, in: 'header', required: true, description, schema: { type: 'string', ...(pattern ? { pattern } : {}) } });

export function webhookDocs(): Record<string, unknown> {
  return Object.fromEntries(
    WEBHOOK_EVENTS.map((event) => [
      event,
      {
        post: {
          summary: `${event}: delivered to the global and matching department subscribers (docs/webhooks.md)`,
          parameters: [
            header('X-Liandong-Signature', 'sha256=<hex HMAC-SHA256 of the raw body with LIANDONG_WEBHOOK_SECRET>', '^sha256=[0-9a-f]{64}$'),
            header('X-Liandong-Timestamp', 'Unix seconds of this try, equal to the body\'s sentAt (signed with it); refuse one more than 5 minutes off', '^[0-9]+$'),
            header('X-Liandong-Event', 'the event name'),
            header('X-Liandong-Event-Id', 'the event id: the same on every retry, deduplicate on it'),
            header('X-Liandong-Delivery', 'this subscriber\'s copy'),
          ],
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['id', 'event', 'occurredAt', 'departmentId', 'data', 'deliveryId', 'attempt', 'sentAt'],
                  properties: {
                    id: { type: 'string', pattern: '^ev_[0-9a-f]{24}$' },
                    event: { type: 'string', const: event },
                    occurredAt: { type: 'string', format: 'date-time' },
                    departmentId: { type: ['string', 'null'] },
                    data: { type: 'object', additionalProperties: true, description: 'orderId, code, externalId, category, departmentId, status, urgency, major and the event\'s own fields (docs/webhooks.md)' },
                    deliveryId: { type: 'string' },
                    attempt: { type: 'integer', minimum: 1 },
                    sentAt: { type: 'integer' },
                  },
                },
              },
            },
          },
          responses: { '2XX': { description: 'received; any other answer, or none within the timeout, is retried with backoff' } },
        },
      },
    ]),
  );
}
