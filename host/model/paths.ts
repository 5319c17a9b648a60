// Where the model's data files live: in the package (host/model/...), found from the package root so
// that both build/ and the bundled dist/ read the same files.
import { join } from 'node:path';
import { packageRoot } from '../cli/package-root.js';

export const profilesDir = (): string => join(packageRoot(), 'host/model/profiles');
export const paperDataDir = (): string => join(packageRoot(), 'host/model/data');
export const calibrationSourcesDir = (): string => join(packageRoot(), 'host/model/calibrate/native');
