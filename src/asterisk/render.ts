// Renders Asterisk's configuration from the templates in dialplans/ and the Config.
// The same function feeds the chroot (`liandong asterisk up`) and Docker
// (`liandong asterisk render --out docker/asterisk-etc`), so both run identical configs.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config.js';

/** Files written to /etc/asterisk, in this order. Each has a template of the same name. */
export const CONFIG_FILES = [
  'asterisk.conf',
  'modules.conf',
  'logger.conf',
  'http.conf',
  'ari.conf',
  'manager.conf',
  'pjsip.conf',
  'rtp.conf',
  'extensions.conf',
] as const;

/** Appended to extensions.conf only when config.asterisk.simPhones is true. */
export const SIM_PHONES_TEMPLATE = 'sim-phones.conf';

const PLACEHOLDER_RE = /\{\{([^{}]*)\}\}/g;
const NAME_RE = /^[a-z][a-z0-9_]*$/;
const CONTROL_RE = /[\r\n\0]/;

/** Locates dialplans/ from src/asterisk (tsx) or dist/src/asterisk (built), whichever runs. */
export function templatesDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'dialplans');
    if (fs.existsSync(path.join(candidate, 'modules.conf'))) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('dialplans/ (the Asterisk templates) not found above ' + path.dirname(fileURLToPath(import.meta.url)));
    dir = parent;
  }
}

/** Reads every template named in CONFIG_FILES plus sim-phones.conf. */
export function loadTemplates(dir: string = templatesDir()): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of [...CONFIG_FILES, SIM_PHONES_TEMPLATE]) {
    out.set(name, fs.readFileSync(path.join(dir, name), 'utf8'));
  }
  return out;
}

/** The placeholder values, all from Config. Throws when ARI_URL has no usable port. */
export function templateValues(config: Config): Record<string, string> {
  const bind = config.asterisk.bindAddress;
  return {
    bind_address: bind,
    http_port: String(ariPort(config)),
    ari_username: config.ari.username,
    ari_password: config.ari.password,
    ari_app: config.ari.app,
    ami_port: String(config.ami.port),
    ami_username: config.ami.username,
    ami_secret: config.ami.secret,
    // pjsip wants address:port, with brackets around an IPv6 address.
    sip_bind: `${bind.includes(':') ? `[${bind}]` : bind}:${config.asterisk.sipPort}`,
  };
}

/** The TCP port of ARI_URL (80/443 when the URL names none). */
export function ariPort(config: Config): number {
  const url = new URL(config.ari.url);
  if (url.port) return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

/**
 * Pure substitution of `{{name}}` placeholders. Throws, naming the file and placeholder, on a
 * malformed or unknown placeholder, on an empty value, and on a value with CR, LF or NUL
 * (it would inject extra lines - sections, users - into the config file).
 */
export function renderTemplate(file: string, template: string, values: Readonly<Record<string, string | undefined>>): string {
  return template.replace(PLACEHOLDER_RE, (_match, raw: string) => {
    const name = raw.trim();
    if (!NAME_RE.test(name)) throw new Error(`${file}: malformed placeholder {{${raw}}}`);
    if (!Object.prototype.hasOwnProperty.call(values, name)) throw new Error(`${file}: unknown placeholder {{${name}}}`);
    const value = values[name];
    if (value === undefined || value === '') throw new Error(`${file}: placeholder {{${name}}} has no value`);
    if (CONTROL_RE.test(value)) throw new Error(`${file}: the value of {{${name}}} contains a line break or NUL`);
    return value;
  });
}

/** filename -> content for /etc/asterisk, from the given templates (default: dialplans/). */
export function renderAsteriskConfigs(config: Config, templates: ReadonlyMap<string, string> = loadTemplates()): Map<string, string> {
  const values = templateValues(config);
  const get = (name: string): string => {
    const t = templates.get(name);
    if (t === undefined) throw new Error(`${name}: template missing from dialplans/`);
    return t;
  };
  const out = new Map<string, string>();
  for (const name of CONFIG_FILES) {
    let text = renderTemplate(name, get(name), values);
    if (name === 'extensions.conf' && config.asterisk.simPhones) {
      text = `${text.replace(/\n*$/, '\n')}\n${renderTemplate(SIM_PHONES_TEMPLATE, get(SIM_PHONES_TEMPLATE), values)}`;
    }
    out.set(name, text);
  }
  return out;
}
