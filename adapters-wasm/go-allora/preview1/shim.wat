;; A minimal wasi_snapshot_preview1 implementation for Go adapters: the adapter module that
;; `wasm-tools component new --adapt` links in place of wasmtime's preview1 reactor adapter.
;;
;; Why not wasmtime's adapter: it allocates its state and stack through the main module's
;; `cabi_realloc` or `memory.grow`. Go cannot be re-entered from inside its runtime (a Go
;; `cabi_realloc` called during runtime start-up throws "badsystemstack"), and Go's heap assumes
;; it owns all memory above its data, so pages grown by someone else get overwritten. This shim
;; needs no memory of its own: it implements exactly the preview1 functions Go's runtime
;; imports, with what the node's sandbox offers anyway — no arguments, no environment, no files,
;; output discarded (use allora:adapter/log), clocks and randomness from WASI 0.2.
(module
  (import "env" "memory" (memory 0))
  (import "wasi:clocks/monotonic-clock@0.2.0" "now" (func $monotonic_now (result i64)))
  (import "wasi:clocks/wall-clock@0.2.0" "now" (func $wall_now (param i32)))
  (import "wasi:random/random@0.2.0" "get-random-u64" (func $random_u64 (result i64)))

  ;; errno values
  ;; 0 success, 8 badf

  (func (export "args_sizes_get") (param $argc i32) (param $size i32) (result i32)
    (i32.store (local.get $argc) (i32.const 0))
    (i32.store (local.get $size) (i32.const 0))
    (i32.const 0))
  (func (export "args_get") (param i32 i32) (result i32) (i32.const 0))
  (func (export "environ_sizes_get") (param $count i32) (param $size i32) (result i32)
    (i32.store (local.get $count) (i32.const 0))
    (i32.store (local.get $size) (i32.const 0))
    (i32.const 0))
  (func (export "environ_get") (param i32 i32) (result i32) (i32.const 0))

  ;; clock 0 is realtime (wall clock); every other clock is the monotonic clock.
  (func (export "clock_time_get") (param $id i32) (param $precision i64) (param $out i32) (result i32)
    (local $saved i64)
    (if (i32.eqz (local.get $id))
      (then
        ;; wall-clock.now writes a 16-byte datetime {seconds u64, nanoseconds u32} to a return
        ;; area; the caller's 8-byte result slot plus the 8 bytes after it serve as that area,
        ;; and those 8 bytes are restored before returning (single-threaded, nothing else runs).
        (local.set $saved (i64.load offset=8 (local.get $out)))
        (call $wall_now (local.get $out))
        (i64.store (local.get $out)
          (i64.add
            (i64.mul (i64.load (local.get $out)) (i64.const 1000000000))
            (i64.extend_i32_u (i32.load offset=8 (local.get $out)))))
        (i64.store offset=8 (local.get $out) (local.get $saved))
        (return (i32.const 0))))
    (i64.store (local.get $out) (call $monotonic_now))
    (i32.const 0))

  (func (export "random_get") (param $buf i32) (param $len i32) (result i32)
    (local $r i64)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $len)))
        (if (i32.ge_u (local.get $len) (i32.const 8))
          (then
            (i64.store (local.get $buf) (call $random_u64))
            (local.set $buf (i32.add (local.get $buf) (i32.const 8)))
            (local.set $len (i32.sub (local.get $len) (i32.const 8))))
          (else
            (local.set $r (call $random_u64))
            (loop $byte
              (i64.store8 (local.get $buf) (local.get $r))
              (local.set $r (i64.shr_u (local.get $r) (i64.const 8)))
              (local.set $buf (i32.add (local.get $buf) (i32.const 1)))
              (local.set $len (i32.sub (local.get $len) (i32.const 1)))
              (br_if $byte (local.get $len)))))
        (br $next)))
    (i32.const 0))

  ;; Output is accepted and discarded: the sandbox gives adapters no stdout/stderr to speak of.
  (func $fd_write (export "fd_write") (param $fd i32) (param $iovs i32) (param $n i32) (param $written i32) (result i32)
    (local $total i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $total (i32.add (local.get $total) (i32.load offset=4 (local.get $iovs))))
        (local.set $iovs (i32.add (local.get $iovs) (i32.const 8)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (i32.store (local.get $written) (local.get $total))
    (i32.const 0))

  ;; No event source exists, so a poll returns at once with no events (Go then re-checks its
  ;; timers against the monotonic clock).
  (func (export "poll_oneoff") (param i32 i32 i32) (param $nevents i32) (result i32)
    (i32.store (local.get $nevents) (i32.const 0))
    (i32.const 0))
  (func (export "sched_yield") (result i32) (i32.const 0))
  (func (export "proc_exit") (param i32) (unreachable))

  ;; stdin/stdout/stderr exist as character devices; there are no other descriptors and no
  ;; preopened directories.
  (func (export "fd_fdstat_get") (param $fd i32) (param $buf i32) (result i32)
    (if (i32.gt_u (local.get $fd) (i32.const 2)) (then (return (i32.const 8))))
    (i64.store (local.get $buf) (i64.const 0))
    (i64.store offset=8 (local.get $buf) (i64.const 0))
    (i64.store offset=16 (local.get $buf) (i64.const 0))
    (i32.store8 (local.get $buf) (i32.const 2))
    (i32.const 0))
  (func (export "fd_fdstat_set_flags") (param $fd i32) (param i32) (result i32)
    (if (result i32) (i32.gt_u (local.get $fd) (i32.const 2))
      (then (i32.const 8)) (else (i32.const 0))))
  (func (export "fd_close") (param i32) (result i32) (i32.const 8))
  (func (export "fd_prestat_get") (param i32 i32) (result i32) (i32.const 8))
  (func (export "fd_prestat_dir_name") (param i32 i32 i32) (result i32) (i32.const 8))
)
