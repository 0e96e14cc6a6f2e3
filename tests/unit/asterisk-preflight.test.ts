import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { asteriskCli } from '../../src/asterisk/index.js';
import type { PortSpec, PortState, Probes } from '../../src/asterisk/preflight.js';
import { checkPort, preflight, requiredPorts, socketInodes } from '../../src/asterisk/preflight.js';
import { freeSystemId, mountsUnder } from '../../src/asterisk/root.js';
import { ProvisionError } from '../../src/asterisk/types.js';
import { loadConfig } from '../../src/config.js';

const dev = loadConfig({}, 'dev');

function probes(over: Partial<Probes> & { taken?: Record<string, string> } = {}): Probes {
  const taken = over.taken ?? {};
  return {
    isRoot: over.isRoot ?? (() => true),
    findExecutable: over.findExecutable ?? ((name) => `/usr/sbin/${name}`),
    checkPort:
      over.checkPort ??
      ((spec: PortSpec): Promise<PortState> => {
        const reason = taken[`${spec.proto}/${spec.port}`];
        return Promise.resolve(reason === undefined ? { free: true } : { free: false, reason });
      }),
  };
}

async function provisionError(p: Promise<unknown>): Promise<ProvisionError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ProvisionError) return err;
    throw err;
  }
  throw new Error('expected a ProvisionError');
}

describe('preflight', () => {
  it('passes when root, tools present and ports free', async () => {
    await expect(preflight(dev, { debootstrap: true, ports: true }, probes())).resolves.toBeUndefined();
  });

  it('refuses a non-root user with a remedy', async () => {
    const err = await provisionError(preflight(dev, { debootstrap: true, ports: true }, probes({ isRoot: () => false })));
    expect(err.message).toMatch(/needs root/);
    expect(err.remedy).toMatch(/sudo/);
  });

  it('names a missing debootstrap and how to install it, only when a build is needed', async () => {
    const noDebootstrap = probes({ findExecutable: (n) => (n === 'debootstrap' ? undefined : `/usr/sbin/${n}`) });
    const err = await provisionError(preflight(dev, { debootstrap: true, ports: false }, noDebootstrap));
    expect(err.message).toContain('debootstrap');
    expect(err.remedy).toContain('apt-get install debootstrap');
    expect(err.remedy).toContain('npm run setup');
    await expect(preflight(dev, { debootstrap: false, ports: false }, noDebootstrap)).resolves.toBeUndefined();
  });

  it('names a missing chroot', async () => {
    const err = await provisionError(preflight(dev, { debootstrap: false, ports: false }, probes({ findExecutable: () => undefined })));
    expect(err.message).toContain('chroot');
    expect(err.remedy).toContain('coreutils');
  });

  it('lists every taken port with its purpose and holder', async () => {
    const err = await provisionError(
      preflight(dev, { debootstrap: false, ports: true }, probes({ taken: { 'tcp/8088': 'in use by pid 42 (nginx)', 'udp/5060': 'in use by pid 7 (baresip)' } })),
    );
    expect(err.message).toContain('TCP 127.0.0.1:8088 for ARI/HTTP (port of ARI_URL): in use by pid 42 (nginx)');
    expect(err.message).toContain('UDP 127.0.0.1:5060 for SIP (SIP_PORT): in use by pid 7 (baresip)');
    expect(err.message).not.toContain('5038');
    expect(err.remedy).toMatch(/SIP_PORT/);
  });

  it('skips the port checks when our Asterisk already runs', async () => {
    const p = probes({ checkPort: () => Promise.reject(new Error('must not be called')) });
    await expect(preflight(dev, { debootstrap: false, ports: false }, p)).resolves.toBeUndefined();
  });

  it('refuses ARI and AMI on the same TCP port', async () => {
    const config = loadConfig({ ARI_URL: 'http://127.0.0.1:5038' }, 'dev');
    const err = await provisionError(preflight(config, { debootstrap: false, ports: true }, probes()));
    expect(err.message).toContain('both use TCP port 5038');
  });

  it('derives the ports from Config', () => {
    const config = loadConfig({ ARI_URL: 'http://127.0.0.1', AMI_PORT: '6000', SIP_PORT: '5070', ASTERISK_BIND: '0.0.0.0' }, 'dev');
    expect(requiredPorts(config).map((s) => `${s.proto} ${s.address}:${s.port}`)).toEqual(['tcp 0.0.0.0:80', 'tcp 0.0.0.0:6000', 'udp 0.0.0.0:5070']);
  });
});

describe('checkPort (real sockets, no root needed)', () => {
  it('reports a listening TCP port as taken, naming this process, and a free one as free', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen({ host: '127.0.0.1', port: 0 }, r));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const state = await checkPort({ proto: 'tcp', address: '127.0.0.1', port, purpose: 'test' });
      expect(state.free).toBe(false);
      if (!state.free) expect(state.reason).toContain(`pid ${process.pid}`);
    } finally {
      await new Promise((r) => server.close(r));
    }
    expect(await checkPort({ proto: 'tcp', address: '127.0.0.1', port, purpose: 'test' })).toEqual({ free: true });
  });

  it('reports an address that is not on this machine', async () => {
    const state = await checkPort({ proto: 'udp', address: '192.0.2.254', port: 5060, purpose: 'test' });
    expect(state).toEqual({ free: false, reason: '192.0.2.254 is not an address of this machine (ASTERISK_BIND)' });
  });
});

describe('/proc parsing', () => {
  it('finds listening TCP sockets and bound UDP sockets by port', () => {
    const tcp = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100007F:1F98 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1 0000000000000000 100 0 0 10 0',
      '   1: 0100007F:1F98 0100007F:D3A2 01 00000000:00000000 00:00000000 00000000     0        0 222 1 0000000000000000 20 4 30 10 -1',
      '   2: 0100007F:13BE 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 333 1 0000000000000000 100 0 0 10 0',
    ].join('\n');
    expect(socketInodes(tcp, 'tcp', 8088)).toEqual(['111']); // the established connection (st 01) is not a listener
    const udp = ['  sl  local_address rem_address   st', '  5: 0100007F:13C4 00000000:0000 07 00000000:00000000 00:00000000 00000000   101        0 444 2'].join('\n');
    expect(socketInodes(udp, 'udp', 5060)).toEqual(['444']);
  });

  it('lists mounts below a directory, deepest first', () => {
    const mountinfo = [
      '22 1 0:21 / /proc rw - proc proc rw',
      '90 1 0:50 / /var/cache/liandong/sid-root.partial/proc rw - proc proc rw',
      '91 90 0:51 / /var/cache/liandong/sid-root.partial/proc/sys/fs/binfmt_misc rw - binfmt_misc none rw',
      '92 1 0:52 / /var/cache/liandong/sid-root.partial2 rw - tmpfs none rw',
    ].join('\n');
    expect(mountsUnder('/var/cache/liandong/sid-root.partial', mountinfo)).toEqual([
      '/var/cache/liandong/sid-root.partial/proc/sys/fs/binfmt_misc',
      '/var/cache/liandong/sid-root.partial/proc',
    ]);
  });
});

describe('asteriskCli', () => {
  it('refuses a command with CR or LF before touching Asterisk', async () => {
    await expect(asteriskCli(dev, 'core show channels\nmodule unload res_ari.so')).rejects.toThrow('must be one line');
    await expect(asteriskCli(dev, 'core stop now\r')).rejects.toThrow('must be one line');
  });
});

describe('freeSystemId', () => {
  it('picks the first id from 500 that no passwd or group entry uses', () => {
    const files: Record<string, string> = {
      '/etc/passwd': 'root:x:0:0::/root:/bin/bash\npostgres:x:101:104::/var/lib/postgresql:/bin/bash\na:x:500:500::/:/bin/false\n',
      '/etc/group': 'b:x:501:\n',
      '/root/etc/passwd': 'c:x:502:502::/:/bin/false\n',
    };
    expect(freeSystemId(Object.keys(files), (f) => files[f] ?? '')).toBe(503);
    expect(freeSystemId(['/missing'], () => { throw new Error('ENOENT'); })).toBe(500);
  });
});
