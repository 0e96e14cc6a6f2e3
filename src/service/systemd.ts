// systemd units for a production host, written by `liandong service install`: liandong's own
// Asterisk (forking: `asterisk up` starts it and returns; systemd follows it by its pid file)
// and the service after it; both restart on failure, log to the journal and read their
// settings from one EnvironmentFile that holds the secrets (mode 0600, root only).
import path from 'node:path';

export interface UnitOptions {
  /** The liandong checkout (its bin/liandong and dist/). */
  readonly appDir: string;
  /** node (20 or later). */
  readonly node: string;
  readonly envFile: string;
  /** LIANDONG_ASTERISK_CACHE: where the pid file of Asterisk is. */
  readonly asteriskCache: string;
  /** Run the service itself as this user (Asterisk's unit needs root: chroot). */
  readonly user?: string | undefined;
}

export const SERVICE_UNIT = 'liandong.service';
export const ASTERISK_UNIT = 'liandong-asterisk.service';

/** systemd parses `\` and `%` in unit files: a path with them is refused rather than escaped. */
export function unitPathProblem(p: string): string | undefined {
  return /^\/[A-Za-z0-9._/-]*$/.test(p) ? undefined : `${p} must be an absolute path of letters, digits and . _ / -`;
}

export function asteriskUnit(o: UnitOptions): string {
  const cli = `${o.node} --import tsx ${path.join(o.appDir, 'src/cli.ts')}`;
  return `# Written by \`liandong service install\`. liandong's own Asterisk 22 (a Debian root run under chroot).
[Unit]
Description=liandong: Asterisk 22 for the 110 social-linkage gateway
Documentation=file:${path.join(o.appDir, 'docs/operations.md')}
After=network-online.target
Wants=network-online.target

[Service]
Type=forking
EnvironmentFile=${o.envFile}
WorkingDirectory=${o.appDir}
# Renders the configs, starts Asterisk detached and returns once ARI answers (the first build of
# the root takes about a minute; from a packed root, seconds).
ExecStart=${cli} asterisk up --profile production
ExecStop=${cli} asterisk down --profile production
PIDFile=${path.join(o.asteriskCache, 'asterisk.pid')}
TimeoutStartSec=20min
Restart=on-failure
RestartSec=5s
StandardOutput=journal
StandardError=journal
SyslogIdentifier=liandong-asterisk

[Install]
WantedBy=multi-user.target
`;
}

export function serviceUnit(o: UnitOptions): string {
  return `# Written by \`liandong service install\`. The liandong service (HTTP API, dispatch, surveys).
[Unit]
Description=liandong: voice gateway of the 110 social-linkage network
Documentation=file:${path.join(o.appDir, 'README.md')}
# After Asterisk; it keeps running (and reconnecting) if Asterisk restarts.
After=network-online.target ${ASTERISK_UNIT}
Wants=network-online.target ${ASTERISK_UNIT}

[Service]
Type=simple
EnvironmentFile=${o.envFile}
WorkingDirectory=${o.appDir}
ExecStart=${o.node} ${path.join(o.appDir, 'dist/src/main.js')}
${o.user ? `User=${o.user}\n` : ''}Restart=on-failure
RestartSec=2s
# SIGTERM: the service closes its calls' bookkeeping and the database (src/main.ts).
KillSignal=SIGTERM
TimeoutStopSec=30s
StandardOutput=journal
StandardError=journal
SyslogIdentifier=liandong
NoNewPrivileges=yes
PrivateTmp=yes

[Install]
WantedBy=multi-user.target
`;
}

/** KEY="value" lines for an EnvironmentFile; backslashes and double quotes escaped. */
export function environmentFile(settings: Readonly<Record<string, string>>): string {
  const lines = Object.entries(settings).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`);
  return `# liandong settings and secrets (README.md, "Configuration"). Mode 0600, owner root.\n${lines.join('\n')}\n`;
}
