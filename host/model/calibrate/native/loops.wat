;; The loops of loops.c in Wasm, as AssemblyScript (-O3) would emit them: locals, one load per byte.
(module
 (memory (export "memory") 1)
 (func $fnv (param $p i32) (param $n i32) (result i32) (local $h i32) (local $end i32)
  (local.set $h (i32.const -2128831035))
  (local.set $end (i32.add (local.get $p) (local.get $n)))
  (if (i32.lt_s (local.get $n) (i32.const 1)) (then (return (local.get $h))))
  (loop $l
   (local.set $h (i32.mul (i32.xor (local.get $h) (i32.load8_u (local.get $p))) (i32.const 16777619)))
   (br_if $l (i32.ne (local.tee $p (i32.add (local.get $p) (i32.const 1))) (local.get $end))))
  (local.get $h))
 (func $header_end (param $p i32) (param $n i32) (result i32) (local $i i32) (local $state i32) (local $c i32)
  (block $out
   (loop $l
    (br_if $out (i32.ge_s (local.get $i) (local.get $n)))
    (local.set $c (i32.load8_u (i32.add (local.get $p) (local.get $i))))
    (if (i32.eq (local.get $c) (i32.const 13))
     (then (local.set $state (select (i32.const 3) (i32.const 1) (i32.eq (local.get $state) (i32.const 2)))))
     (else (if (i32.eq (local.get $c) (i32.const 10))
      (then
       (if (i32.eq (local.get $state) (i32.const 3)) (then (return (i32.add (local.get $i) (i32.const 1)))))
       (local.set $state (select (i32.const 2) (i32.const 0) (i32.eq (local.get $state) (i32.const 1)))))
      (else (local.set $state (i32.const 0))))))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br $l)))
  (i32.const -1))
 (func (export "kernels") (param $rounds i32) (result i32) (local $acc i32) (local $r i32)
  (block $out
   (loop $l
    (br_if $out (i32.ge_s (local.get $r) (local.get $rounds)))
    (local.set $acc (i32.add (local.get $acc) (i32.add (call $fnv (i32.const 0) (i32.const 4096)) (call $header_end (i32.const 0) (i32.const 4096)))))
    (local.set $r (i32.add (local.get $r) (i32.const 1)))
    (br $l)))
  (local.get $acc))
 (func (export "fill") (local $i i32)
  (loop $l
   (i32.store8 (local.get $i) (i32.load8_u (i32.add (i32.const 65000) (i32.rem_u (local.get $i) (i32.const 35)))))
   (br_if $l (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 4096)))))
 (data (i32.const 65000) "GET /index.html HTTP/1.1\r\nHost: x\r\n")
)
