# The harnesses, one source file <name>.cpp each; read by this project and by tests.cmake.
set(TERN_FUZZ_HARNESSES
  fuzz_bus_frame
  fuzz_nic_ledger
  fuzz_e1000_rings
  fuzz_virtqueue
  fuzz_libc_sockets)
