// `liandong <command>`: the command line for telecom admins, the demo and the linkage office.
import { runAsteriskCli } from './asterisk/cli.js';
import { ConfigError, configFromProcess, type Profile } from './config.js';
import { runDemo } from './demo/demo.js';

const USAGE = `usage: liandong <command>
  asterisk up|down|status|render|cli   run the project's own Asterisk 22 (see 'liandong asterisk help')
  demo                                 start Asterisk and the service with simulated phones and show real calls
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
  const profile: Profile = (chosen) ?? (command === 'demo' || command === 'asterisk' ? 'dev' : 'production');
  const out = (line: string) => process.stdout.write(`${line}\n`);
  if (command === undefined || command === 'help' || command === '--help') {
    out(USAGE);
    return command === undefined ? 2 : 0;
  }
  let config;
  try {
    config = configFromProcess(profile);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    throw err;
  }
  switch (command) {
    case 'asterisk':
      return runAsteriskCli(rest, config, out);
    case 'demo':
      return runDemo(config, out);
    default:
      process.stderr.write(`unknown command "${command}"\n${USAGE}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`liandong: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
