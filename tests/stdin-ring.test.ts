// The stdin ring (host/kernel/common/stdin-ring.ts) and fd 0's streamed description
// (host/kernel/common/streamed-stdin.ts), without a VM: bytes across the ring's wrap, partial puts
// when full, peeking, end of file, a reader gone, the wake-ups each side waits for, and what read
// and poll answer while input is missing, there, and over.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EAGAIN, POLLHUP, POLLIN } from '../host/abi/v1.js';
import type { ByteSink } from '../host/kernel/common/iovec.js';
import { StdinRing } from '../host/kernel/common/stdin-ring.js';
import { StreamedStdin } from '../host/kernel/common/streamed-stdin.js';
import { objectStat } from '../host/kernel/common/stat.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const str = (b: Uint8Array | null): string | null => (b === null ? null : new TextDecoder().decode(b));
const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 10));

class Sink implements ByteSink {
  readonly data: Uint8Array;
  constructor(readonly length: number) {
    this.data = new Uint8Array(length);
  }
  write(offset: number, data: Uint8Array): void {
    this.data.set(data, offset);
  }
  text(n: number): string {
    return new TextDecoder().decode(this.data.subarray(0, n));
  }
}

test('ring: bytes in order across the wrap; a full ring takes part of a put; peek leaves them', () => {
  const ring = StdinRing.create(16);
  assert.is(ring.put(bytes('0123456789')), 10);
  assert.is(str(ring.take(7, false)), '0123456');
  assert.is(ring.put(bytes('abcdefghijklmnop')), 13, 'room for 16 - 3');
  assert.is(ring.available(), 16);
  assert.is(ring.put(bytes('x')), 0, 'full');
  assert.is(str(ring.take(4, true)), '789a', 'peek');
  assert.is(str(ring.take(100, false)), '789abcdefghijklm', 'across the end of the buffer');
  assert.is(ring.take(1, false), null);
  assert.not.ok(ring.ended);
  ring.end();
  assert.ok(ring.ended);
});

test('ring: once the reader has gone, puts are dropped whole', () => {
  const ring = StdinRing.create(8);
  ring.closeReader();
  assert.ok(ring.closed);
  assert.is(ring.put(bytes('more than eight bytes')), 21);
  assert.is(ring.available(), 0);
});

test('ring: each side wakes the other (written, taken, wanted), with no wake-up lost', async () => {
  const ring = StdinRing.create(4);
  const seen: string[] = [];
  ring.whenWanted(() => seen.push('wanted'));
  ring.whenWritten(ring.writeGeneration(), () => seen.push('written'));
  await tick();
  assert.equal(seen, []);
  ring.want();
  ring.put(bytes('abcd'));
  await tick();
  assert.equal([...seen].sort(), ['wanted', 'written']);
  const gen = ring.readGeneration();
  ring.take(2, false); // before the wait is armed: the old generation still wakes it
  ring.whenTaken(gen, () => seen.push('taken'));
  await tick();
  assert.is(seen.length, 3);
  assert.is(seen[2], 'taken');
  ring.whenWritten(ring.writeGeneration(), () => seen.push('ended'));
  ring.end();
  await tick();
  assert.equal(seen.at(-1), 'ended');
});

test('streamed fd 0: EAGAIN (and a wake-up) while empty, the bytes when they come, then EOF; poll alike', async () => {
  const ring = StdinRing.create(64);
  let settled = 0;
  const d = new StreamedStdin(ring, objectStat(1, 2, 0o20620, { sec: 0, nsec: 0 }), () => settled++);
  let notified = 0;
  d.addWatcher({ notify: () => notified++ });
  const sink = new Sink(8);
  assert.is(d.read(sink, false), -EAGAIN);
  assert.is(d.poll(), 0);
  let wanted = false;
  ring.whenWanted(() => (wanted = true));
  await tick();
  assert.ok(wanted, 'a read of an empty ring asks for input');
  ring.put(bytes('hello'));
  await tick();
  assert.is(notified, 1, 'the watchers were told once');
  assert.is(settled, 1, 'and the scheduler settled');
  assert.is(d.poll(), POLLIN);
  assert.is(d.read(sink, true), 5, 'peek');
  assert.is(d.read(sink, false), 5);
  assert.is(sink.text(5), 'hello');
  assert.is(d.read(sink, false), -EAGAIN);
  ring.put(bytes('!'));
  ring.end();
  await tick();
  assert.is(d.poll(), POLLIN | POLLHUP);
  assert.is(d.read(sink, false), 1);
  assert.is(d.read(sink, false), 0, 'end of file');
  assert.is(d.poll(), POLLIN | POLLHUP);
  d.release();
  assert.ok(ring.closed, 'closing fd 0 tells the producer');
});

test.run();
