// The one place that reads process.env. Everything is validated here, once, at boot;
// the rest of the code receives a frozen, typed Config and never looks at the environment.
import os from 'node:os';
import path from 'node:path';
import { parseDatabaseUrl, type StoreTarget } from './db/store.js';

export const ROLES = ['desk', 'department', 'admin', 'viewer'] as const;
export type Role = (typeof ROLES)[number];
export const LANGUAGES = ['zh-CN', 'en'] as const;
export type Language = (typeof LANGUAGES)[number];

/** A token from LIANDONG_API_TOKENS: `role:token`, or `department/<unitId>:token` for one unit. */
export interface ApiToken { readonly role: Role; readonly token: string; readonly unitId?: string }

/** `production` demands every secret explicitly; `dev` (demo and tests) embeds loopback defaults. */
export type Profile = 'production' | 'dev';

/** The parts of the weighted ranking score; see docs/reports.md. */
export const RANKING_PARTS = ['acceptance', 'timeToAccept', 'arrival', 'completion', 'satisfaction'] as const;
export type RankingWeights = Readonly<Record<(typeof RANKING_PARTS)[number], number>>;

/** "acceptance=40,completion=20,…": parts not named weigh 0; problems are pushed, null when unset or wrong. */
export function parseRankingWeights(raw: string | undefined, problems: string[]): RankingWeights | null {
  if (raw === undefined || raw.trim() === '') return null;
  const out: Record<string, number> = Object.fromEntries(RANKING_PARTS.map((p) => [p, 0]));
  for (const entry of raw.split(',')) {
    const m = /^\s*([A-Za-z]+)\s*=\s*([0-9]{1,4}(?:\.[0-9]{1,4})?)\s*$/.exec(entry);
    if (!m || !(RANKING_PARTS as readonly string[]).includes(m[1] ?? '')) {
      problems.push(`LIANDONG_RANKING_WEIGHTS must be part=weight pairs separated by commas, parts ${RANKING_PARTS.join(', ')}; got "${entry.slice(0, 40)}"`);
      return null;
    }
    out[m[1] as string] = Number(m[2]);
  }
  if (Object.values(out).every((w) => w === 0)) {
    problems.push('LIANDONG_RANKING_WEIGHTS must give at least one part a weight above 0');
    return null;
  }
  return out as RankingWeights;
}

/**
 * Order machines live at once by default: ~30 MB of RSS at ~30 KB each, and far more calls in
 * hand than a trunk places (at 100 calls/s, 10 s of them waiting for their line).
 */
export const DEFAULT_MAX_LIVE_ORDERS = 1000;

export interface Config {
  readonly profile: Profile;
  readonly http: { readonly host: string; readonly port: number };
  /** LIANDONG_DATABASE_URL (LIANDONG_DB: its older alias, a SQLite path): the store and its engine. */
  readonly database: StoreTarget;
  /**
   * LIANDONG_GROUP_COMMIT_MS: how long the events of calls (started, answered, keys, ended,
   * resume points) are collected before they commit together, ms (0..50; 0: each commits alone).
   * Acceptances, survey answers and feedback never wait: they commit before anyone hears them.
   */
  readonly groupCommitMs: number;
  readonly apiTokens: ReadonlyArray<ApiToken>;
  /** Per-person tokens (hashes only), managed by `liandong tokens`; re-read when it changes. */
  readonly tokensFile: string;
  readonly ari: { readonly url: string; readonly username: string; readonly password: string; readonly app: string };
  readonly ami: { readonly host: string; readonly port: number; readonly username: string; readonly secret: string };
  /** How a contact's number becomes a dial string; `{number}` is replaced by validated digits. */
  readonly dialTemplate: string;
  /** Caller id presented on outbound calls: digits with an optional leading +, or empty. */
  readonly callerId: string;
  readonly timezone: string;
  readonly language: Language;
  /**
   * Rendered prompts. retentionDays: a WAV unused that long is deleted (rendered again on demand);
   * asteriskCacheHours: Asterisk's cached copy of a prompt unused that long is deleted from its
   * media cache; sweepMinutes: time between the two sweeps (media-retention.ts).
   */
  readonly media: { readonly dir: string; readonly baseUrl: string; readonly retentionDays: number; readonly asteriskCacheHours: number; readonly sweepMinutes: number };
  /**
   * Prompts recorded by a person (src/prompts/recordings.ts). recordingsDir: a folder holding
   * <lang>/<prompt id>.wav (undefined: prompts/<lang>/recorded/ of the checkout);
   * recordingMaxSeconds: a longer recording is refused.
   */
  readonly prompts: {
    readonly recordingsDir: string | undefined;
    readonly recordingMaxSeconds: number;
    /** espeak-ng words per minute for duty calls (dispatch, alarm, major, feedback line); undefined: the voice's (zh-CN 185, en 160). */
    readonly ttsRateWpm: number | undefined;
    /** Words per minute for the citizen survey, slower; undefined: zh-CN 150, en 130. */
    readonly ttsSurveyRateWpm: number | undefined;
    /** espeak-ng pitch 0–99; undefined: the voice's (50). */
    readonly ttsPitch: number | undefined;
    /** Silence between the parts of a spoken order (its sentences), in ms, beside the renders' own padding. */
    readonly partPauseMs: number;
  };
  readonly asterisk: {
    /** Folder outside the repo holding the Debian sid root, logs and pid file. */
    readonly cacheDir: string;
    /** Address ARI/HTTP, AMI and SIP bind to inside Asterisk. */
    readonly bindAddress: string;
    readonly sipPort: number;
    /** Whether the sim-phones context is rendered into the dialplan (never in production). */
    readonly simPhones: boolean;
    /** Where the root is built from: a Debian mirror (a local one or snapshot.debian.org on a closed network) and suite. */
    readonly debian: { readonly mirror: string; readonly suite: string };
  };
  /** The three-satisfactions callback survey. Times in seconds; the window in `timezone`. */
  readonly survey: {
    readonly delaySeconds: number;
    readonly window: { readonly from: string; readonly to: string };
    readonly attempts: number;
    readonly retrySeconds: number;
    readonly ringTimeoutSeconds: number;
    readonly keyTimeoutSeconds: number;
    readonly followUpRule: 'any_unsatisfied' | 'quality_unsatisfied' | 'off';
    readonly followUpDelaySeconds: number;
    /** Dialled numbers of the survey line: a citizen calling there without a caller-id match keys the order code (LIANDONG_SURVEY_LINE_NUMBERS). */
    readonly lineNumbers: readonly string[];
  };
  /** Optional URL that receives a POST when an order ends unacknowledged. */
  readonly webhookUrl: string | undefined;
  /**
   * The webhook outbox (src/webhooks/): HMAC-SHA256 secret signing every delivery; per-try
   * timeout; retry backoff doubling from retryFirstSeconds up to retryMaxSeconds between tries,
   * given up retryForSeconds after the event.
   */
  readonly webhook: {
    readonly secret: string | undefined;
    readonly timeoutSeconds: number;
    readonly retryFirstSeconds: number;
    readonly retryMaxSeconds: number;
    readonly retryForSeconds: number;
  };
  /**
   * Outbound trunk pacing, for every call liandong places (dispatch, alarm, leader, survey):
   * call starts per second (spaced evenly) and channels up at once; never exceeded.
   */
  readonly pacing: { readonly callsPerSecond: number; readonly maxChannels: number };
  /**
   * LIANDONG_MAX_LIVE_ORDERS: most order machines (one per unit of an order being dispatched) live
   * at once, ~30 KB RSS each; a unit beyond waits for admission, more urgent first (admission.ts).
   */
  readonly maxLiveOrders: number;
  /** API requests per client (bearer token, else address) per minute; /healthz and /media are exempt. */
  readonly rateLimit: {
    readonly perMinute: number;
    /** Refused tokens per client address per minute; then every token request from it gets 429. */
    readonly authFailuresPerMinute: number;
  };
  /**
   * LIANDONG_RANKING_WEIGHTS: weights of the assessment's weighted ranking (docs/reports.md);
   * null (unset) keeps the default ranking rule (acceptance rate, unacknowledged, time to accept).
   */
  readonly rankingWeights: RankingWeights | null;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /**
   * This controller's place in a cluster (docs/cluster.md). nodeId: LIANDONG_NODE_ID, default
   * host:port. leaseSeconds: how long a node owns a unit of work without renewing (renewed every
   * third of it; a node that could not renew for half of it stops originating).
   */
  readonly cluster: { readonly nodeId: string; readonly leaseSeconds: number };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

/** Loopback defaults used by `npm run demo` and `npm test`; never used by `npm start`. */
export const DEV_DEFAULTS: Readonly<Record<string, string>> = {
  ARI_USERNAME: 'liandong',
  ARI_PASSWORD: 'liandong-dev-ari',
  AMI_USERNAME: 'liandong',
  AMI_SECRET: 'liandong-dev-ami',
  LIANDONG_API_TOKENS: 'desk:dev-desk-token,department:dev-department-token,admin:dev-admin-token,viewer:dev-viewer-token',
  LIANDONG_DIAL_TEMPLATE: 'Local/{number}@sim-phones',
  LIANDONG_CALLER_ID: '110',
  LIANDONG_SIM_PHONES: 'true',
  LIANDONG_WEBHOOK_SECRET: 'liandong-dev-webhook-secret',
};

const PHONE_RE = /^\+?[0-9]{3,20}$/;
const LOOSE_DIGITS_RE = /^\+?[0-9]{1,20}$/;
const CTRL_RE = /[\r\n\0]/;

/**
 * Pure: validate an environment-like map. Collects every problem before failing. `unused` names
 * required settings the caller will not use (a CLI command that places no call needs no
 * LIANDONG_DIAL_TEMPLATE): missing, they are left empty instead of refused; given, they are checked.
 */
export function loadConfig(env: Env, profile: Profile = 'production', unused: readonly string[] = []): Config {
  const src: Env = profile === 'dev' ? { ...DEV_DEFAULTS, ...stripEmpty(env) } : stripEmpty(env);
  const problems: string[] = [];
  const str = (name: string, fallback?: string): string => {
    const v = src[name] ?? fallback;
    if (v === undefined && unused.includes(name)) return '';
    if (v === undefined) {
      problems.push(`${name} is required${profile === 'production' ? ' in production (npm start)' : ''}`);
      return '';
    }
    if (CTRL_RE.test(v)) problems.push(`${name} must not contain line breaks or NUL`);
    return v;
  };
  const port = (name: string, fallback: number): number => {
    const raw = src[name];
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!/^[0-9]+$/.test(raw) || n < 1 || n > 65535) problems.push(`${name} must be a TCP/UDP port 1-65535, got "${raw}"`);
    return n;
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = src[name];
    if (raw === undefined) return fallback;
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    problems.push(`${name} must be true or false, got "${raw}"`);
    return fallback;
  };

  const httpHost = str('LIANDONG_HTTP_HOST', '127.0.0.1');
  const httpPort = port('LIANDONG_HTTP_PORT', 3000);
  // LIANDONG_DATABASE_URL wins; LIANDONG_DB (a SQLite file) stays as its alias.
  const databaseUrl = str('LIANDONG_DATABASE_URL', '') || str('LIANDONG_DB', './data/liandong.db');
  const parsedDatabase = parseDatabaseUrl(databaseUrl);
  if (typeof parsedDatabase === 'string') problems.push(`LIANDONG_DATABASE_URL: ${parsedDatabase}`);
  const database: StoreTarget = typeof parsedDatabase === 'string' ? { engine: 'sqlite', path: ':memory:' } : parsedDatabase;
  const apiTokens = parseTokens(str('LIANDONG_API_TOKENS'), problems);
  const tokensFile = path.resolve(str('LIANDONG_TOKENS_FILE', './data/tokens.json'));

  const ariUrl = str('ARI_URL', 'http://127.0.0.1:8088');
  let parsedAri: URL | undefined;
  try {
    parsedAri = new URL(ariUrl);
    if (!/^https?:$/.test(parsedAri.protocol)) problems.push(`ARI_URL must be http(s)://host:port, got "${ariUrl}"`);
  } catch {
    problems.push(`ARI_URL is not a URL: "${ariUrl}"`);
  }
  const ari = {
    url: ariUrl.replace(/\/+$/, ''),
    username: str('ARI_USERNAME'),
    password: str('ARI_PASSWORD'),
    app: str('ARI_APP', 'liandong'),
  };
  if (ari.app && !/^[A-Za-z0-9_-]{1,64}$/.test(ari.app)) problems.push(`ARI_APP must be letters, digits, _ or -, got "${ari.app}"`);
  const ami = { host: str('AMI_HOST', '127.0.0.1'), port: port('AMI_PORT', 5038), username: str('AMI_USERNAME'), secret: str('AMI_SECRET') };
  for (const [name, v] of [['ARI_USERNAME', ari.username], ['AMI_USERNAME', ami.username]] as const) {
    if (v && !/^[A-Za-z0-9_.-]{1,64}$/.test(v)) problems.push(`${name} must be letters, digits, _ . or -`);
  }
  for (const [name, v] of [['ARI_PASSWORD', ari.password], ['AMI_SECRET', ami.secret]] as const) {
    // These land in ari.conf/manager.conf lines; ';' starts a comment there.
    if (v && (v.length < 8 || /[;\s]/.test(v))) problems.push(`${name} must be at least 8 characters with no spaces or ';'`);
  }

  const dialTemplate = str('LIANDONG_DIAL_TEMPLATE');
  if (dialTemplate && (dialTemplate.split('{number}').length !== 2 || !/^[A-Za-z0-9_/@{}.:-]+$/.test(dialTemplate))) {
    problems.push(`LIANDONG_DIAL_TEMPLATE must contain {number} exactly once and only letters, digits and _ / @ . : -, e.g. PJSIP/{number}@carrier; got "${dialTemplate}"`);
  }
  const callerId = str('LIANDONG_CALLER_ID', '');
  if (callerId && !LOOSE_DIGITS_RE.test(callerId)) problems.push(`LIANDONG_CALLER_ID must be digits with an optional leading +, got "${callerId}"`);

  const timezone = str('TZ', 'Asia/Shanghai');
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone });
  } catch {
    problems.push(`TZ is not an IANA time zone: "${timezone}"`);
  }
  const language = str('LIANDONG_LANG', 'zh-CN') as Language;
  if (!LANGUAGES.includes(language)) problems.push(`LIANDONG_LANG must be one of ${LANGUAGES.join(', ')}, got "${language}"`);

  const mediaDir = path.resolve(str('LIANDONG_MEDIA_DIR', './data/media'));
  const mediaHost = httpHost === '0.0.0.0' || httpHost === '::' ? '127.0.0.1' : httpHost;
  const mediaBaseUrl = str('LIANDONG_MEDIA_BASE_URL', `http://${mediaHost.includes(':') ? `[${mediaHost}]` : mediaHost}:${httpPort}/media`).replace(/\/+$/, '');
  // The service serves prompt audio at /media/<hash>.wav; the URL is how Asterisk reaches it.
  if (!/^https?:\/\/[^\s]+\/media$/.test(mediaBaseUrl)) problems.push(`LIANDONG_MEDIA_BASE_URL must be an http(s) URL ending in /media that Asterisk can fetch, got "${mediaBaseUrl}"`);

  const asterisk = {
    cacheDir: path.resolve(str('LIANDONG_ASTERISK_CACHE', '/var/cache/liandong')),
    bindAddress: str('ASTERISK_BIND', '127.0.0.1'),
    sipPort: port('SIP_PORT', 5060),
    simPhones: bool('LIANDONG_SIM_PHONES', false),
    debian: { mirror: str('LIANDONG_DEBIAN_MIRROR', 'http://deb.debian.org/debian').replace(/\/+$/, ''), suite: str('LIANDONG_DEBIAN_SUITE', 'sid') },
  };
  if (!/^(https?:\/\/|file:\/\/\/)[^\s'"]+$/.test(asterisk.debian.mirror)) problems.push(`LIANDONG_DEBIAN_MIRROR must be an http(s):// or file:/// URL of a Debian archive, got "${asterisk.debian.mirror}"`);
  if (!/^[a-z][a-z0-9.-]{1,30}$/.test(asterisk.debian.suite)) problems.push(`LIANDONG_DEBIAN_SUITE must be a Debian suite or codename (sid, trixie, unstable …), got "${asterisk.debian.suite}"`);
  if (!/^[0-9a-fA-F.:]+$/.test(asterisk.bindAddress)) problems.push(`ASTERISK_BIND must be an IP address, got "${asterisk.bindAddress}"`);
  if (profile === 'production' && asterisk.simPhones) problems.push('LIANDONG_SIM_PHONES must not be enabled in production');

  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = src[name];
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!/^[0-9]+$/.test(raw) || n < min || n > max) problems.push(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
    return n;
  };
  const windowRaw = str('LIANDONG_SURVEY_WINDOW', '08:00-21:00');
  const windowMatch = /^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-3]):([0-5][0-9])$/.exec(windowRaw);
  if (!windowMatch) problems.push(`LIANDONG_SURVEY_WINDOW must be HH:MM-HH:MM (24 h, in TZ), got "${windowRaw}"`);
  const followUpRule = str('LIANDONG_FOLLOWUP_RULE', 'any_unsatisfied') as Config['survey']['followUpRule'];
  if (!['any_unsatisfied', 'quality_unsatisfied', 'off'].includes(followUpRule)) problems.push(`LIANDONG_FOLLOWUP_RULE must be any_unsatisfied, quality_unsatisfied or off, got "${followUpRule}"`);
  const survey = {
    delaySeconds: int('LIANDONG_SURVEY_DELAY_SECONDS', 1800, 0, 30 * 86400),
    window: { from: windowRaw.slice(0, 5), to: windowRaw.slice(6, 11) },
    attempts: int('LIANDONG_SURVEY_ATTEMPTS', 3, 1, 10),
    retrySeconds: int('LIANDONG_SURVEY_RETRY_SECONDS', 3600, 1, 7 * 86400),
    ringTimeoutSeconds: int('LIANDONG_SURVEY_RING_SECONDS', 30, 2, 120),
    keyTimeoutSeconds: int('LIANDONG_SURVEY_KEY_TIMEOUT_SECONDS', 6, 2, 30),
    followUpRule,
    followUpDelaySeconds: int('LIANDONG_FOLLOWUP_DELAY_SECONDS', 86400, 0, 30 * 86400),
    lineNumbers: str('LIANDONG_SURVEY_LINE_NUMBERS', '').split(',').map((n) => n.trim()).filter(Boolean),
  };
  for (const n of survey.lineNumbers) if (!/^\+?[0-9]{3,20}$/.test(n)) problems.push(`LIANDONG_SURVEY_LINE_NUMBERS must be numbers (digits, optional +) separated by commas, got "${n}"`);

  // 20 ms: one commit (one fsync on SQLite) per 20 ms however many calls run, instead of one per
  // event; well under what anyone could notice in the console, and a kill loses at most 20 ms of
  // events, which the restart rebuilds from the attempt rows and Asterisk (docs/operations.md).
  // At most 50: the window is also how stale the store may be for a reader of the events.
  const groupCommitMs = int('LIANDONG_GROUP_COMMIT_MS', 20, 0, 50);
  const pacing = { callsPerSecond: int('LIANDONG_TRUNK_CALLS_PER_SECOND', 10, 1, 1000), maxChannels: int('LIANDONG_TRUNK_CHANNELS', 30, 1, 10_000) };
  // At least 10 (fewer leaves the trunk idle while orders wait in their retry delays); at most
  // 100,000 (~3 GB of machines, the unbounded case this setting is there to prevent).
  const maxLiveOrders = int('LIANDONG_MAX_LIVE_ORDERS', DEFAULT_MAX_LIVE_ORDERS, 10, 100_000);
  const media = {
    dir: mediaDir,
    baseUrl: mediaBaseUrl,
    retentionDays: int('LIANDONG_MEDIA_RETENTION_DAYS', 30, 1, 3650),
    asteriskCacheHours: int('LIANDONG_MEDIA_ASTERISK_CACHE_HOURS', 6, 1, 24 * 365),
    sweepMinutes: int('LIANDONG_MEDIA_SWEEP_MINUTES', 60, 1, 24 * 60),
  };
  const recordingsRaw = str('LIANDONG_RECORDINGS_DIR', '');
  const prompts = {
    recordingsDir: recordingsRaw ? path.resolve(recordingsRaw) : undefined,
    recordingMaxSeconds: int('LIANDONG_RECORDING_MAX_SECONDS', 60, 1, 600),
    ttsRateWpm: src.LIANDONG_TTS_RATE === undefined ? undefined : int('LIANDONG_TTS_RATE', 185, 80, 450),
    ttsSurveyRateWpm: src.LIANDONG_TTS_SURVEY_RATE === undefined ? undefined : int('LIANDONG_TTS_SURVEY_RATE', 150, 80, 450),
    ttsPitch: src.LIANDONG_TTS_PITCH === undefined ? undefined : int('LIANDONG_TTS_PITCH', 50, 0, 99),
    partPauseMs: int('LIANDONG_TTS_PART_PAUSE_MS', 300, 0, 3000),
  };
  const rateLimit = {
    perMinute: int('LIANDONG_API_RATE_LIMIT', 600, 1, 1_000_000),
    authFailuresPerMinute: int('LIANDONG_AUTH_FAILURES_PER_MINUTE', 20, 1, 1_000_000),
  };
  const rankingWeights = parseRankingWeights(src.LIANDONG_RANKING_WEIGHTS, problems);
  const webhookUrl = src.LIANDONG_WEBHOOK_URL;
  if (webhookUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(webhookUrl)) problems.push(`LIANDONG_WEBHOOK_URL must be an http(s) URL, got "${webhookUrl}"`);
  const webhookSecret = src.LIANDONG_WEBHOOK_SECRET;
  if (webhookSecret !== undefined && (webhookSecret.length < 16 || !/^[\x21-\x7e]+$/.test(webhookSecret))) problems.push('LIANDONG_WEBHOOK_SECRET must be at least 16 printable ASCII characters (it is not shown)');
  if (webhookUrl !== undefined && webhookSecret === undefined) problems.push('LIANDONG_WEBHOOK_SECRET is required when LIANDONG_WEBHOOK_URL is set: every delivery is signed');
  const webhook = {
    secret: webhookSecret,
    timeoutSeconds: int('LIANDONG_WEBHOOK_TIMEOUT_SECONDS', 10, 1, 120),
    retryFirstSeconds: int('LIANDONG_WEBHOOK_RETRY_FIRST_SECONDS', 10, 1, 3600),
    retryMaxSeconds: int('LIANDONG_WEBHOOK_RETRY_MAX_SECONDS', 3600, 1, 86_400),
    retryForSeconds: int('LIANDONG_WEBHOOK_RETRY_FOR_SECONDS', 3 * 86_400, 60, 30 * 86_400),
  };
  if (webhook.retryMaxSeconds < webhook.retryFirstSeconds) problems.push('LIANDONG_WEBHOOK_RETRY_MAX_SECONDS must not be below LIANDONG_WEBHOOK_RETRY_FIRST_SECONDS');

  const nodeId = str('LIANDONG_NODE_ID', `${os.hostname()}:${httpPort}`);
  if (!/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/.test(nodeId)) problems.push(`LIANDONG_NODE_ID must be 1-64 letters, digits, '.', '_', ':' or '-', got "${nodeId}"`);
  const cluster = { nodeId, leaseSeconds: int('LIANDONG_LEASE_SECONDS', 6, 2, 120) };

  const logLevel = str('LOG_LEVEL', 'info') as Config['logLevel'];
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) problems.push(`LOG_LEVEL must be a pino level, got "${logLevel}"`);

  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze({
    profile,
    http: { host: httpHost, port: httpPort },
    database,
    groupCommitMs,
    apiTokens,
    tokensFile,
    ari,
    ami,
    dialTemplate,
    callerId,
    timezone,
    language,
    media,
    prompts,
    asterisk,
    survey,
    webhookUrl,
    webhook,
    pacing,
    maxLiveOrders,
    rateLimit,
    rankingWeights,
    logLevel,
    cluster,
  });
}

/**
 * Read process.env once. Profile `dev` is chosen by the demo and test entry points;
 * `overrides` (tests: a scratch database, another HTTP port) win over the environment.
 */
export function configFromProcess(profile: Profile, overrides: Env = {}, unused: readonly string[] = []): Config {
  return loadConfig({ ...process.env, ...overrides }, profile, unused);
}

/** Names of the environment variables the configuration reads (for `liandong service install`'s EnvironmentFile). */
const SETTING_RE = /^(LIANDONG_[A-Z0-9_]+|ARI_(URL|USERNAME|PASSWORD|APP)|AMI_(HOST|PORT|USERNAME|SECRET)|ASTERISK_BIND|SIP_PORT|TZ|LOG_LEVEL)$/;

/** The settings given in this process's environment, by name (values as given, not defaulted). */
export function settingsFromProcess(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => SETTING_RE.test(e[0]) && e[1] !== undefined && e[1] !== '').sort(([a], [b]) => a.localeCompare(b)));
}

/** True when a string may be put into a dial string: digits, an optional leading +, 3 to 20 digits. */
export function isDialableNumber(value: unknown): value is string {
  return typeof value === 'string' && PHONE_RE.test(value);
}

function parseTokens(raw: string, problems: string[]): Config['apiTokens'] {
  if (!raw) return [];
  const out: ApiToken[] = [];
  for (const item of raw.split(',')) {
    const i = item.indexOf(':');
    const head = item.slice(0, i).trim();
    // `department/<unitId>`: a department token that acts for that one unit only.
    const unit = /^department\/([a-z0-9][a-z0-9-]{0,63})$/.exec(head);
    const role = (unit ? 'department' : head) as Role;
    const token = item.slice(i + 1).trim();
    if (i < 1 || !ROLES.includes(role)) {
      problems.push(`LIANDONG_API_TOKENS entries must be role:token with role one of ${ROLES.join(', ')}, or department/<unitId>:token; entry ${out.length + 1} is not (the token itself is not shown)`);
      continue;
    }
    if (token.length < 12 || !/^[\x21-\x7e]+$/.test(token)) {
      problems.push(`LIANDONG_API_TOKENS: the ${role} token must be at least 12 printable ASCII characters`);
      continue;
    }
    out.push(unit?.[1] ? { role, token, unitId: unit[1] } : { role, token });
  }
  if (new Set(out.map((t) => t.token)).size !== out.length) problems.push('LIANDONG_API_TOKENS: a token is listed twice');
  return out;
}

function stripEmpty(env: Env): Env {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') out[k] = v;
  return out;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
