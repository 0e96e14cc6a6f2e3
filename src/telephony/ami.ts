// Admin actions over the Asterisk Manager Interface (command, reload, endpoint status) with
// `asterisk-manager`. AMI is a line protocol: a CR or LF inside any value would start a new
// header or action, so every value is checked before anything is sent.
import AsteriskManager from 'asterisk-manager';
import type { Logger } from '../logging.js';

export class AmiValueError extends Error {
  constructor(readonly field: string) {
    super(`AMI value for "${field}" contains a line break or NUL; refused`);
    this.name = 'AmiValueError';
  }
}

export type AmiAction = Readonly<Record<string, string>>;
export type AmiResponse = Readonly<Record<string, unknown>>;

/** Throws AmiValueError if any key or value could inject AMI headers or actions. */
export function assertAmiSafe(action: AmiAction): void {
  for (const [key, value] of Object.entries(action)) {
    if (/[\r\n\0]/.test(key) || !/^[A-Za-z0-9_-]+$/.test(key)) throw new AmiValueError(key.replace(/[\r\n\0]/g, '?'));
    if (typeof value !== 'string' || /[\r\n\0]/.test(value)) throw new AmiValueError(key);
  }
}

export interface AmiOptions {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly secret: string;
  readonly logger: Logger;
  /** How long one action may take, ms. */
  readonly actionTimeoutMs?: number;
}

interface ManagerHandle {
  action(req: Record<string, string>, cb: (err: unknown, res: AmiResponse) => void): void;
  on(event: string, cb: (...args: unknown[]) => void): void;
  disconnect(): void;
  isConnected(): boolean;
}

/**
 * One AMI connection, opened on first use and re-opened after it drops (admin actions are
 * rare; a new login costs a few ms). The library's own keepConnected logs to stdout and backs
 * off by 10 s more at each try, so we do not use it.
 */
export class AmiClient {
  private manager: ManagerHandle | undefined;
  private readonly log: Logger;

  constructor(private readonly opts: AmiOptions) {
    this.log = opts.logger.child({ component: 'ami' });
  }

  async action(action: AmiAction): Promise<AmiResponse> {
    assertAmiSafe(action);
    const manager = this.connection();
    const timeoutMs = this.opts.actionTimeoutMs ?? 5_000;
    return new Promise<AmiResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.reset();
        reject(new Error(`AMI ${action.Action ?? action.action ?? 'action'} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      manager.action({ ...action }, (err, res) => {
        clearTimeout(timer);
        if (err) reject(new Error(`AMI ${action.Action ?? 'action'} failed: ${describeAmi(err)}`));
        else resolve(res);
      });
    });
  }

  /** Runs a CLI command; returns its output text. */
  async command(command: string): Promise<string> {
    const res = await this.action({ Action: 'Command', Command: command });
    const output = res.output ?? res.content ?? '';
    if (Array.isArray(output)) return output.map(String).join('\n');
    return typeof output === 'string' ? output : JSON.stringify(output);
  }

  async reload(module?: string): Promise<void> {
    await this.action(module ? { Action: 'Reload', Module: module } : { Action: 'Reload' });
  }

  /** True if the manager answers a Ping. */
  async ping(): Promise<boolean> {
    try {
      const res = await this.action({ Action: 'Ping' });
      return typeof res.response === 'string' && res.response.toLowerCase() === 'success';
    } catch (err) {
      this.log.debug({ err: describeAmi(err) }, 'AMI ping failed');
      return false;
    }
  }

  close(): void {
    this.reset();
  }

  private connection(): ManagerHandle {
    if (this.manager?.isConnected()) return this.manager;
    this.reset();
    const m = new AsteriskManager(this.opts.port, this.opts.host, this.opts.username, this.opts.secret, false) as ManagerHandle;
    // asterisk-manager logs in with `event: off`, a header Asterisk does not know (it is
    // `Events`): every call's events would stream in and be parsed for nothing. Held until the
    // login succeeds, then sent first.
    m.action({ action: 'Events', eventmask: 'off' }, () => undefined);
    m.on('error', (err) => this.log.debug({ err: describeAmi(err) }, 'AMI socket error'));
    m.on('close', () => {
      if (this.manager === m) this.manager = undefined;
    });
    this.manager = m;
    return m;
  }

  private reset(): void {
    const m = this.manager;
    this.manager = undefined;
    if (m) m.disconnect();
  }
}

function describeAmi(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (err && typeof err === 'object' && 'message' in err) return String((err).message);
  return JSON.stringify(err) ?? 'unknown';
}
