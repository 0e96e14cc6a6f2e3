// A strict reader of Asterisk's .conf syntax (main/config.c): [sections] with optional
// template markers, `key = value` and `key => value` lines, ';' comments, ;-- block comments --;
// and #include directives. Asterisk itself skips a line it cannot read with a warning and loads
// the rest; `liandong dialplan check` treats every such line as an error instead.

export interface ConfEntry {
  readonly key: string;
  readonly value: string;
  /** `=>` (object/dialplan lines) or `=`. */
  readonly arrow: boolean;
  /** 1-based line in the parsed text. */
  readonly line: number;
}

export interface ConfSection {
  readonly name: string;
  readonly line: number;
  /** `[name](!)`: a template, only inherited from, never an object of its own. */
  readonly isTemplate: boolean;
  /** `[name](a,b)`: templates this section inherits from. */
  readonly inherits: readonly string[];
  readonly entries: readonly ConfEntry[];
}

export interface ConfProblem {
  /** 1-based line in the parsed text. */
  readonly line: number;
  readonly message: string;
}

export interface ParsedConf {
  readonly sections: readonly ConfSection[];
  readonly problems: readonly ConfProblem[];
}

const SECTION_RE = /^\[([^\][]+)\](?:\(([^()]*)\))?$/;
const ENTRY_RE = /^([A-Za-z0-9_.+-]+)\s*(=>|=)\s*(.*)$/;

/** Removes a ';' comment (not a '\;' escape); returns the rest, trimmed. */
export function stripComment(line: string): string {
  let out = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '\\' && line[i + 1] === ';') {
      out += '\\;';
      i += 1;
      continue;
    }
    if (c === ';') break;
    out += c;
  }
  return out.trim();
}

export function parseConf(text: string): ParsedConf {
  const sections: Array<{ name: string; line: number; isTemplate: boolean; inherits: string[]; entries: ConfEntry[] }> = [];
  const problems: ConfProblem[] = [];
  let inBlockComment = false;
  let blockCommentStart = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const n = i + 1;
    let raw = lines[i] ?? '';
    if (inBlockComment) {
      const end = raw.indexOf('--;');
      if (end < 0) continue;
      inBlockComment = false;
      raw = raw.slice(end + 3);
    }
    const open = raw.indexOf(';--');
    if (open >= 0) {
      const close = raw.indexOf('--;', open + 3);
      if (close < 0) {
        inBlockComment = true;
        blockCommentStart = n;
        raw = raw.slice(0, open);
      } else {
        raw = raw.slice(0, open) + raw.slice(close + 3);
      }
    }
    const line = stripComment(raw);
    if (line === '') continue;
    if (line.startsWith('#')) {
      // Rendered files are self-contained: an include would load text no check has seen.
      problems.push({ line: n, message: `directive ${line.split(/\s/)[0]} is not allowed: rendered files must be self-contained (put the text into the template)` });
      continue;
    }
    const head = SECTION_RE.exec(line);
    if (head) {
      const name = (head[1] ?? '').trim();
      const options = (head[2] ?? '').split(',').map((o) => o.trim()).filter((o) => o !== '');
      sections.push({ name, line: n, isTemplate: options.includes('!'), inherits: options.filter((o) => o !== '!' && o !== '+'), entries: [] });
      continue;
    }
    if (line.startsWith('[')) {
      problems.push({ line: n, message: `malformed section header "${line}": expected [name] or [name](template options)` });
      continue;
    }
    const entry = ENTRY_RE.exec(line);
    if (!entry) {
      problems.push({ line: n, message: `cannot read "${line}": expected "key = value", "key => value" or a [section]` });
      continue;
    }
    const current = sections[sections.length - 1];
    if (!current) {
      problems.push({ line: n, message: `"${line}" comes before the first [section]` });
      continue;
    }
    current.entries.push({ key: (entry[1] ?? '').toLowerCase(), value: (entry[3] ?? '').trim(), arrow: entry[2] === '=>', line: n });
  }
  if (inBlockComment) problems.push({ line: blockCommentStart, message: 'block comment ;-- is never closed with --;' });
  return { sections, problems };
}
