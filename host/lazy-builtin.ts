import { createRequire } from 'node:module';

// Node's own modules that only some paths use (a worker's, a guest's piped streams, a terminal),
// loaded on first use: each one that is not in Node's startup snapshot costs start-up time to
// compile, with the modules it loads in turn (docs/startup.md).
const load = createRequire(import.meta.url);

/** A getter for Node's module `name`, which loads it the first time it is called. */
export function lazyBuiltin<T>(name: `node:${string}`): () => T {
  let m: T | undefined;
  return () => (m ??= load(name) as T);
}
