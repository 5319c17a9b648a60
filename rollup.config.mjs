// Bundles the host (already compiled by tsc into build/) into dist/: the embedding API and the worker
// entry points, then the CLI on its own. The workers keep their folder (dist/syscall/, dist/guest/)
// and shared chunks sit at the top of dist/, as host/ does in build/, so host/worker-entry-points.ts
// finds the workers at the same relative URLs in both.
import { rmSync } from 'node:fs';
import { dts } from 'rollup-plugin-dts';

// Chunk names carry a content hash: start from an empty dist/ so old chunks do not pile up.
rmSync('dist', { recursive: true, force: true });

// The model's libraries stay outside the bundle (binaryen alone is megabytes; loaded only by `model` and --model).
const external = (id) => id.startsWith('node:') || ['binaryen', 'vega', 'vega-lite'].includes(id);
const output = { dir: 'dist', format: 'es', entryFileNames: '[name].js', sourcemap: false };

/**
 * The CLI's chunks (docs/startup.md): what its entry imports before it has read the command line
 * is one chunk; everything `flexvm run` needs after that on the native kernel (main.js, the
 * native kernel and its guest runner) is one chunk, since Node's ESM loader spends about a
 * millisecond of CPU on each module it resolves, reads and links, beside compiling it. The rest
 * (other kernels, the model, WASI programs and components, init, kv) keeps chunks of its own,
 * loaded when used. The entry's imports must not reach the VM module, which sets the V8 flags as it
 * loads: that is why its part is separate.
 */
function cliChunks(id, { getModuleInfo }) {
  cliChunks.core ??= (() => {
    const closure = (roots) => {
      const seen = new Set();
      const visit = (m) => {
        if (seen.has(m)) return;
        seen.add(m);
        for (const d of getModuleInfo(m)?.importedIds ?? []) visit(d);
      };
      roots.forEach(visit);
      return seen;
    };
    const root = new URL('.', import.meta.url).pathname;
    const entryFile = `${root}build/host/cli/entry.js`;
    // Not the entry itself: it awaits main.js, which imports from its part (a cycle with a top-level await never settles).
    const entry = closure([entryFile]);
    entry.delete(entryFile);
    const run = closure(['cli/main.js', 'kernel/native/index.js', 'kernel/native/guest-runner.js'].map((f) => `${root}build/host/${f}`));
    return { entry, run };
  })();
  // Named, so that neither part takes in the other's modules (a manual chunk takes its modules' imports).
  if (cliChunks.core.entry.has(id)) return 'start';
  return cliChunks.core.run.has(id) ? 'run' : undefined;
}

export default [
  {
    input: {
      index: 'build/host/index.js',
      'syscall/syscall-worker': 'build/host/syscall/syscall-worker.js',
      'guest/guest-worker': 'build/host/guest/guest-worker.js',
    },
    external,
    // No source maps: they would point at build/ and host/, which the package does not ship.
    output: { ...output, chunkFileNames: '[name]-[hash].js' },
  },
  {
    input: { cli: 'build/host/cli/entry.js' },
    external,
    output: { ...output, chunkFileNames: 'cli-[name]-[hash].js', manualChunks: cliChunks },
  },
  {
    input: 'build/host/index.d.ts',
    external,
    output: { file: 'dist/index.d.ts', format: 'es' },
    plugins: [dts()],
  },
];
