"""A cache prefetch hint for numba kernels (LLVM's llvm.prefetch; numba exposes none).

The taint kernel walks a chain far larger than the caches; asking for the next tx's rows while
the current one is worked on overlaps their memory latency with useful work (measured ~10 % of a
cold 6- and 10-hop trace on a 10M-tx chain). The store's hash tables and union-find do the same
for the slot a query a few rows ahead will probe. (Here, below every layer that uses it.)
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


@intrinsic
def prefetch(typingctx, arr, idx):
    """Hint the CPU to bring ``arr[idx]`` into cache (read, keep). No bounds check: a hint to an
    address outside the array does not fault."""
    sig = types.void(arr, idx)

    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]], wraparound=False, boundscheck=False)
        i8p, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]),
                                            "llvm.prefetch.p0i8")
        # rw = 0 (read), locality = 3 (keep in all levels), cache type = 1 (data)
        builder.call(fn, [builder.bitcast(ptr, i8p), ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen
