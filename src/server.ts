// The process: configuration, logger, listen, signals, graceful close. Everything else is in app.ts.
import closeWithGrace from 'close-with-grace';
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { StoreOpenError } from './store/errors.js';

let config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  throw err;
}

let app;
try {
  app = await buildApp(config, {
    logger: {
      level: config.logLevel,
      ...(config.logPretty ? { transport: { target: 'pino-pretty' } } : {}),
    },
  });
  await app.ready();
} catch (err) {
  // A database that cannot be opened or reached: one line that says what to do, no stack.
  if (err instanceof StoreOpenError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
  throw err;
}

// SIGTERM/SIGINT: stop accepting, finish requests in flight, hand running jobs back to the queue
// (they resume from their last checkpoint), close the pool and the database; a second signal exits at once.
closeWithGrace({ delay: 10_000, logger: { error: (m: string) => app.log.error(m) } }, async ({ signal, err }) => {
  if (err) app.log.error({ err }, 'closing after an uncaught error');
  else app.log.info({ signal }, 'shutting down');
  await app.close();
});

try {
  await app.listen({ port: config.port, host: config.host });
} catch (err) {
  app.log.error({ err }, 'could not listen');
  process.exit(1);
}
