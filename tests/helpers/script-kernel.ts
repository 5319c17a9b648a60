// A kernel whose every answer a test decides: for testing the syscall threads, not kernels.
import { PENDING, type Call, type Kernel, type ProcessSpec } from '../../host/kernel/kernel.js';
import { ECANCELED } from '../../host/abi/v1.js';

/** What a call looked like when it arrived (the runtime reuses Call objects once they completed). */
export interface SeenCall {
  readonly sysno: number;
  readonly a0: number;
  readonly a1: number;
  readonly thread: number;
  readonly flags: number;
}

export class ScriptKernel implements Kernel {
  readonly name = 'script';
  readonly seen: SeenCall[] = [];
  readonly parked: Call[] = [];
  /** Decides each call's result; PENDING parks it (cancellable unless `uninterruptible`). */
  answer: (call: Call) => number = (c) => c.a0;
  uninterruptible = false;
  detached = 0;

  attach(spec: ProcessSpec): ProcessSpec {
    return spec;
  }
  detach(): void {
    this.detached++;
  }
  syscall(_proc: unknown, call: Call): number {
    this.seen.push({ sysno: call.sysno, a0: call.a0, a1: call.a1, thread: call.thread, flags: call.flags });
    const r = this.answer(call);
    if (r === PENDING) {
      this.parked.push(call);
      if (!this.uninterruptible) {
        call.onCancel = () => {
          this.parked.splice(this.parked.indexOf(call), 1);
          call.complete(-ECANCELED);
        };
      }
    }
    return r;
  }
  /** Completes the oldest parked call. */
  release(result: number): void {
    const c = this.parked.shift();
    if (!c) throw new Error('nothing parked');
    c.complete(result);
  }
}
