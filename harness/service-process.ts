// The harness the integration tests and the benchmark share (neither imports from the other):
// the production service (src/main.ts) as a real
// child process that can be killed with SIGKILL, with the dev credentials passed in its
// environment (nothing else: secrets come only from config), its log in a file, its database a
// file in tests/artifacts; plain ARI REST to look at Asterisk from outside the service; a
// proxy that can cut the ARI event websocket.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { configFromProcess, DEV_DEFAULTS, type Config } from '../src/config.js';
import { freePort } from '../src/net/free-port.js';

// Exported here as before, for harness users; the one definition lives in src.
export { freePort };

export const ROOT = path.resolve(import.meta.dirname, '..');
export const ARTIFACTS = path.join(ROOT, 'tests/artifacts');
export const TOKENS = { desk: 'Bearer dev-desk-token', admin: 'Bearer dev-admin-token', department: 'Bearer dev-department-token', viewer: 'Bearer dev-viewer-token' } as const;

export interface ServiceProcess {
  readonly name: string;
  readonly url: string;
  readonly dbFile: string;
  readonly logFile: string;
  readonly env: Readonly<Record<string, string>>;
  /** The current child (replaced by `restart`). */
  child: ChildProcess;
  api<T = unknown>(method: 'GET' | 'POST' | 'PUT', url: string, token: string, body?: unknown): Promise<{ status: number; body: T; ms: number }>;
  /** SIGKILL: no shutdown hook runs, as in a crash. */
  kill(): Promise<void>;
  /** Starts the service again on the same database, port, Stasis app and log file. */
  restart(): Promise<void>;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
  /** Removes the database files (the log stays in tests/artifacts). */
  removeDatabase(): void;
}

/** The production profile's environment for a service on the dev Asterisk: credentials as the dev profile renders them. */
export function serviceEnv(name: string, port: number, overrides: Record<string, string> = {}): Record<string, string> {
  // The same Asterisk as the tests' own config (ARI_URL, AMI_* may be set for this machine).
  const dev = configFromProcess('dev');
  return {
    ARI_URL: dev.ari.url,
    AMI_HOST: dev.ami.host,
    AMI_PORT: String(dev.ami.port),
    ARI_USERNAME: DEV_DEFAULTS.ARI_USERNAME as string,
    ARI_PASSWORD: DEV_DEFAULTS.ARI_PASSWORD as string,
    AMI_USERNAME: DEV_DEFAULTS.AMI_USERNAME as string,
    AMI_SECRET: DEV_DEFAULTS.AMI_SECRET as string,
    LIANDONG_API_TOKENS: DEV_DEFAULTS.LIANDONG_API_TOKENS as string,
    // The sim-phones context is already loaded in the running (dev) Asterisk.
    LIANDONG_DIAL_TEMPLATE: 'Local/{number}@sim-phones',
    LIANDONG_SIM_PHONES: 'false',
    LIANDONG_CALLER_ID: '110',
    ARI_APP: `liandong-${name}-${process.pid}`,
    LIANDONG_HTTP_PORT: String(port),
    LIANDONG_DB: path.join(ARTIFACTS, `${name}-${process.pid}.db`),
    LIANDONG_MEDIA_DIR: path.join(ARTIFACTS, 'media'),
    LOG_LEVEL: 'debug',
    ...overrides,
  };
}

/**
 * Starts `node --import tsx src/main.ts` with only `serviceEnv` as its environment and waits
 * until /healthz says 200 (database, ARI and AMI up). `nodeArgs` go to node (the bench's --cpu-prof).
 */
export async function spawnService(name: string, overrides: Record<string, string> = {}, nodeArgs: readonly string[] = []): Promise<ServiceProcess> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const port = await freePort();
  const env = serviceEnv(name, port, overrides);
  const dbFile = env.LIANDONG_DB as string;
  for (const f of [dbFile, `${dbFile}-wal`, `${dbFile}-shm`]) fs.rmSync(f, { force: true });
  const logFile = path.join(ARTIFACTS, `${name}.service.log`);
  fs.writeFileSync(logFile, '');
  const url = `http://127.0.0.1:${port}`;

  const launch = async (): Promise<ChildProcess> => {
    const out = fs.openSync(logFile, 'a');
    const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'src/main.ts'], { cwd: ROOT, env, stdio: ['ignore', out, out] });
    fs.closeSync(out);
    const deadline = Date.now() + 60_000;
    let last = 'no answer';
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`${name}: the service exited with ${child.exitCode}; see ${logFile}`);
      try {
        const res = await fetch(`${url}/healthz`);
        if (res.status === 200) return child;
        last = `${res.status} ${await res.text()}`;
      } catch (err) {
        last = String(err);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill('SIGKILL');
    throw new Error(`${name}: not healthy within 60 s (${last}); see ${logFile}`);
  };

  const exited = (child: ChildProcess) => (child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => child.once('exit', () => r())));

  const service: ServiceProcess = {
    name,
    url,
    dbFile,
    logFile,
    env,
    child: await launch(),
    async api<T>(method: 'GET' | 'POST' | 'PUT', route: string, token: string, body?: unknown) {
      const started = performance.now();
      const res = await fetch(`${url}${route}`, {
        method,
        headers: { authorization: token, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      const ms = performance.now() - started;
      return { status: res.status, body: (text ? JSON.parse(text) : null) as T, ms };
    },
    async kill() {
      service.child.kill('SIGKILL');
      await exited(service.child);
    },
    async restart() {
      service.child = await launch();
    },
    async stop() {
      service.child.kill('SIGTERM');
      await Promise.race([exited(service.child), new Promise((r) => setTimeout(r, 10_000))]);
      if (service.child.exitCode === null && service.child.signalCode === null) await service.kill();
    },
    removeDatabase() {
      for (const f of [dbFile, `${dbFile}-wal`, `${dbFile}-shm`]) fs.rmSync(f, { force: true });
    },
  };
  return service;
}

/** Log lines of a pino JSON log file (lines that are not JSON, e.g. a crash trace, are skipped). */
export function logLines(file: string): Array<Record<string, unknown>> {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}

/** ARI REST straight to Asterisk (not through the service): what really exists there. */
export function ari(config: Pick<Config, 'ari'>) {
  const auth = `Basic ${Buffer.from(`${config.ari.username}:${config.ari.password}`).toString('base64')}`;
  const call = async (method: string, route: string) => {
    const res = await fetch(`${config.ari.url}/ari${route}`, { method, headers: { authorization: auth } });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as unknown) : null };
  };
  return {
    call,
    async channelIds(): Promise<string[]> {
      const res = await call('GET', '/channels');
      if (res.status !== 200) throw new Error(`GET /ari/channels answered ${res.status}`);
      return (res.body as Array<{ id: string }>).map((c) => c.id);
    },
  };
}

/**
 * A TCP proxy in front of Asterisk's HTTP port. `cutEvents(ms)` blackholes the ARI event
 * websocket for that long, as a dead network path does (no FIN, no RST: only the missing pongs
 * tell), and refuses new event websockets meanwhile; REST requests pass untouched.
 */
export class AriProxy {
  private server: net.Server | undefined;
  private readonly eventSockets = new Set<net.Socket>();
  private cutUntil = 0;
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<void> {
    this.server = net.createServer((client) => this.accept(client));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  /** Blackholes the live event websockets now and refuses new ones for `ms`; afterwards the dead ones are closed. */
  cutEvents(ms: number): void {
    this.cutUntil = Date.now() + ms;
    const dead = [...this.eventSockets];
    for (const s of dead) s.pause();
    setTimeout(() => {
      for (const s of dead) s.destroy();
    }, ms).unref();
  }

  async close(): Promise<void> {
    for (const s of this.eventSockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private accept(client: net.Socket): void {
    client.once('data', (first: Buffer) => {
      const isEvents = first.toString('latin1', 0, 200).startsWith('GET /ari/events');
      if (isEvents && Date.now() < this.cutUntil) {
        // A path that is down: the handshake never gets an answer.
        client.pause();
        setTimeout(() => client.destroy(), this.cutUntil - Date.now()).unref();
        return;
      }
      const upstream = net.connect(this.target.port, this.target.host, () => upstream.write(first));
      const forward = (from: net.Socket, to: net.Socket) =>
        from.on('data', (chunk: Buffer) => {
          // While cut, bytes are lost on the way, in both directions.
          if (!(isEvents && Date.now() < this.cutUntil)) to.write(chunk);
        });
      forward(client, upstream);
      forward(upstream, client);
      const end = () => {
        client.destroy();
        upstream.destroy();
        this.eventSockets.delete(client);
      };
      client.on('close', end).on('error', end);
      upstream.on('close', end).on('error', end);
      if (isEvents) this.eventSockets.add(client);
    });
    client.on('error', () => client.destroy());
  }
}

/** Polls `read` every `everyMs` until `done` holds, or throws after `timeoutMs` naming what was seen. */
export async function waitUntil<T>(what: string, read: () => T | Promise<T>, done: (v: T) => boolean, timeoutMs: number, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms; last seen ${JSON.stringify(v)?.slice(0, 400)}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
