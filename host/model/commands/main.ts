// `flexvm model SUBCOMMAND`: the hardware-cost model's own commands.
import { UsageError } from '../../cli/options.js';

export async function modelCommand(argv: readonly string[]): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'figure1':
      return (await import('./figure1.js')).figure1Command(rest);
    case 'table1':
      return (await import('./table1.js')).table1Command(rest);
    case 'calibrate':
      return (await import('../calibrate/command.js')).calibrateCommand(rest);
    case 'profiles':
      return (await import('./profiles.js')).profilesCommand(rest);
    default:
      throw new UsageError(`flexvm model needs one of figure1, table1, calibrate, profiles${sub ? ` (got ${JSON.stringify(sub)})` : ''}`);
  }
}
