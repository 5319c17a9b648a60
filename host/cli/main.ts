#!/usr/bin/env node
// The flexvm command line.
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { packageRoot, packageVersion } from './package-root.js';
import { loadNativeAddon } from '../kernel/native/addon.js';
import { parseRunOptions, splitCommand, UsageError, wantsHelp } from './options.js';
import { runGuests } from './run-command.js';
import { releaseMainThreadSignals } from './main-thread-signals.js';
import { guardStdout } from './stdout-epipe.js';
import { USAGE } from './usage.js';
// init, build and kv are imported when used (`flexvm run` starts sooner without them: node:child_process).

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== 'run') guardStdout(); // run: run-command.ts, where a guest's output goes through process.stdout
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === '--version' || command === '-v') {
    process.stdout.write(`flexvm ${packageVersion()}\n`);
    return 0;
  }
  // memcached's command line, -h and -V included, belongs to the kv guest.
  if (command === 'kv') return (await import('./kv-command.js')).runKv(rest);
  // Help for flexvm, not for the guest: a --help after the module is the guest's.
  const isRun = command === 'run' || command === 'demo';
  if (isRun ? wantsHelp(rest, command === 'run') : rest[0] === '--help' || rest[0] === '-h') {
    process.stdout.write(USAGE);
    return 0;
  }
  switch (command) {
    case 'run': {
      const opts = parseRunOptions(rest, true, runKernel(rest));
      const withGuests = opts.with.map((w) => {
        const [file, args] = splitCommand(w);
        return [guestFile(file), ...args].join(' ');
      });
      return runGuests({ file: guestFile(opts.guest!), args: opts.guestArgs }, { ...opts, with: withGuests });
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
    case 'model': {
      const { modelCommand } = await import('../model/commands/main.js');
      return modelCommand(rest);
    }
    case 'init': {
      if (rest.length > 1) throw new UsageError('init takes at most one argument, the project folder');
      const { initProject } = await import('./guest-project.js');
      return initProject(rest[0] ?? '.', (l) => process.stdout.write(l + '\n'));
    }
    case 'build': {
      const [entry, ...more] = rest;
      if (entry === undefined) throw new UsageError('missing GUEST.ts');
      let out: string | null = null;
      if (more.length === 2 && (more[0] === '-o' || more[0] === '--out')) out = more[1]!;
      else if (more.length) throw new UsageError(`build takes GUEST.ts [-o OUT.wasm], got ${JSON.stringify(more.join(' '))}`);
      const { buildGuest } = await import('./guest-project.js');
      return buildGuest(entry, out, (l) => process.stderr.write(l + '\n'));
    }
    case 'examples':
      process.stdout.write(examplesText());
      return 0;
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

/**
 * A guest module path as given, or, when it names nothing here, the same relative path inside the
 * flexvm package: `flexvm run examples/httpd/server.wasm` works from any folder.
 */
function guestFile(file: string): string {
  if (existsSync(file) || isAbsolute(file)) return file;
  const shipped = join(packageRoot(), file);
  return existsSync(shipped) ? shipped : file;
}

/** The shipped example guests, with commands that work from anywhere (absolute paths). */
function examplesText(): string {
  const root = packageRoot();
  const ex = (p: string): string => join(root, 'examples', p);
  return `Example guests shipped with flexvm (${join(root, 'examples')}):

  echo server and client through the virtual kernel:
    flexvm demo
  httpd, a static file server, on http://127.0.0.1:8080/:
    flexvm run ${ex('httpd/server.wasm')} --dir ${ex('httpd/www')}:/www:ro -- --root /www --port 8080
  echo server on the os kernel (then: nc 127.0.0.1 7007):
    flexvm run ${ex('echo/server.wasm')} -- --port 7007
`;
}

main(process.argv.slice(2)).then(
  (status) => {
    releaseMainThreadSignals();
    process.exitCode = status;
  },
  (err: unknown) => {
    releaseMainThreadSignals();
    if (err instanceof UsageError) {
      process.stderr.write(`flexvm: ${err.message}\nRun 'flexvm --help' for usage.\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`flexvm: error: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exitCode = 1;
    }
  },
);

/**
 * `run`'s kernel when none is asked for: native where its addon loaded, else os, saying once why
 * (a guest then still runs, on Node's event loops instead of native threads).
 */
function runKernel(args: readonly string[]): string {
  const own = args.includes('--') ? args.slice(0, args.indexOf('--')) : args;
  const asked = own.some((a) => a === '--kernel' || a.startsWith('--kernel='));
  const addon = loadNativeAddon();
  if (typeof addon !== 'string') return 'native';
  if (!asked) process.stderr.write(`flexvm: the native kernel is unavailable (${addon}); using the os kernel\n`);
  return 'os';
}
