// The errors live in host/errors.ts, shared by the kernels, the guest memory and the runtime. This
// re-export only keeps kernel code written against the old path building while parallel branches
// merge; import '../../errors.js' in new code.
export { SysError, GuestFault, errnoName } from '../errors.js';
