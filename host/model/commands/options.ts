// Options shared by the `flexvm model` subcommands.
import { parseArgs } from 'node:util';
import { UsageError } from '../../cli/options.js';
import type { OutputFormat } from '../output/format.js';

export interface ModelOptions {
  readonly profiles: readonly string[];
  readonly format: OutputFormat;
  readonly svg: string | null;
  readonly positionals: readonly string[];
  readonly values: Readonly<Record<string, string | boolean | string[] | undefined>>;
}

/** Parses a model subcommand's arguments; `extra` declares its own options. */
export function parseModelOptions(argv: readonly string[], extra: NonNullable<NonNullable<Parameters<typeof parseArgs>[0]>['options']> = {}): ModelOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        profile: { type: 'string', multiple: true },
        json: { type: 'boolean' },
        csv: { type: 'boolean' },
        svg: { type: 'string' },
        ...extra,
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values as Record<string, string | boolean | string[] | undefined>;
  if (v['json'] && v['csv']) throw new UsageError('choose one of --json and --csv');
  return {
    profiles: (v['profile'] as string[] | undefined) ?? [],
    format: v['json'] ? 'json' : v['csv'] ? 'csv' : 'table',
    svg: (v['svg'] as string | undefined) ?? null,
    positionals: parsed.positionals,
    values: v,
  };
}
