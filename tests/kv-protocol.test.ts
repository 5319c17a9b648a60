// The kv example's protocol, byte for byte, from memcached's protocol.txt: every text and meta
// command and their error paths, pipelining, values split over reads, binary-safe values, a
// multiget far larger than the server's buffers, expiry by the kernel's clock (virtual time on the
// virtual kernel), flush_all with and without delay, -c and eviction under -m. The checker guest
// (tests/guests/kv-check.ts) plays the same script in every mode on every kernel in KV_KERNELS.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Mode } from '../host/vm/vm.js';
import { MODES, VmPool, assertReport } from './helpers/e2e.js';
import { D, KV_KERNELS, KvScript, runScript, startKv } from './helpers/kv.js';

const pools = new Map<string, VmPool>();
function pool(kernel: string): VmPool {
  let p = pools.get(kernel);
  if (!p) pools.set(kernel, (p = new VmPool({ kernel: kernel as 'os' })));
  return p;
}
test.after(async () => {
  for (const p of pools.values()) await p.close();
});

const k250 = 'k'.repeat(250);
const k251 = 'k'.repeat(251);

/** The text protocol's commands and errors. */
function textScript(): KvScript {
  const s = new KvScript();
  s.case('set and get').io('set k 5 0 3\r\nabc\r\n', 'STORED\r\n').io('get k\r\n', 'VALUE k 5 3\r\nabc\r\nEND\r\n');
  s.case('gets returns a cas unique').io('gets k\r\n', `VALUE k 5 3 ${D}\r\nabc\r\nEND\r\n`);
  s.case('multiget: hits in order, misses left out')
    .io('set a 0 0 1\r\na\r\nset b 1 0 2\r\nbb\r\n', 'STORED\r\nSTORED\r\n')
    .io('get a nope b a\r\n', 'VALUE a 0 1\r\na\r\nVALUE b 1 2\r\nbb\r\nVALUE a 0 1\r\na\r\nEND\r\n');
  s.case('get without a key is an error').io('get\r\n', 'ERROR\r\n').io('gets\r\n', 'ERROR\r\n');
  s.case('empty value').io('set empty 0 0 0\r\n\r\n', 'STORED\r\n').io('get empty\r\n', 'VALUE empty 0 0\r\n\r\nEND\r\n');
  s.case('add').io('add k 0 0 1\r\nx\r\n', 'NOT_STORED\r\n').io('add new 0 0 1\r\nx\r\n', 'STORED\r\n').io('get new\r\n', 'VALUE new 0 1\r\nx\r\nEND\r\n');
  s.case('replace').io('replace nope 0 0 1\r\nx\r\n', 'NOT_STORED\r\n').io('replace k 3 0 2\r\nxy\r\n', 'STORED\r\n').io('get k\r\n', 'VALUE k 3 2\r\nxy\r\nEND\r\n');
  s.case('append and prepend keep flags')
    .io('set ap 9 0 3\r\nmid\r\n', 'STORED\r\n')
    .io('append ap 0 0 3\r\nend\r\n', 'STORED\r\n')
    .io('prepend ap 0 0 3\r\npre\r\n', 'STORED\r\n')
    .io('get ap\r\n', 'VALUE ap 9 9\r\npremidend\r\nEND\r\n')
    .io('append nope 0 0 1\r\nx\r\n', 'NOT_STORED\r\n')
    .io('prepend nope 0 0 1\r\nx\r\n', 'NOT_STORED\r\n');
  s.case('cas')
    .io('ms c 1 E77\r\na\r\n', 'HD\r\n')
    .io('cas c 0 0 1 76\r\nb\r\n', 'EXISTS\r\n')
    .io('cas c 4 0 1 77\r\nb\r\n', 'STORED\r\n')
    .io('get c\r\n', 'VALUE c 4 1\r\nb\r\nEND\r\n')
    .io('cas c 0 0 1 77\r\nz\r\n', 'EXISTS\r\n')
    .io('cas nope 0 0 1 1\r\nz\r\n', 'NOT_FOUND\r\n')
    .io('cas c 0 0 1\r\nz\r\n', 'ERROR\r\nERROR\r\n')
    .io('cas c 0 0 1 abc\r\nz\r\n', 'CLIENT_ERROR bad command line format\r\nERROR\r\n');
  s.case('delete')
    .io('set d 0 0 1\r\nx\r\n', 'STORED\r\n')
    .io('delete d\r\n', 'DELETED\r\n')
    .io('delete d\r\n', 'NOT_FOUND\r\n')
    .io('set d 0 0 1\r\nx\r\n', 'STORED\r\n')
    .io('delete d 0\r\n', 'DELETED\r\n')
    .io('delete d 1\r\n', 'CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n')
    .io('set d 0 0 1\r\nx\r\ndelete d noreply\r\nget d\r\n', 'STORED\r\nEND\r\n')
    .io('delete\r\n', 'ERROR\r\n');
  s.case('incr and decr')
    .io('set n 0 0 2\r\n10\r\n', 'STORED\r\n')
    .io('incr n 5\r\n', '15\r\n')
    .io('decr n 100\r\n', '0\r\n')
    .io('set n 0 0 3\r\n100\r\n', 'STORED\r\n')
    .io('decr n 1\r\n', '99\r\n')
    .io('get n\r\n', 'VALUE n 0 3\r\n99 \r\nEND\r\n')
    .io('incr n 1\r\n', '100\r\n')
    .io('incr n 900\r\n', '1000\r\n')
    .io('get n\r\n', 'VALUE n 0 4\r\n1000\r\nEND\r\n')
    .io('set w 0 0 20\r\n18446744073709551615\r\n', 'STORED\r\n')
    .io('incr w 2\r\n', '1\r\n')
    .io('incr nope 1\r\n', 'NOT_FOUND\r\n')
    .io('decr nope 1\r\n', 'NOT_FOUND\r\n')
    .io('incr k 1\r\n', 'CLIENT_ERROR cannot increment or decrement non-numeric value\r\n')
    .io('incr n -1\r\n', 'CLIENT_ERROR invalid numeric delta argument\r\n')
    .io('incr n 18446744073709551616\r\n', 'CLIENT_ERROR invalid numeric delta argument\r\n')
    .io('incr n 1 noreply\r\nget n\r\n', 'VALUE n 0 4\r\n1001\r\nEND\r\n')
    .io('incr n\r\n', 'ERROR\r\n');
  s.case('touch')
    .io('touch k 100\r\n', 'TOUCHED\r\n')
    .io('touch nope 100\r\n', 'NOT_FOUND\r\n')
    .io('touch k abc\r\n', 'CLIENT_ERROR invalid exptime argument\r\n')
    .io('touch k\r\n', 'ERROR\r\n');
  s.case('gat and gats')
    .io('gat 100 k nope\r\n', 'VALUE k 3 2\r\nxy\r\nEND\r\n')
    .io('gats 0 k\r\n', `VALUE k 3 2 ${D}\r\nxy\r\nEND\r\n`)
    .io('gat abc k\r\n', 'CLIENT_ERROR invalid exptime argument\r\n')
    .io('gat 10\r\n', 'ERROR\r\n');
  s.case('noreply on every storage command')
    .send('set q 1 0 1 noreply\r\na\r\nadd q 0 0 1 noreply\r\nb\r\nreplace q 2 0 1 noreply\r\nc\r\n')
    .send('append q 0 0 1 noreply\r\nd\r\nprepend q 0 0 1 noreply\r\ne\r\ncas q 0 0 1 1 noreply\r\nf\r\n')
    .io('get q\r\n', 'VALUE q 2 3\r\necd\r\nEND\r\n');
  s.case('keys: 250 bytes is the limit; other bytes are taken as memcached takes them')
    .io(`set ${k250} 0 0 1\r\nx\r\n`, 'STORED\r\n')
    .io(`get ${k250}\r\n`, `VALUE ${k250} 0 1\r\nx\r\nEND\r\n`)
    .io(`set ${k251} 0 0 1\r\nx\r\n`, 'CLIENT_ERROR bad command line format\r\nERROR\r\n')
    .io(`get ${k251}\r\n`, 'CLIENT_ERROR bad command line format\r\n')
    .io('set a\x07\x90b 0 0 1\r\nx\r\nget a\x07\x90b\r\n', 'STORED\r\nVALUE a\x07\x90b 0 1\r\nx\r\nEND\r\n')
    .io(`incr ${k251} 1\r\n`, 'CLIENT_ERROR bad command line format\r\n');
  s.case('bad numbers')
    .io('set k abc 0 1\r\nx\r\n', 'CLIENT_ERROR bad command line format\r\nERROR\r\n')
    .io('set k 4294967296 0 1\r\nx\r\n', 'CLIENT_ERROR bad command line format\r\nERROR\r\n')
    .io('set k -1 0 1\r\nx\r\n', 'CLIENT_ERROR bad command line format\r\nERROR\r\n')
    .io('set fl 4294967295 0 1\r\nx\r\n', 'STORED\r\n')
    .io('get fl\r\n', 'VALUE fl 4294967295 1\r\nx\r\nEND\r\n')
    .io('set k 0 abc 1\r\nx\r\n', 'CLIENT_ERROR bad command line format\r\nERROR\r\n')
    .io('set k 0 4000000000 1\r\nx\r\n', 'CLIENT_ERROR bad command line format\r\nERROR\r\n')
    .io('set k 0 0 -1\r\n', 'CLIENT_ERROR bad command line format\r\n')
    .io('set k 0 0 abc\r\n', 'CLIENT_ERROR bad command line format\r\n');
  s.case('wrong number of tokens').io('set k 0 0\r\n', 'ERROR\r\n').io('set k 0 0 1 noreply extra\r\n', 'ERROR\r\n').io('bogus\r\n', 'ERROR\r\n').io('\r\n', 'ERROR\r\n');
  s.case('a data block longer than announced')
    .io('set bd 0 0 3\r\nabcde\r\n', 'CLIENT_ERROR bad data chunk\r\nERROR\r\n')
    .io('get bd\r\n', 'END\r\n');
  s.case('a data block shorter than announced waits for the rest')
    .send('set sh 0 0 5\r\nab\r\n')
    .sleep(50)
    .io('cde\r\n', 'CLIENT_ERROR bad data chunk\r\nERROR\r\n')
    .io('get sh\r\n', 'END\r\n');
  s.case('too large: refused, the data swallowed, the old value gone')
    .io('set big 0 0 1\r\nx\r\n', 'STORED\r\n')
    .io(Buffer.concat([Buffer.from('set big 0 0 1100000\r\n'), Buffer.alloc(1_100_000, 0x61), Buffer.from('\r\nget big\r\n')]), 'SERVER_ERROR object too large for cache\r\nEND\r\n');
  const bin = Buffer.from([0, 13, 10, 0x7f, 0x02, 32, 13, 10]);
  s.case('binary-safe values')
    .io(Buffer.concat([Buffer.from(`set bin 0 0 ${bin.length}\r\n`), bin, Buffer.from('\r\n')]), 'STORED\r\n')
    .io('get bin\r\n', Buffer.concat([Buffer.from(`VALUE bin 0 ${bin.length}\r\n`), bin, Buffer.from('\r\nEND\r\n')]));
  s.case('pipelined commands in one write')
    .io('set p1 0 0 1\r\na\r\nset p2 0 0 1\r\nb\r\nget p1 p2\r\ndelete p1\r\nget p1\r\nversion\r\n', `STORED\r\nSTORED\r\nVALUE p1 0 1\r\na\r\nVALUE p2 0 1\r\nb\r\nEND\r\nDELETED\r\nEND\r\nVERSION ${D}.${D}.${D}\r\n`);
  s.case('commands and values split over many writes')
    .send('se').sleep(20).send('t sp 0 0 10\r').sleep(20).send('\n01234').sleep(20).send('56789\r').sleep(20).send('\n')
    .expect('STORED\r\n')
    .send('get s').sleep(20).send('p\r').sleep(20).send('\n')
    .expect('VALUE sp 0 10\r\n0123456789\r\nEND\r\n');
  // A 60 kB retrieval line: more than the 16 kB input buffer, answered as it streams in.
  const keys: string[] = [];
  for (let i = 0; i < 3000; i++) keys.push(`multiget-key-${i}`);
  const sets = ['mg1', 'mg2'].map((k) => `set ${k} 0 0 2\r\n${k.slice(1)}\r\n`).join('');
  s.case('a multiget longer than every buffer')
    .io(sets, 'STORED\r\nSTORED\r\n')
    .io(`get mg1 ${keys.join(' ')} mg2\r\n`, 'VALUE mg1 0 2\r\ng1\r\nVALUE mg2 0 2\r\ng2\r\nEND\r\n');
  s.case('version, verbosity').io('version\r\n', `VERSION ${D}.${D}.${D}\r\n`).io('verbosity 1\r\n', 'OK\r\n').io('verbosity 0 noreply\r\nverbosity\r\n', 'ERROR\r\n').io('verbosity x\r\n', 'CLIENT_ERROR bad command line format\r\n');
  s.case('stats subcommands').io('stats bogus\r\n', 'ERROR\r\n').io('stats sizes\r\n', 'STAT sizes_status disabled\r\nEND\r\n');
  s.case('shutdown is not enabled by default').io('shutdown\r\n', 'ERROR: shutdown not enabled\r\n');
  s.case('quit closes').send('quit\r\n').closed();
  s.case('quit after pipelined commands answers them first').send('set z 0 0 1\r\nz\r\nquit\r\n').expect('STORED\r\n').closed();
  s.case('a line too long that is no multiget closes').send('set ' + 'x'.repeat(4000)).closed();
  s.case('other connections go on').io('get z\r\n', 'VALUE z 0 1\r\nz\r\nEND\r\n');
  return s;
}

/** Expiry by the kernel's clock, and flush_all (last: a delayed flush reaches every item). */
function timeScript(): KvScript {
  const s = new KvScript();
  s.case('expiry: relative, negative, absolute')
    .io('set e1 0 1 1\r\nx\r\nset keep 0 0 1\r\nk\r\nset neg 0 -1 1\r\nx\r\nset past 0 1000000000 1\r\nx\r\nset future 0 2000000000 1\r\nx\r\n', 'STORED\r\nSTORED\r\nSTORED\r\nSTORED\r\nSTORED\r\n')
    .io('get neg past future\r\n', 'VALUE future 0 1\r\nx\r\nEND\r\n')
    .io('set t1 0 1 1\r\nx\r\ntouch t1 100\r\nset g1 0 1 1\r\nx\r\ngat 100 g1\r\n', 'STORED\r\nTOUCHED\r\nSTORED\r\nVALUE g1 0 1\r\nx\r\nEND\r\n')
    .sleep(2100)
    .io('get e1 keep t1 g1\r\n', 'VALUE keep 0 1\r\nk\r\nVALUE t1 0 1\r\nx\r\nVALUE g1 0 1\r\nx\r\nEND\r\n')
    .io('mg e1 v\r\n', 'EN\r\n');
  s.case('flush_all now').io('set f 0 0 1\r\nx\r\nflush_all\r\nget f keep\r\n', 'STORED\r\nOK\r\nEND\r\n').io('set f 0 0 1\r\ny\r\nget f\r\n', 'STORED\r\nVALUE f 0 1\r\ny\r\nEND\r\n');
  s.case('flush_all errors and noreply').io('flush_all abc\r\n', 'CLIENT_ERROR bad command line format\r\n').io('flush_all noreply\r\nget f\r\n', 'END\r\n').io('flush_all 0 noreply extra\r\n', 'ERROR\r\n');
  s.case('flush_all with a delay')
    .io('set late 0 0 1\r\nx\r\nflush_all 2\r\nget late\r\n', 'STORED\r\nOK\r\nVALUE late 0 1\r\nx\r\nEND\r\n')
    .sleep(3100)
    .io('get late\r\n', 'END\r\n')
    .io('set after 0 0 1\r\nx\r\nget after\r\n', 'STORED\r\nVALUE after 0 1\r\nx\r\nEND\r\n');
  return s;
}

/** The meta commands. */
function metaScript(): KvScript {
  const s = new KvScript();
  s.case('mn').io('mn\r\n', 'MN\r\n');
  s.case('ms and mg with return flags')
    .io('ms m1 2 F7\r\nhi\r\n', 'HD\r\n')
    .io('mg m1 v f s k\r\n', 'VA 2 f7 s2 km1\r\nhi\r\n')
    .io('mg m1\r\n', 'HD\r\n')
    .io('mg m1 O123 c t\r\n', `HD O123 c${D} t-1\r\n`)
    .io('mg m1 v h\r\n', 'VA 2 h1\r\nhi\r\n')
    .io('mg nope v\r\n', 'EN\r\n')
    .io('mg nope v q\r\nmn\r\n', 'MN\r\n')
    .io('mg m1 k q v\r\nmn\r\n', 'VA 2 km1\r\nhi\r\nMN\r\n');
  s.case('ms modes')
    .io('ms m2 1 ME\r\nx\r\n', 'HD\r\n')
    .io('ms m2 1 ME\r\nx\r\n', 'NS\r\n')
    .io('ms nope 1 MR\r\nx\r\n', 'NS\r\n')
    .io('ms m2 1 MA\r\ny\r\n', 'HD\r\n')
    .io('ms m2 1 MP\r\nw\r\n', 'HD\r\n')
    .io('mg m2 v\r\n', 'VA 3\r\nwxy\r\n')
    .io('ms m2 1 MS k O9\r\nz\r\n', 'HD km2 O9\r\n')
    .io('ms m2 1 MX\r\nz\r\n', 'CLIENT_ERROR invalid mode for ms STORE\r\n');
  s.case('ms compare and swap')
    .io('ms m3 1 E500\r\na\r\n', 'HD\r\n')
    .io('mg m3 c\r\n', 'HD c500\r\n')
    .io('ms m3 1 C499\r\nb\r\n', 'EX\r\n')
    .io('ms m3 1 C500 c\r\nb\r\n', `HD c${D}\r\n`)
    .io('ms nope3 1 C5\r\nb\r\n', 'NF\r\n');
  s.case('ms quiet and ttl').io('ms m4 1 q T100\r\nz\r\nmn\r\n', 'MN\r\n').io('mg m4 v\r\n', 'VA 1\r\nz\r\n').io('mg m4 T0 t\r\n', 'HD t-1\r\n');
  s.case('meta errors')
    .io('ms m5 abc\r\n', 'CLIENT_ERROR bad data chunk\r\n')
    .io('ms m5 1 !\r\nx\r\nmn\r\n', 'CLIENT_ERROR invalid flag\r\nMN\r\n')
    .io('mg m1 v v\r\n', 'CLIENT_ERROR duplicate flag\r\n')
    .io('mg m1 Tabc\r\n', 'CLIENT_ERROR bad token in command line format\r\n')
    .io(`mg ${k251} v\r\n`, 'CLIENT_ERROR bad command line format\r\n')
    .io('mg\r\n', 'CLIENT_ERROR bad command line format\r\n')
    .io('mz foo\r\n', 'ERROR\r\n')
    .io(Buffer.concat([Buffer.from('ms mbig 1100000\r\n'), Buffer.alloc(1_100_000, 0x62), Buffer.from('\r\nmn\r\n')]), 'SERVER_ERROR object too large for cache\r\nMN\r\n')
    .io('ms m5 3\r\nabcde\r\nmn\r\n', 'CLIENT_ERROR bad data chunk\r\nERROR\r\nMN\r\n');
  s.case('md')
    .io('md m1\r\n', 'HD\r\n')
    .io('md m1\r\n', 'NF\r\n')
    .io('md m1 q\r\nmn\r\n', 'MN\r\n')
    .io('ms m6 1 E9\r\nx\r\n', 'HD\r\n')
    .io('md m6 C8\r\n', 'EX\r\n')
    .io('md m6 C9 k\r\n', 'HD km6\r\n');
  s.case('ma')
    .io('ms c1 1\r\n5\r\n', 'HD\r\n')
    .io('ma c1\r\n', 'HD\r\n')
    .io('ma c1 v\r\n', 'VA 1\r\n7\r\n')
    .io('ma c1 v MD D10\r\n', 'VA 1\r\n0\r\n')
    .io('ma c1 v D25\r\n', 'VA 2\r\n25\r\n')
    .io('ma nope\r\n', 'NF\r\n')
    .io('ma nope q\r\nmn\r\n', 'MN\r\n')
    .io('ma nope N0 J13 v\r\n', 'VA 2\r\n13\r\n')
    .io('ma m2 v\r\n', 'CLIENT_ERROR cannot increment or decrement non-numeric value\r\n');
  s.case('mg N vivifies; the first client wins')
    .io('mg v1 N30 v\r\n', 'VA 0 W\r\n\r\n')
    .io('mg v1 v\r\n', 'VA 0 Z\r\n\r\n')
    .io('mg v1 s\r\n', 'HD s0 Z\r\n');
  s.case('md I marks stale; one client wins the recache')
    .io('ms s1 1\r\nx\r\n', 'HD\r\n')
    .io('md s1 I\r\n', 'HD\r\n')
    .io('mg s1 v\r\n', 'VA 1 W X\r\nx\r\n')
    .io('mg s1 v\r\n', 'VA 1 X Z\r\nx\r\n')
    .io('ms s1 1\r\ny\r\n', 'HD\r\n')
    .io('mg s1 v\r\n', 'VA 1\r\ny\r\n');
  s.case('me').io('me m2\r\n', `ME m2 exp=-1 la=${D} cas=${D} fetch=no cls=${D} size=${D}\r\n`).io('me absent\r\n', 'EN\r\n');
  s.case('meta b: base64 keys, binary keys returned encoded')
    .io('ms AP9rZXk= 3 b k\r\nabc\r\n', 'HD b kAP9rZXk=\r\n')
    .io('mg AP9rZXk= b v k f\r\n', 'VA 3 b kAP9rZXk= f0\r\nabc\r\n')
    .io('ms Zm9v 2 b\r\nhi\r\n', 'HD b\r\n')
    .io('get foo\r\n', 'VALUE foo 0 2\r\nhi\r\nEND\r\n')
    .io('ma Zm9v b\r\n', 'CLIENT_ERROR cannot increment or decrement non-numeric value\r\n')
    .io('md Zm9v b q\r\nmn\r\n', 'MN\r\n')
    .io('get foo\r\n', 'END\r\n')
    .io('mg Zm9v! b v\r\n', 'CLIENT_ERROR error decoding key\r\n')
    .io('ms Zm9 2 b\r\nhi\r\nmn\r\n', 'CLIENT_ERROR error decoding key\r\nMN\r\n');
  s.case('meta and text see the same items').io('set tm 3 0 2\r\nhi\r\n', 'STORED\r\n').io('mg tm v f\r\n', 'VA 2 f3\r\nhi\r\n').io('ms tm 2 F4\r\nyo\r\n', 'HD\r\n').io('get tm\r\n', 'VALUE tm 4 2\r\nyo\r\nEND\r\n');
  return s;
}

/** -c: connections past the limit are told and closed; the others keep working. */
function connLimitScript(): KvScript {
  return new KvScript()
    .case('past -c')
    .io('set a 0 0 1\r\nx\r\n', 'STORED\r\n')
    .connect()
    .io('get a\r\n', 'VALUE a 0 1\r\nx\r\nEND\r\n')
    .connect()
    .expect('ERROR Too many open connections\r\n')
    .closed();
}

/** -m: many more items than fit; the oldest are evicted, the newest are all there. */
function evictionScript(): KvScript {
  const s = new KvScript().case('eviction under -m 2');
  const value = 'v'.repeat(1000);
  let sets = '';
  let stored = '';
  for (let i = 0; i < 4000; i++) {
    sets += `set e${i} 0 0 1000\r\n${value}\r\n`;
    stored += 'STORED\r\n';
  }
  s.io(sets, stored).io('get e0 e1\r\n', 'END\r\n');
  let gets = 'get';
  let hits = '';
  for (let i = 3900; i < 4000; i++) {
    gets += ` e${i}`;
    hits += `VALUE e${i} 0 1000\r\n${value}\r\n`;
  }
  s.io(gets + '\r\n', hits + 'END\r\n');
  return s;
}

function assertScript(o: Awaited<ReturnType<typeof runScript>>, script: KvScript, what: string): void {
  assertReport(o, what, script.names);
}

for (const kernel of KV_KERNELS) {
  for (const mode of MODES) {
    test(`kv protocol: text, meta, expiry [${kernel}, ${mode}]`, async () => {
      const vm = await pool(kernel).get(1);
      const { server, port } = await startKv(vm, mode as Mode);
      try {
        for (const [name, script] of [['text', textScript()], ['meta', metaScript()], ['time', timeScript()]] as const) {
          assertScript(await runScript(vm, mode as Mode, port, script), script, `${name} [${kernel}, ${mode}]`);
        }
      } finally {
        server.guest.kill();
        await server.done.catch(() => {});
      }
    });
  }
  test(`kv -c and eviction under -m [${kernel}, 2 threads]`, async () => {
    const vm = await pool(kernel).get(2);
    for (const [args, script] of [[['-c', '2'], connLimitScript()], [['-m', '2', '-I', '2k'], evictionScript()]] as const) {
      const { server, port } = await startKv(vm, 'exceptionless', args);
      try {
        assertScript(await runScript(vm, 'exceptionless', port, script), script, `${args.join(' ')} [${kernel}]`);
      } finally {
        server.guest.kill();
        await server.done.catch(() => {});
      }
    }
  });
}

test.run();
