// Logging: one pino root logger, child loggers per call (orderId, attemptId, channelId).
// Phone numbers never appear in clear: code logs maskPhone(n), and redaction catches any
// field named like a number or a secret that slips through.
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/** Field paths whose values are replaced by "[redacted]" wherever they appear (depth ≤ 2). */
export const REDACT_PATHS = [
  'number', 'phone', 'reporterPhone', 'callerId', 'token', 'password', 'secret', 'authorization',
  '*.number', '*.phone', '*.reporterPhone', '*.callerId', '*.token', '*.password', '*.secret', '*.authorization',
  'req.headers.authorization', 'headers.authorization',
  // URLs keep their path; the query string (a `?token=`, a number in a filter) is dropped.
  'url', '*.url',
];

/** "/api/v1/orders?token=abc" → "/api/v1/orders?[redacted]": a query string never reaches a log. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : `${url.slice(0, q)}?[redacted]`;
}

function censor(value: unknown, path: string[]): unknown {
  return path[path.length - 1] === 'url' && typeof value === 'string' ? redactUrl(value) : '[redacted]';
}

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACT_PATHS, censor }, base: { service: 'liandong' } }, destination);
}

/** "13812345678" → "138****5678"; short numbers keep only their last two digits. */
export function maskPhone(number: string): string {
  const digits = number.replace(/[^0-9+]/g, '');
  if (digits.length >= 7) return `${digits.slice(0, 3)}****${digits.slice(-4)}`;
  if (digits.length >= 3) return `${'*'.repeat(digits.length - 2)}${digits.slice(-2)}`;
  return '**';
}
