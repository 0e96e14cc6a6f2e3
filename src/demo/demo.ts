// `npm run demo`: the real thing end to end on this machine — the project's Asterisk 22, the
// service on the dev profile, and simulated phones (dialplans/sim-phones.conf) answering.
import { asteriskUp } from '../asterisk/index.js';
import { createServices, type Services } from '../composition.js';
import type { Config } from '../config.js';
import { createLogger } from '../logging.js';
import type { CallEvent } from '../telephony/port.js';
import { coDispatchOrder } from './co-dispatch-demo.js';
import { dispatchOrder } from './dispatch-demo.js';

type Out = (line: string) => void;

export async function runDemo(config: Config, out: Out): Promise<number> {
  if (!config.asterisk.simPhones) {
    out('The demo dials simulated phones; run it with the dev profile (LIANDONG_SIM_PHONES=true).');
    return 2;
  }
  out('== liandong demo: Asterisk 22 + the service + simulated phones ==');
  const t0 = Date.now();
  const status = await asteriskUp(config, (line) => out(`  [asterisk] ${line}`));
  out(`Asterisk ${status.version ?? ''} ready in ${((Date.now() - t0) / 1000).toFixed(1)} s (pid ${status.pid}; logs ${status.logDir})`);

  const logger = createLogger('warn');
  // The demo calls the citizen back at once whatever the hour; production waits
  // LIANDONG_SURVEY_DELAY_SECONDS and keeps to the calling window (default 08:00-21:00).
  const demoConfig: Config = { ...config, survey: { ...config.survey, delaySeconds: 0, window: { from: '00:00', to: '00:00' } } };
  out(`Callback survey: delay 0 s and calling window open all day for the demo (configured: ${config.survey.window.from}-${config.survey.window.to})`);
  const services = await createServices(demoConfig, { logger });
  try {
    await services.app.listen({ host: config.http.host, port: config.http.port });
    await services.start();
    await services.telephony.waitConnected(20_000);
    const health = await services.app.inject({ method: 'GET', url: '/healthz' });
    out(`Service on http://${config.http.host}:${config.http.port}  GET /healthz → ${health.statusCode} ${health.body}`);
    out('');
    await testCall(services, out);
    out('');
    await dispatchOrder(services, out);
    out('');
    await coDispatchOrder(services, out);
  } finally {
    await services.close();
  }
  out('');
  out('Asterisk keeps running for the next demo or test run; stop it with: npm run asterisk:down');
  return 0;
}

/** One call to the simulated phone 70111 (answers, presses 1 after 1 s), narrated. */
async function testCall(s: Services, out: Out): Promise<void> {
  const number = '70111';
  const channelId = `demo-${Date.now().toString(36)}`;
  const started = Date.now();
  const stamp = (): string => `[${((Date.now() - started) / 1000).toFixed(2).padStart(6)} s]`;
  out(`Call 1: test call to simulated duty phone ${number} (answers, presses 1 after 1 s)`);
  const media = await s.prompts.media('test-call');
  out(`${stamp()} prompt "${s.prompts.text('test-call')}" rendered (${media.length} file, 8 kHz)`);

  const hangup = new Promise<CallEvent>((resolve) => {
    s.telephony.subscribe(channelId, (e) => {
      if (e.type === 'hangup') resolve(e);
    });
  });
  const answered = new Promise<void>((resolve) => {
    s.telephony.subscribe(channelId, (e) => {
      if (e.type === 'answered') resolve();
    });
  });
  await s.telephony.originate({ channelId, number, ringTimeoutSeconds: 20 }, () => undefined);
  out(`${stamp()} originate → channel ${channelId} via ${s.config.dialTemplate.replace('{number}', number)}`);
  await answered;
  out(`${stamp()} answered; playing the prompt (keys interrupt it)`);
  const result = await s.telephony.prompt(channelId, media, { maxDigits: 1, firstDigitTimeoutMs: 5000, interDigitTimeoutMs: 2000 });
  out(`${stamp()} keypad result: ${JSON.stringify(result)}`);
  await s.telephony.hangup(channelId);
  const end = await hangup;
  if (end.type === 'hangup') out(`${stamp()} hangup, cause ${end.cause.code} ${end.cause.text} (${end.cause.kind})`);
}
