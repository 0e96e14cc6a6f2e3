// `npm start`: the production service. Configuration comes only from the environment and is
// checked before anything else happens; a bad value stops the process with the reason.
import { ConfigError, configFromProcess } from './config.js';
import { createServices } from './composition.js';

async function main(): Promise<void> {
  let config;
  try {
    config = configFromProcess('production');
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\nSee README.md, "Configuration".\n`);
      process.exit(2);
    }
    throw err;
  }
  const services = await createServices(config);
  const { app, logger } = services;
  await app.listen({ host: config.http.host, port: config.http.port });
  await services.start();
  const stop = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    services.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(`liandong failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
