let guarded = false;

/**
 * A reader that goes away (`flexvm model figure1 | head`) ends the output, as it ends any Unix
 * tool's: exit quietly rather than die on an unhandled EPIPE. Called by the commands that write to
 * process.stdout; not by `flexvm run` of a guest on the main thread, which writes to descriptor 1
 * itself: process.stdout is then never made (for a terminal, Node loads node:tty and node:net for
 * it, start-up time: docs/startup.md).
 */
export function guardStdout(): void {
  if (guarded) return;
  guarded = true;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}
