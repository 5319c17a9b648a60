/** Thrown by proc_exit (and by abort handlers) to end the guest with a status. */
export class GuestExit extends Error {
  constructor(
    readonly status: number,
    readonly reason?: string,
  ) {
    super(reason ?? `exit ${status}`);
  }
}
