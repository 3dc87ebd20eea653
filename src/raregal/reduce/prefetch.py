"""``prefetch_row``: ask the CPU to start loading one row of an array, from numba code.

Random reads (UMAP's negative samples) stall on memory; issuing the load of the next row while
the current one is computed hides most of that wait. numba has no prefetch of its own, so this
emits LLVM's ``llvm.prefetch`` (read, high locality, data cache); it has no other effect.
"""

from __future__ import annotations

from typing import Any

from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic


@intrinsic
def prefetch_row(typingctx: Any, array: types.Array, row: types.Integer) -> Any:
    """Prefetch ``array[row, 0]`` (numba intrinsic; call it from jitted code only)."""

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        array_type, row_type = signature.args
        view = context.make_array(array_type)(context, builder, args[0])
        index = context.cast(builder, args[1], row_type, types.intp)
        zero = context.get_constant(types.intp, 0)
        pointer = cgutils.get_item_pointer(context, builder, array_type, view, [index, zero])
        byte_pointer = ir.PointerType(ir.IntType(8))
        int32 = ir.IntType(32)
        function_type = ir.FunctionType(ir.VoidType(), [byte_pointer, int32, int32, int32])
        prefetch = cgutils.get_or_insert_function(builder.module, function_type, "llvm.prefetch.p0")
        builder.call(
            prefetch, [builder.bitcast(pointer, byte_pointer), int32(0), int32(3), int32(1)]
        )
        return context.get_dummy_value()

    return types.void(array, row), codegen
