// A TCP port free on 127.0.0.1 right now, for a child process started next (the cluster demo's
// cells, the test harness's services). Another process may take it in between; callers retry or fail.
import net from 'node:net';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
