// Which addresses our running Asterisk listens on (issue 13, red team: two UDP sockets on the
// wildcard address). Everything liandong configures — ARI/HTTP, AMI, SIP — is bound to
// ASTERISK_BIND. The one exception is pjproject's DNS resolver, which res_pjsip creates at load
// and which binds one IPv4 and one IPv6 UDP socket to the wildcard address on an ephemeral port
// (pjlib-util resolver.c init_sock: "Bind to any address/port", no setting changes it); see
// docs/security.md. This test fails if anything else ever listens on the wildcard address.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { asteriskStatus } from '../../src/asterisk/index.js';
import { testConfig } from './support.js';

interface Socket { proto: 'tcp' | 'udp'; address: string; port: number; state: string }

/** "0D00007F" (little-endian IPv4) or 32 hex digits (IPv6, four little-endian words) → text. */
function decodeAddress(hex: string): string {
  if (hex.length === 8) return (hex.match(/../g) ?? []).reverse().map((b) => parseInt(b, 16)).join('.');
  const words = (hex.match(/.{8}/g) ?? []).map((w) => (w.match(/../g) ?? []).reverse().join(''));
  const groups = words.join('').match(/.{4}/g) ?? [];
  const v6 = groups.map((g) => parseInt(g, 16).toString(16)).join(':');
  return v6 === '0:0:0:0:0:0:0:0' ? '::' : v6;
}

/** The TCP and UDP sockets a process holds, from /proc (no ss/netstat needed). */
function socketsOf(pid: number): Socket[] {
  const inodes = new Set<string>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m?.[1]) inodes.add(m[1]);
    } catch {
      // the descriptor closed between readdir and readlink: it is no socket of interest
    }
  }
  const out: Socket[] = [];
  for (const table of ['tcp', 'tcp6', 'udp', 'udp6'] as const) {
    const lines = fs.readFileSync(`/proc/${pid}/net/${table}`, 'utf8').trim().split('\n').slice(1);
    for (const line of lines) {
      const f = line.trim().split(/\s+/);
      const [addr, port] = (f[1] ?? ':').split(':');
      if (!inodes.has(f[9] ?? '')) continue;
      out.push({ proto: table.startsWith('tcp') ? 'tcp' : 'udp', address: decodeAddress(addr ?? ''), port: parseInt(port ?? '0', 16), state: f[3] ?? '' });
    }
  }
  return out;
}

describe('Asterisk binds to ASTERISK_BIND', () => {
  it('listens on ASTERISK_BIND only, but for the DNS resolver pair of pjproject (one 0.0.0.0 and one :: UDP socket, ephemeral ports)', async () => {
    const config = testConfig();
    const status = await asteriskStatus(config);
    expect(status.running, 'global setup starts our Asterisk').toBe(true);
    const bind = config.asterisk.bindAddress;
    const sockets = socketsOf(status.pid as number);
    // TCP: listening sockets only (state 0A); UDP: every bound socket.
    const listening = sockets.filter((s) => s.proto === 'udp' || s.state === '0A');
    const label = (s: Socket) => `${s.proto} ${s.address}:${s.port}`;
    const ariPort = Number(new URL(config.ari.url).port || 80);
    expect(listening.map(label)).toEqual(expect.arrayContaining([`tcp ${bind}:${ariPort}`, `tcp ${bind}:${config.ami.port}`, `udp ${bind}:${config.asterisk.sipPort}`]));

    const elsewhere = listening.filter((s) => s.address !== bind);
    const [low] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    for (const s of elsewhere) {
      expect(s.proto, label(s)).toBe('udp');
      expect(['0.0.0.0', '::'], label(s)).toContain(s.address);
      expect(s.port, `${label(s)}: an ephemeral port, not a configured one`).toBeGreaterThanOrEqual(low ?? 32768);
    }
    // At most the resolver's pair: one IPv4 and one IPv6 socket.
    expect(elsewhere.filter((s) => s.address === '0.0.0.0').length).toBeLessThanOrEqual(1);
    expect(elsewhere.filter((s) => s.address === '::').length).toBeLessThanOrEqual(1);
  });
});
