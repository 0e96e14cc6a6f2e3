// Checks made before building or starting Asterisk, each failing with a ProvisionError that
// says what to do. The probes are injectable so unit tests need neither root nor free ports.
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import type { Config } from '../config.js';
import { findExecutable } from './exec.js';
import { ariPort } from './render.js';
import { ProvisionError } from './types.js';

export interface PortSpec {
  readonly proto: 'tcp' | 'udp';
  readonly address: string;
  readonly port: number;
  /** What Asterisk serves there, and which setting moves it. */
  readonly purpose: string;
}

/** The probe's verdict on one port. */
export type PortState = { readonly free: true } | { readonly free: false; readonly reason: string };

export interface Probes {
  isRoot(): boolean;
  findExecutable(name: string): string | undefined;
  /** Whether we can bind the port ourselves; when not, who holds it if we can tell. */
  checkPort(spec: PortSpec): Promise<PortState>;
}

export interface PreflightNeeds {
  /** The root is not built yet, so debootstrap is needed. */
  readonly debootstrap: boolean;
  /** Our Asterisk is not running, so its ports must be free. */
  readonly ports: boolean;
}

export function requiredPorts(config: Config): PortSpec[] {
  const a = config.asterisk.bindAddress;
  return [
    { proto: 'tcp', address: a, port: ariPort(config), purpose: 'ARI/HTTP (port of ARI_URL)' },
    { proto: 'tcp', address: a, port: config.ami.port, purpose: 'AMI (AMI_PORT)' },
    { proto: 'udp', address: a, port: config.asterisk.sipPort, purpose: 'SIP (SIP_PORT)' },
  ];
}

/** Throws the first problem found: not root, tools missing, port clash or taken. */
export async function preflight(config: Config, needs: PreflightNeeds, probes: Probes = realProbes): Promise<void> {
  if (!probes.isRoot()) {
    throw new ProvisionError(
      'Running Asterisk in a Debian chroot needs root (debootstrap, chroot, binding its ports).',
      'Run the command as root, e.g. `sudo npm run asterisk:up`, or use Docker: docker-compose.yml.',
    );
  }
  const missing = ['chroot', ...(needs.debootstrap ? ['debootstrap'] : [])].filter((t) => probes.findExecutable(t) === undefined);
  if (missing.length > 0) {
    const pkgs = missing.map((t) => (t === 'chroot' ? 'coreutils' : t));
    throw new ProvisionError(
      `Missing ${missing.join(' and ')}: needed to build and enter the Asterisk root.`,
      `apt-get install ${pkgs.join(' ')}   (or: npm run setup)`,
    );
  }
  if (!needs.ports) return;
  const specs = requiredPorts(config);
  const tcp = specs.filter((s) => s.proto === 'tcp');
  if (tcp.length === 2 && tcp[0]?.port === tcp[1]?.port) {
    throw new ProvisionError(
      `ARI_URL and AMI_PORT both use TCP port ${tcp[0]?.port}.`,
      'Give ARI (ARI_URL, default http://127.0.0.1:8088) and AMI (AMI_PORT, default 5038) different ports.',
    );
  }
  const taken: string[] = [];
  for (const spec of specs) {
    const state = await probes.checkPort(spec);
    if (!state.free) taken.push(`${spec.proto.toUpperCase()} ${hostPort(spec)} for ${spec.purpose}: ${state.reason}`);
  }
  if (taken.length > 0) {
    throw new ProvisionError(
      `Asterisk's ports are not available:\n  - ${taken.join('\n  - ')}`,
      'Stop whatever holds them (e.g. a system Asterisk: `systemctl stop asterisk`), or move liandong\'s Asterisk with ARI_URL, AMI_PORT, SIP_PORT or ASTERISK_BIND.',
    );
  }
}

export function hostPort(spec: Pick<PortSpec, 'address' | 'port'>): string {
  return `${spec.address.includes(':') ? `[${spec.address}]` : spec.address}:${spec.port}`;
}

export const realProbes: Probes = {
  isRoot: () => process.getuid?.() === 0,
  findExecutable,
  checkPort,
};

/** Binds the port briefly; EADDRINUSE means taken, EADDRNOTAVAIL means not our address. */
export async function checkPort(spec: PortSpec): Promise<PortState> {
  const code = await tryBind(spec);
  if (code === undefined) return { free: true };
  if (code === 'EADDRNOTAVAIL') return { free: false, reason: `${spec.address} is not an address of this machine (ASTERISK_BIND)` };
  if (code !== 'EADDRINUSE') return { free: false, reason: `cannot bind (${code})` };
  const owner = findPortOwner(spec.proto, spec.port);
  return { free: false, reason: owner === undefined ? 'in use by another process' : `in use by ${owner}` };
}

function tryBind(spec: PortSpec): Promise<string | undefined> {
  return new Promise((resolve) => {
    if (spec.proto === 'tcp') {
      const server = net.createServer();
      server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? String(err)));
      server.listen({ host: spec.address, port: spec.port, exclusive: true }, () => server.close(() => resolve(undefined)));
    } else {
      const sock = dgram.createSocket(spec.address.includes(':') ? 'udp6' : 'udp4');
      sock.once('error', (err: NodeJS.ErrnoException) => {
        sock.close();
        resolve(err.code ?? String(err));
      });
      sock.bind(spec.port, spec.address, () => sock.close(() => resolve(undefined)));
    }
  });
}

/** Parses /proc/net/{tcp,udp}[6] text: socket inodes bound to `port` (listening, for TCP). */
export function socketInodes(procNetText: string, proto: 'tcp' | 'udp', port: number): string[] {
  const out: string[] = [];
  for (const line of procNetText.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    const local = f[1];
    const state = f[3];
    const inode = f[9];
    if (local === undefined || inode === undefined) continue;
    const localPort = parseInt(local.slice(local.lastIndexOf(':') + 1), 16);
    // TCP 0A = LISTEN; UDP sockets bound to a port show 07 (unconnected).
    if (localPort === port && (proto === 'udp' || state === '0A') && inode !== '0') out.push(inode);
  }
  return out;
}

/** "pid 123 (nginx)" for the process holding the port, when /proc tells us. */
export function findPortOwner(proto: 'tcp' | 'udp', port: number): string | undefined {
  const inodes = new Set<string>();
  for (const file of [`/proc/net/${proto}`, `/proc/net/${proto}6`]) {
    try {
      for (const i of socketInodes(fs.readFileSync(file, 'utf8'), proto, port)) inodes.add(i);
    } catch {
      continue; // no IPv6, or no /proc: fall back to "another process"
    }
  }
  if (inodes.size === 0) return undefined;
  for (const pid of fs.readdirSync('/proc').filter((d) => /^[0-9]+$/.test(d))) {
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // exited meanwhile
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (m?.[1] !== undefined && inodes.has(m[1])) {
        let comm = '?';
        let root = '/';
        try {
          comm = fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
          root = fs.readlinkSync(`/proc/${pid}/root`);
        } catch {
          // keep what we have
        }
        // A chrooted holder is often another liandong checkout's Asterisk: say which root.
        return `pid ${pid} (${comm}${root === '/' ? '' : `, chroot ${root}`})`;
      }
    }
  }
  return undefined;
}
