#!/usr/bin/env node
// The flexvm command line.
import { join } from 'node:path';
import { packageRoot, packageVersion } from './package-root.js';
import { parseRunOptions, UsageError } from './options.js';
import { runGuests } from './run-command.js';
import { runKv } from './kv-command.js';
import { USAGE } from './usage.js';

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === '--version' || command === '-v') {
    process.stdout.write(`flexvm ${packageVersion()}\n`);
    return 0;
  }
  // memcached's command line, -h and -V included, belongs to the kv guest.
  if (command === 'kv') return runKv(rest);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  switch (command) {
    case 'run': {
      const opts = parseRunOptions(rest, true);
      return runGuests({ file: opts.guest!, args: opts.guestArgs }, opts);
    }
    case 'demo': {
      const opts = parseRunOptions(rest, false, 'virtual');
      const echo = join(packageRoot(), 'examples/echo');
      const guestArgs = opts.guestArgs.length ? opts.guestArgs : ['--conns', '4', '--messages', '1000'];
      return runGuests(
        { file: join(echo, 'client.wasm'), args: guestArgs },
        { ...opts, with: [join(echo, 'server.wasm'), ...opts.with], stats: true },
      );
    }
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

main(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`flexvm: ${err.message}\nRun 'flexvm --help' for usage.\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`flexvm: error: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
