/** WASI preview1 errno values for the Linux errno values kernels return (they are numbered differently). */
const LINUX_TO_WASI: Readonly<Record<number, number>> = {
  1: 63, 2: 44, 3: 71, 4: 27, 5: 29, 6: 60, 7: 1, 8: 45, 9: 8, 10: 12, 11: 6, 12: 48, 13: 2, 14: 21, 16: 10,
  17: 20, 18: 75, 19: 43, 20: 54, 21: 31, 22: 28, 23: 41, 24: 33, 25: 59, 27: 22, 28: 51, 29: 70, 30: 69,
  31: 34, 32: 64, 34: 68, 35: 16, 36: 37, 38: 52, 39: 55, 40: 32, 71: 65, 88: 57, 89: 17, 90: 35, 91: 67,
  92: 50, 93: 66, 95: 58, 97: 5, 98: 3, 99: 4, 100: 38, 101: 40, 103: 13, 104: 15, 105: 42, 106: 30, 107: 53,
  110: 73, 111: 14, 113: 23, 114: 7, 115: 26, 125: 11,
};

export const WASI_ESUCCESS = 0;
export const WASI_EBADF = 8;
export const WASI_EFAULT = 21;
export const WASI_EINVAL = 28;
export const WASI_EIO = 29;
export const WASI_ENOSYS = 52;

/** Maps a negative Linux result to a WASI errno (unknown values become EIO). */
export function wasiErrno(linuxResult: number): number {
  return LINUX_TO_WASI[-linuxResult] ?? WASI_EIO;
}
