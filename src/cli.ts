// `liandong <command>`: the command line for telecom admins, the demo and the linkage office.
import { ConfigError, configFromProcess, type Config, type Profile } from './config.js';

type Out = (line: string) => void;
/** A subcommand: its arguments after the command name → exit code. Loaded only when used. */
type Command = (args: string[], config: Config, out: Out) => Promise<number>;

/** Subcommands, each in its own module; adding one is one line here (and one in USAGE). */
const COMMANDS: Readonly<Record<string, () => Promise<Command>>> = {
  asterisk: () => import('./asterisk/cli.js').then((m) => m.runAsteriskCli),
  demo: () => import('./demo/demo.js').then((m) => (_args: string[], config: Config, out: Out) => m.runDemo(config, out)),
  'demo-cluster': () => import('./demo/cluster-demo.js').then((m) => (_args: string[], config: Config, out: Out) => m.runClusterDemo(config, out)),
  report: () => import('./reports/cli.js').then((m) => m.runReportCli),
  tokens: () => import('./tokens/cli.js').then((m) => m.runTokensCli),
  service: () => import('./service/cli.js').then((m) => m.runServiceCli),
  prompts: () => import('./prompts/cli.js').then((m) => m.runPromptsCli),
  ...Object.fromEntries(['dialplan', 'endpoints', 'test-call', 'policy', 'audit'].map((name) => [name, () => import('./admin/cli.js').then((m) => m.adminCommand(name))])),
};

/**
 * Required settings a command does not use, so it does not demand them. Calls are placed only by
 * the running service (test-call and policy go through its admin API), so no command here needs
 * LIANDONG_DIAL_TEMPLATE; the database tools need no Asterisk credentials either.
 */
const CREDENTIALS = ['ARI_USERNAME', 'ARI_PASSWORD', 'AMI_USERNAME', 'AMI_SECRET'];
const UNUSED_SETTINGS: Readonly<Record<string, readonly string[]>> = {
  audit: ['LIANDONG_DIAL_TEMPLATE', 'LIANDONG_API_TOKENS', ...CREDENTIALS],
  report: ['LIANDONG_DIAL_TEMPLATE', 'LIANDONG_API_TOKENS', ...CREDENTIALS],
  endpoints: ['LIANDONG_DIAL_TEMPLATE', 'LIANDONG_API_TOKENS', 'ARI_USERNAME', 'ARI_PASSWORD'],
  dialplan: ['LIANDONG_DIAL_TEMPLATE', 'LIANDONG_API_TOKENS'],
  'test-call': ['LIANDONG_DIAL_TEMPLATE', ...CREDENTIALS],
  policy: ['LIANDONG_DIAL_TEMPLATE', ...CREDENTIALS],
  // The token file and the prompts folder are all these two read.
  tokens: ['LIANDONG_DIAL_TEMPLATE', 'LIANDONG_API_TOKENS', ...CREDENTIALS],
  prompts: ['LIANDONG_DIAL_TEMPLATE', 'LIANDONG_API_TOKENS', ...CREDENTIALS],
};

const USAGE = `usage: liandong <command>
  asterisk up|down|status|render|cli   run the project's own Asterisk 22 (see 'liandong asterisk help')
  service install [--dir DIR] [--settings FILE] [--user NAME]   write the systemd units and the EnvironmentFile (docs/operations.md)
  demo                                 start Asterisk and the service with simulated phones and show real calls
  demo-cluster                         two cells on PostgreSQL: kill one controller mid-call, watch the other take over
  report assessment --quarter 2026Q4 [--csv]   quarterly assessment of every department, ranked (the 110 centre's transmittal)
  tokens add --role R [--unit U] --person NAME | list | revoke ID   per-person API tokens (the file keeps only hashes)
  prompts list|check                   prompt ids, recorded or TTS, durations; check the site's recordings (docs/recording.md)
  dialplan render|check|reload, endpoints, test-call, policy dry-run, audit   telecom admin tools (each prints its usage; docs/admin.md)
Options: --profile dev|production (default: dev for demo, production otherwise; dev embeds loopback test credentials)`;

async function main(argv: string[]): Promise<number> {
  const profileFlag = argv.indexOf('--profile');
  const args = profileFlag >= 0 ? argv.filter((_, i) => i !== profileFlag && i !== profileFlag + 1) : argv;
  const [command, ...rest] = args;
  const chosen = profileFlag >= 0 ? argv[profileFlag + 1] : undefined;
  if (chosen !== undefined && chosen !== 'dev' && chosen !== 'production') {
    process.stderr.write(`--profile must be dev or production\n`);
    return 2;
  }
  const profile: Profile = (chosen) ?? (command === 'demo' || command === 'demo-cluster' || command === 'asterisk' ? 'dev' : 'production');
  const out = (line: string) => process.stdout.write(`${line}\n`);
  if (command === undefined || command === 'help' || command === '--help') {
    out(USAGE);
    return command === undefined ? 2 : 0;
  }
  let config;
  try {
    config = configFromProcess(profile, {}, UNUSED_SETTINGS[command] ?? []);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const load = COMMANDS[command];
  if (!load) {
    process.stderr.write(`unknown command "${command}"\n${USAGE}\n`);
    return 2;
  }
  return (await load())(rest, config, out);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`liandong: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
