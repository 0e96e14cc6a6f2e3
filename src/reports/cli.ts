// `liandong report assessment [--quarter 2026Q4] [--csv | --json] [--lang zh-CN|en]`: the
// quarterly assessment read straight from the service's store (LIANDONG_DATABASE_URL: its SQLite
// file, where WAL lets a reader in beside the running service, or its PostgreSQL database).
import fs from 'node:fs';
import { LANGUAGES, type Config, type Language } from '../config.js';
import { openStore } from '../db/store.js';
import { loadCatalog } from '../departments/catalog.js';
import { DepartmentStore } from '../departments/store.js';
import { AssessmentService } from './assessment-service.js';
import { QuarterError } from './quarter.js';

const USAGE = `usage: liandong report assessment [--quarter 2026Q4|2026H2] [--csv | --json] [--lang zh-CN|en]
  the quarterly (or half-yearly, 2026H2) assessment of every member department, ranked (the 110 centre's transmittal);
  --quarter defaults to the current quarter in TZ; text by default, --csv every figure, --json with definitions`;

type Out = (line: string) => void;

interface Options { quarter?: string; format: 'text' | 'csv' | 'json'; language?: Language }

/** Parses the arguments after "report"; a string is the problem to report. */
export function parseReportArgs(args: readonly string[]): Options | string {
  const [sub, ...rest] = args;
  if (sub !== 'assessment') return sub === undefined ? 'missing subcommand' : `unknown report "${sub}"`;
  const options: Options = { format: 'text' };
  for (let i = 0; i < rest.length; i += 1) {
    const arg = rest[i];
    if (arg === '--csv' || arg === '--json') {
      if (options.format !== 'text') return '--csv and --json exclude each other';
      options.format = arg === '--csv' ? 'csv' : 'json';
    } else if (arg === '--quarter' || arg === '--lang') {
      const value = rest[i + 1];
      if (value === undefined || value.startsWith('--')) return `${arg} needs a value`;
      i += 1;
      if (arg === '--quarter') options.quarter = value;
      else if ((LANGUAGES as readonly string[]).includes(value)) options.language = value as Language;
      else return `--lang must be one of ${LANGUAGES.join(', ')}`;
    } else {
      return `unknown option "${arg}"`;
    }
  }
  return options;
}

export async function runReportCli(args: string[], config: Config, out: Out): Promise<number> {
  if (args[0] === 'help' || args[0] === '--help') {
    out(USAGE);
    return 0;
  }
  const options = parseReportArgs(args);
  if (typeof options === 'string') {
    process.stderr.write(`report: ${options}\n${USAGE}\n`);
    return 2;
  }
  const target = config.database;
  // A report never creates the service's SQLite file (opening it would, empty, with the schema).
  if (target.engine === 'sqlite' && target.path !== ':memory:' && !fs.existsSync(target.path)) {
    process.stderr.write(`report: no database at ${target.path}; set LIANDONG_DATABASE_URL (or LIANDONG_DB) to the service's\n`);
    return 1;
  }
  const store = await openStore(target);
  try {
    const reports = new AssessmentService({ store, departments: await DepartmentStore.open(store, loadCatalog()), config });
    const quarter = reports.quarter(options.quarter);
    const language = options.language ?? config.language;
    if (options.format === 'csv') process.stdout.write(await reports.csv(quarter, language));
    else if (options.format === 'json') out(JSON.stringify(await reports.json(quarter, language), null, 2));
    else out(await reports.text(quarter, language));
    return 0;
  } catch (err) {
    if (err instanceof QuarterError) {
      process.stderr.write(`report: ${err.message}\n`);
      return 2;
    }
    throw err;
  } finally {
    await store.close();
  }
}
