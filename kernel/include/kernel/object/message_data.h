#pragma once
// Buffers for message data parts. Data parts come from two pooled sizes (256 B, 4 KiB)
// and the heap above them; free_message_data is the obj::DataRelease of every data part
// a task sends.
#include <stdint.h>

namespace kernel {

// A buffer of at least `size` bytes, or null when memory is short.
void* alloc_message_data(uint32_t size);
// Gives back a buffer from alloc_message_data of the same size.
void free_message_data(void* data, uint32_t size);

} // namespace kernel
