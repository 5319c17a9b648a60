// The native kernel in tests: its addon, or a test stand-in that skips (outside CI) or fails (in CI,
// where `npm ci` builds the addon) when it is missing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadNativeAddon, type NativeAddon } from '../../host/kernel/native/addon.js';

export const native: NativeAddon | string = loadNativeAddon();

/** `test`, or a stand-in saying why the native kernel cannot be tested here. */
export function nativeTest(): (name: string, fn: () => void | Promise<void>) => void {
  if (typeof native !== 'string') return test;
  const why = `the native kernel is unavailable: ${native}`;
  if (process.env.CI || process.env.FLEXVM_REQUIRE_NATIVE) return (name) => test(name, () => assert.unreachable(`${why}: CI must build it (npm ci)`));
  let noted = false;
  return (name) =>
    test(name, () => {
      if (!noted) console.log(`  (skipped native kernel tests: ${why})`);
      noted = true;
    });
}

export function addon(): NativeAddon {
  if (typeof native === 'string') throw new Error(native);
  return native;
}
