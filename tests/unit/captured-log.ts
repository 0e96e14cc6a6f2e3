// A logger whose JSON lines are kept in memory, for the tests that check what a component logs at
// a level — and that a number or a token never appears in it.
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/logging.js';

export interface CapturedLog {
  readonly logger: Logger;
  /** Everything written, as written. */
  text(): string;
  /** Each line, parsed. */
  lines(): Array<Record<string, unknown>>;
  /** Each line's `msg`. */
  messages(): string[];
}

export function capturedLogger(level: string): CapturedLog {
  let out = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      out += chunk.toString();
      done();
    },
  });
  const lines = () => out.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
  return { logger: createLogger(level, sink), text: () => out, lines, messages: () => lines().map((l) => String(l.msg)) };
}
