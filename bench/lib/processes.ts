// Child processes the benchmarks start: servers that say where they listen, tools that print one
// JSON line, and the CPU time a process has used.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** CPU time of a process so far, µs (utime + stime from /proc, in clock ticks of 10 ms). */
export function cpuUs(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) * 10_000;
  } catch {
    return 0;
  }
}

/** Starts `cmd` and resolves once it prints "listening on 127.0.0.1:PORT" (stdout or stderr). */
export function startListening(cmd: readonly string[], env: Record<string, string>, timeoutMs: number): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd[0]!, cmd.slice(1), { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no port after ${timeoutMs / 1000} s: ${out}`));
    }, timeoutMs);
    const look = (d: Buffer): void => {
      out += d.toString();
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]) });
      }
    };
    child.stdout!.on('data', look);
    child.stderr!.on('data', look);
    child.on('exit', (code) => reject(new Error(`the server exited (${code}): ${out}`)));
  });
}

/**
 * Runs a tool that prints its result as a JSON line last (the echo load generator); rejects with
 * the result's `error`, or when there is no such line. Killed after `killAfterMs`.
 */
export function runJsonTool<T>(cmd: readonly string[], killAfterMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const kill = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('exit', () => {
      clearTimeout(kill);
      try {
        const r = JSON.parse(out.trim().split('\n').pop()!);
        if (r.error) reject(new Error(r.error));
        else resolve(r as T);
      } catch {
        reject(new Error(`${cmd[cmd.length > 1 ? 1 : 0]} failed: ${out}`));
      }
    });
  });
}
