// The README's benchmark tables are the committed results, rendered: never typed by hand.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readResults, type Suite } from '../bench/lib/output.js';
import { firstTable, readmeSection } from '../bench/lib/readme.js';
import { echoTcp } from '../bench/suites/echo-tcp.js';
import { fileIo } from '../bench/suites/file-io.js';
import { nullSyscall } from '../bench/suites/null-syscall.js';
import { startup } from '../bench/suites/startup.js';

const SUITES: [string, Suite<unknown>][] = [
  ['null-syscall', nullSyscall as Suite<unknown>],
  ['echo-tcp', echoTcp as Suite<unknown>],
  ['file-io', fileIo as Suite<unknown>],
  ['startup', startup as Suite<unknown>],
];

for (const [name, suite] of SUITES) {
  test(`README's ${name} table is bench/results/${name}.json rendered (npm run bench -- --replot)`, () => {
    const section = readmeSection(name);
    assert.ok(section !== null, `README.md has no results:${name} section`);
    assert.fixture(section!, firstTable(suite.render(readResults(name)).markdown));
  });
}

test.run();
