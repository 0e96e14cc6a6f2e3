import { describe, expect, it } from 'vitest';
import { ConfigError, isDialableNumber, loadConfig } from '../../src/config.js';

const PROD_MIN = {
  ARI_USERNAME: 'liandong',
  ARI_PASSWORD: 'a-long-secret',
  AMI_USERNAME: 'liandong',
  AMI_SECRET: 'another-secret',
  LIANDONG_API_TOKENS: 'desk:desk-token-123456,admin:admin-token-123456',
  LIANDONG_DIAL_TEMPLATE: 'PJSIP/{number}@carrier',
};

function problemsOf(env: Record<string, string>, profile: 'production' | 'dev' = 'production'): string[] {
  try {
    loadConfig(env, profile);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('loadConfig', () => {
  it('gives the documented defaults in production when secrets are set', () => {
    const c = loadConfig(PROD_MIN);
    expect(c.http).toEqual({ host: '127.0.0.1', port: 3000 });
    expect(c.ari.url).toBe('http://127.0.0.1:8088');
    expect(c.ari.app).toBe('liandong');
    expect(c.ami).toMatchObject({ host: '127.0.0.1', port: 5038 });
    expect(c.timezone).toBe('Asia/Shanghai');
    expect(c.language).toBe('zh-CN');
    expect(c.asterisk.bindAddress).toBe('127.0.0.1');
    expect(c.asterisk.simPhones).toBe(false);
    expect(c.media.baseUrl).toBe('http://127.0.0.1:3000/media');
    expect(c.media).toMatchObject({ retentionDays: 30, asteriskCacheHours: 6, sweepMinutes: 60 });
    expect(c.survey).toEqual({
      delaySeconds: 1800, window: { from: '08:00', to: '21:00' }, attempts: 3, retrySeconds: 3600,
      ringTimeoutSeconds: 30, keyTimeoutSeconds: 6, followUpRule: 'any_unsatisfied', followUpDelaySeconds: 86400, lineNumbers: [],
    });
    expect(c.apiTokens).toEqual([
      { role: 'desk', token: 'desk-token-123456' },
      { role: 'admin', token: 'admin-token-123456' },
    ]);
    expect(Object.isFrozen(c.ari)).toBe(true);
  });

  it('refuses to start production without secrets, naming every missing one', () => {
    const problems = problemsOf({});
    for (const name of ['ARI_USERNAME', 'ARI_PASSWORD', 'AMI_USERNAME', 'AMI_SECRET', 'LIANDONG_API_TOKENS', 'LIANDONG_DIAL_TEMPLATE']) {
      expect(problems.some((p) => p.startsWith(name))).toBe(true);
    }
  });

  it('dev profile embeds loopback defaults with simulated phones', () => {
    const c = loadConfig({}, 'dev');
    expect(c.dialTemplate).toBe('Local/{number}@sim-phones');
    expect(c.asterisk.simPhones).toBe(true);
    expect(c.apiTokens.map((t) => t.role).sort()).toEqual(['admin', 'department', 'desk', 'viewer']);
  });

  it.each([
    ['LIANDONG_HTTP_PORT', '70000', 'LIANDONG_HTTP_PORT must be a TCP/UDP port'],
    ['LIANDONG_HTTP_PORT', '30a', 'LIANDONG_HTTP_PORT must be a TCP/UDP port'],
    ['ARI_URL', 'not a url', 'ARI_URL is not a URL'],
    ['ARI_URL', 'ftp://x:1', 'ARI_URL must be http(s)'],
    ['ARI_APP', 'bad app', 'ARI_APP must be'],
    ['ARI_PASSWORD', 'short', 'ARI_PASSWORD must be at least 8'],
    ['AMI_SECRET', 'has;semicolon', 'AMI_SECRET must be at least 8'],
    ['LIANDONG_DIAL_TEMPLATE', 'PJSIP/carrier', 'LIANDONG_DIAL_TEMPLATE must contain {number}'],
    ['LIANDONG_DIAL_TEMPLATE', 'PJSIP/{number}@c&Local/1', 'LIANDONG_DIAL_TEMPLATE must contain {number}'],
    ['LIANDONG_CALLER_ID', '110;x', 'LIANDONG_CALLER_ID must be digits'],
    ['TZ', 'Mars/Olympus', 'TZ is not an IANA time zone'],
    ['LIANDONG_LANG', 'fr', 'LIANDONG_LANG must be one of'],
    ['LIANDONG_MEDIA_BASE_URL', 'http://10.0.0.1:3000/audio', 'LIANDONG_MEDIA_BASE_URL must be an http(s) URL ending in /media'],
    ['LIANDONG_MEDIA_RETENTION_DAYS', '0', 'LIANDONG_MEDIA_RETENTION_DAYS must be a whole number from 1 to 3650'],
    ['LIANDONG_MEDIA_ASTERISK_CACHE_HOURS', '6h', 'LIANDONG_MEDIA_ASTERISK_CACHE_HOURS must be a whole number'],
    ['LIANDONG_MEDIA_SWEEP_MINUTES', '-5', 'LIANDONG_MEDIA_SWEEP_MINUTES must be a whole number from 1 to 1440'],
    ['LIANDONG_API_TOKENS', 'boss:abcdefghijklmn', 'LIANDONG_API_TOKENS entries must be role:token'],
    ['LIANDONG_API_TOKENS', 'desk:short', 'the desk token must be at least 12'],
    ['ASTERISK_BIND', 'example.org', 'ASTERISK_BIND must be an IP'],
    ['LIANDONG_SIM_PHONES', 'maybe', 'LIANDONG_SIM_PHONES must be true or false'],
    ['LOG_LEVEL', 'loud', 'LOG_LEVEL must be a pino level'],
    ['LIANDONG_SURVEY_WINDOW', '8-21', 'LIANDONG_SURVEY_WINDOW must be HH:MM-HH:MM'],
    ['LIANDONG_SURVEY_WINDOW', '08:00-24:00', 'LIANDONG_SURVEY_WINDOW must be HH:MM-HH:MM'],
    ['LIANDONG_SURVEY_ATTEMPTS', '0', 'LIANDONG_SURVEY_ATTEMPTS must be a whole number from 1 to 10'],
    ['LIANDONG_SURVEY_DELAY_SECONDS', '-5', 'LIANDONG_SURVEY_DELAY_SECONDS must be a whole number'],
    ['LIANDONG_FOLLOWUP_RULE', 'always', 'LIANDONG_FOLLOWUP_RULE must be'],
    ['LIANDONG_GROUP_COMMIT_MS', '51', 'LIANDONG_GROUP_COMMIT_MS must be a whole number from 0 to 50'],
    ['LIANDONG_GROUP_COMMIT_MS', '2.5', 'LIANDONG_GROUP_COMMIT_MS must be a whole number from 0 to 50'],
    ['ARI_USERNAME', 'a\nb', 'ARI_USERNAME must not contain line breaks'],
  ])('%s=%j is refused with a clear message', (name, value, message) => {
    const problems = problemsOf({ ...PROD_MIN, [name]: value });
    expect(problems.join('\n')).toContain(message);
  });

  it('never echoes a token in its error message', () => {
    const problems = problemsOf({ ...PROD_MIN, LIANDONG_API_TOKENS: 'supersecrettoken-without-role' });
    expect(problems.join('\n')).not.toContain('supersecret');
  });

  it('commits the calls\' events in 20 ms groups by default; 0 commits each alone', () => {
    expect(loadConfig(PROD_MIN).groupCommitMs).toBe(20);
    expect(loadConfig({ ...PROD_MIN, LIANDONG_GROUP_COMMIT_MS: '0' }).groupCommitMs).toBe(0);
    expect(loadConfig({ ...PROD_MIN, LIANDONG_GROUP_COMMIT_MS: '50' }).groupCommitMs).toBe(50);
  });

  it('paces the trunk and limits the API by default, and takes other limits within bounds', () => {
    expect(loadConfig(PROD_MIN)).toMatchObject({ pacing: { callsPerSecond: 10, maxChannels: 30 }, rateLimit: { perMinute: 600 } });
    const c = loadConfig({ ...PROD_MIN, LIANDONG_TRUNK_CALLS_PER_SECOND: '50', LIANDONG_TRUNK_CHANNELS: '200', LIANDONG_API_RATE_LIMIT: '6000' });
    expect(c).toMatchObject({ pacing: { callsPerSecond: 50, maxChannels: 200 }, rateLimit: { perMinute: 6000 } });
    expect(problemsOf({ ...PROD_MIN, LIANDONG_TRUNK_CALLS_PER_SECOND: '0' }).join('\n')).toContain('LIANDONG_TRUNK_CALLS_PER_SECOND must be a whole number from 1 to 1000');
    expect(problemsOf({ ...PROD_MIN, LIANDONG_TRUNK_CHANNELS: '2.5' }).join('\n')).toContain('LIANDONG_TRUNK_CHANNELS must be a whole number from 1 to 10000');
    expect(problemsOf({ ...PROD_MIN, LIANDONG_API_RATE_LIMIT: 'lots' }).join('\n')).toContain('LIANDONG_API_RATE_LIMIT must be a whole number');
  });

  it('limits the order machines live at once to 1000 by default, and takes another limit from 10 to 100000', () => {
    expect(loadConfig(PROD_MIN).maxLiveOrders).toBe(1000);
    expect(loadConfig({ ...PROD_MIN, LIANDONG_MAX_LIVE_ORDERS: '250' }).maxLiveOrders).toBe(250);
    expect(problemsOf({ ...PROD_MIN, LIANDONG_MAX_LIVE_ORDERS: '9' }).join('\n')).toContain('LIANDONG_MAX_LIVE_ORDERS must be a whole number from 10 to 100000');
    expect(problemsOf({ ...PROD_MIN, LIANDONG_MAX_LIVE_ORDERS: '100001' }).join('\n')).toContain('LIANDONG_MAX_LIVE_ORDERS must be a whole number from 10 to 100000');
    expect(problemsOf({ ...PROD_MIN, LIANDONG_MAX_LIVE_ORDERS: 'all' }).join('\n')).toContain('LIANDONG_MAX_LIVE_ORDERS must be a whole number');
  });

  it('refuses simulated phones in production', () => {
    expect(problemsOf({ ...PROD_MIN, LIANDONG_SIM_PHONES: 'true' })).toContain('LIANDONG_SIM_PHONES must not be enabled in production');
  });
});

describe('isDialableNumber', () => {
  it.each(['110', '+8613812345678', '057712345678'])('accepts %s', (n) => expect(isDialableNumber(n)).toBe(true));
  it.each(['12', '1'.repeat(21), '138&1', '138@x', '138/1', '138,1', '138;1', '138\r\n1', '１３８１２３４', '+', '++123', ' 1234', 1234, null])(
    'refuses %j',
    (n) => expect(isDialableNumber(n)).toBe(false),
  );
});
