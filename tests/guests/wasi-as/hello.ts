// A plain AssemblyScript program on @assemblyscript/wasi-shim (no libflexsc): its own memory, built
// by tests/helpers/wasi-programs.ts. Allocates well past its first pages (the TLSF allocator takes
// what memory.size reports) and prints its arguments, an environment variable and a sum.

const parts = new Array<string>();
for (let i = 0; i < 2000; i++) parts.push("x" + i.toString());
let total = 0;
for (let i = 0; i < parts.length; i++) total += parts[i].length;
const big = new Uint8Array(8 << 20);
big[big.length - 1] = 7;
console.log("args " + process.argv.slice(1).join(","));
console.log("env " + (process.env.has("GREETING") ? process.env.get("GREETING") : "-"));
console.log("total " + total.toString() + " last " + big[big.length - 1].toString());
process.exit(5);
