import { writeFileSync } from 'node:fs';
import { InvalidModuleError } from '../wasm/module-info.js';
import { WasiSpawnError } from '../wasi/wasi-spawn.js';
import { VM, type Guest, type GuestResult, type SpawnOptions, type VMOptions } from '../vm/vm.js';
import { formatStats } from '../vm/stats.js';
import { EXIT_INTERRUPTED, EXIT_KILLED } from '../errors.js';
import { hostStdinStream } from './host-stdin.js';
import { splitCommand, type RunOptions } from './options.js';
import { ON_THIS_THREAD, type ThisThreadGuest } from '../vm/this-thread.js';
import { FORCE_LINE, releaseMainThreadSignals, STOP_LINE, takeMainThreadSignals } from './main-thread-signals.js';
import { runsOnMainThread } from './startup-plan.js';
import { HostStdio } from './host-stdio.js';
import { guardStdout } from './stdout-epipe.js';
import { loadNativeAddon, type NativeAddon } from '../kernel/native/addon.js';

export interface GuestCommand {
  readonly file: string;
  readonly args: readonly string[];
}

/**
 * Runs a main guest (and `--with` companions) in one VM. Resolves to the exit status the CLI
 * should end with. Ctrl-C asks every guest to stop, prints statistics (with or without --stats: a
 * server stopped by hand should say what it did), and exits 130.
 */
export async function runGuests(main: GuestCommand, opts: RunOptions): Promise<number> {
  const companions: GuestCommand[] = opts.with.map((w) => {
    const [file, args] = splitCommand(w);
    return { file, args };
  });
  // The main guest on this thread where that keeps what the CLI promises (docs/startup.md).
  const addon = runsOnMainThread(opts) ? loadNativeAddon() : null;
  if (addon && typeof addon !== 'string') return runOnMainThread(main, opts, addon);
  releaseMainThreadSignals(); // the signals are this thread's event loop's
  guardStdout(); // the guests' output goes through process.stdout

  const vm = await VM.create({
    ...vmOptions(opts),
    ...(opts.trace ? { trace: (line: string) => process.stderr.write(line + '\n') } : {}),
  });
  const started: Guest[] = [];
  let interrupted = false;
  let stdin: NodeJS.ReadableStream | undefined;
  const onSignal = (): void => {
    if (interrupted) {
      process.stderr.write(FORCE_LINE);
      process.exit(EXIT_KILLED); // a forced stop, as when a guest is terminated (128 + SIGKILL)
    }
    interrupted = true;
    process.stderr.write(STOP_LINE);
    for (const g of started) g.kill();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const spawnOpts = { dirs: opts.dirs, env: opts.env };
    for (const c of companions) started.push(await vm.spawn(c.file, { ...spawnOpts, args: c.args }));
    // --model: the main guest runs instrumented (it counts its instructions; nothing else changes).
    const model = opts.model ? await import('../model/commands/run-report.js') : null;
    const profile = model && opts.model ? model.loadProfile(opts.model) : null;
    const counted = model ? model.instrumentGuestFile(main.file) : null;
    stdin = hostStdinStream();
    const mainOpts = { ...spawnOpts, args: main.args, listen: opts.listen, ...(stdin ? { stdin } : {}) };
    const guest = counted ? await vm.spawn(counted.bytes, { ...mainOpts, name: counted.name }) : await vm.spawn(main.file, mainOpts);
    started.push(guest);
    const result = await guest.exited;
    for (const g of started) if (g !== guest) g.kill(1000);
    const others = await Promise.all(started.filter((g) => g !== guest).map((g) => g.exited));
    report([result, ...others], opts, interrupted);
    if (model && profile) {
      const m = model.modelRun(result, profile, opts.modelRequests);
      if (m) {
        process.stderr.write(model.formatRunModel(m) + '\n');
        if (opts.modelJson) writeFileSync(opts.modelJson, JSON.stringify(m, null, 2) + '\n');
      } else process.stderr.write('flexvm: --model: the guest reported no counts (it did not start, or its thread was stopped)\n');
    }
    return result.status;
  } catch (err) {
    return loadFailure(err);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await vm.close();
    // The guest let go of it; a pipe whose writer goes on (`yes | flexvm run head.wasm`) must not keep us.
    if (stdin) process.stdin.destroy();
  }
}

/** runGuests for one guest on the main thread, Ctrl-C and SIGTERM taken by the native addon (main-thread-signals.ts). */
async function runOnMainThread(main: GuestCommand, opts: RunOptions, addon: NativeAddon): Promise<number> {
  // Until the end, the addon takes the signals (since the CLI's entry started, as a rule): the
  // event loop that would run listeners of this thread's is blocked while the guest runs.
  const signals = takeMainThreadSignals(addon);
  const stdio = new HostStdio();
  let vm: VM | null = null;
  try {
    vm = await VM.create({ ...vmOptions(opts), [ON_THIS_THREAD]: true } as VMOptions);
    const here: ThisThreadGuest = {
      stdio: stdio.fds,
      registered: (memory, ctrl) => signals.registered(memory, ctrl),
      enter: (run) => signals.enter(run),
      sleep: (sleep, timeoutUs) => signals.sleep(sleep, timeoutUs),
    };
    const spawnOpts = { dirs: opts.dirs, env: opts.env, args: main.args, listen: opts.listen, [ON_THIS_THREAD]: here } as SpawnOptions;
    const guest = await vm.spawn(main.file, spawnOpts);
    // Asked to stop while it loaded: it does not start (a stop asked from now on reaches its shutdown word).
    if (signals.interrupted) guest.kill();
    const result = await guest.exited;
    report([result], opts, signals.interrupted);
    return result.status;
  } catch (err) {
    return loadFailure(err);
  } finally {
    signals.close();
    stdio.close();
    await vm?.close();
  }
}

/** A guest that could not be loaded or spawned: said once, status 1; anything else is not ours to judge. */
function loadFailure(err: unknown): number {
  if (err instanceof InvalidModuleError || err instanceof WasiSpawnError) {
    process.stderr.write(`flexvm: error: ${err.message}\n`);
    return 1;
  }
  throw err;
}

/** The VM the command line asks for. */
function vmOptions(opts: RunOptions): VMOptions {
  return {
    kernel: {
      ...(opts.kernel === 'os' || opts.kernel === 'native' ? { kind: opts.kernel, allowNonLoopbackListen: opts.listenAny } : { kind: opts.kernel }),
      ...(opts.allowConnect.length > 0 ? { allowConnect: opts.allowConnect } : {}),
      ...(opts.strictLinks ? { strictLinks: true } : {}),
    } as VMOptions['kernel'],
    syscallThreads: opts.syscallThreads,
    mode: opts.mode,
    spinUs: opts.spinUs,
    limits: opts.limits,
  };
}

function report(results: GuestResult[], opts: RunOptions, interrupted: boolean): void {
  const [main] = results;
  for (const r of results) {
    if (r.message && !(r !== main && r.status === EXIT_INTERRUPTED)) process.stderr.write(`flexvm: ${r.name} (pid ${r.pid}) exited with status ${r.status}: ${r.message}\n`);
  }
  if (opts.stats || interrupted) for (const r of results) process.stderr.write(formatStats(`${r.name} (pid ${r.pid})`, r.stats) + '\n');
  if (opts.statsJson) {
    writeFileSync(opts.statsJson, JSON.stringify(results.map((r) => ({ name: r.name, pid: r.pid, status: r.status, stats: r.stats })), null, 2) + '\n');
  }
}
