# Prepares the build's own copy of the musl tree (cmake/musl.cmake runs this script).
#
# musl is built in place by its own Makefile, and Tern changes a few of its files, so the
# unpacked source in the cache is never built or changed: it is copied into the build
# directory once, and Tern's files are laid over the copy.
#
#   cmake -DMODE=copy -DSOURCE=<unpacked musl> -DTREE=<copy> -P prepare.cmake
#       Replaces TREE with a fresh copy of SOURCE.
#   cmake -DMODE=overlay -DOVERLAY=<libc/musl/overlay> -DTREE=<copy> -P prepare.cmake
#       Copies every file under OVERLAY to the same path in TREE and deletes the assembly
#       files listed below. Only files whose content differs are written, so musl's make
#       rebuilds only what changed. musl's Makefile does not track headers such as
#       syscall_arch.h, so when an overlaid header changes (or the set of deleted files
#       does), the copy's objects are deleted and musl is rebuilt whole.
cmake_minimum_required(VERSION 3.20)

# musl's x86-64 assembly that executes SYSCALL itself, bypassing syscall_arch.h. Deleting
# a file makes musl's build use the generic C version beside it, which calls through
# syscall_arch.h and so reaches Tern's backend:
#   __set_thread_area.s  arch_prctl(ARCH_SET_FS); the generic one uses set_thread_area,
#                        which the backend maps to thread_set_fs_base;
#   __unmapself.s        munmap + exit of a detached thread's last act, and
#   clone.s              thread creation: the overlay's __unmapself.c and clone.c beside
#                        them take their place and call the backend (backend_threads.c);
#   vfork.s              vfork (the generic one calls fork, which is ENOSYS);
#   restore.s            the signal-return trampoline (Tern runs no signal handlers yet).
# syscall_cp.s, the cancellation-point call, is replaced by the overlay's version instead:
# its symbols are referenced from C.
set(TERN_MUSL_DELETED
  src/thread/x86_64/__set_thread_area.s
  src/thread/x86_64/__unmapself.s
  src/thread/x86_64/clone.s
  src/process/x86_64/vfork.s
  src/signal/x86_64/restore.s)

# Lines of musl's own files that Tern's build changes in the copy, as triples of file,
# musl's line and Tern's line:
#   PTHREAD_STACK_MIN    musl's 2048 is less than a page (the suite's thread tests want
#                        the minimum a multiple of the page size) and too small for a
#                        thread that makes a system call: on Tern the call runs through
#                        the backend on the thread's own stack. 16 KiB, as on glibc.
set(TERN_MUSL_EDITS
  include/limits.h "#define PTHREAD_STACK_MIN 2048" "#define PTHREAD_STACK_MIN 16384")

if(NOT TREE)
  message(FATAL_ERROR "prepare.cmake: TREE is required")
endif()

if(MODE STREQUAL "copy")
  if(NOT EXISTS "${SOURCE}/Makefile")
    message(FATAL_ERROR "prepare.cmake: ${SOURCE} is not a musl source tree")
  endif()
  file(REMOVE_RECURSE "${TREE}")
  file(COPY "${SOURCE}/" DESTINATION "${TREE}")
elseif(MODE STREQUAL "overlay")
  if(NOT IS_DIRECTORY "${OVERLAY}" OR NOT EXISTS "${TREE}/Makefile")
    message(FATAL_ERROR "prepare.cmake: OVERLAY and a copied TREE are required")
  endif()
  set(rebuild_all FALSE)
  file(GLOB_RECURSE overlay_files RELATIVE "${OVERLAY}" "${OVERLAY}/*")
  foreach(file IN LISTS overlay_files)
    set(target "${TREE}/${file}")
    set(changed TRUE)
    if(EXISTS "${target}")
      file(SHA256 "${OVERLAY}/${file}" new_hash)
      file(SHA256 "${target}" old_hash)
      if(new_hash STREQUAL old_hash)
        set(changed FALSE)
      endif()
    endif()
    if(changed)
      # COPYONLY writes the file with the current time, so make sees it as new.
      configure_file("${OVERLAY}/${file}" "${target}" COPYONLY)
      if(file MATCHES "\\.h$")
        set(rebuild_all TRUE)
      endif()
    endif()
  endforeach()
  foreach(file IN LISTS TERN_MUSL_DELETED)
    if(EXISTS "${TREE}/${file}")
      file(REMOVE "${TREE}/${file}")
      set(rebuild_all TRUE)
    endif()
  endforeach()
  set(edits ${TERN_MUSL_EDITS})
  while(edits)
    list(POP_FRONT edits file musl_line tern_line)
    file(READ "${TREE}/${file}" text)
    string(FIND "${text}" "${tern_line}\n" done_at)
    if(done_at EQUAL -1)
      string(FIND "${text}" "${musl_line}\n" at)
      if(at EQUAL -1)
        message(FATAL_ERROR "prepare.cmake: ${file} has no line '${musl_line}'")
      endif()
      string(REPLACE "${musl_line}\n" "${tern_line}\n" text "${text}")
      file(WRITE "${TREE}/${file}" "${text}")
      set(rebuild_all TRUE)
    endif()
  endwhile()
  if(rebuild_all)
    file(REMOVE_RECURSE "${TREE}/obj/src" "${TREE}/obj/crt" "${TREE}/lib")
  endif()
else()
  message(FATAL_ERROR "prepare.cmake: MODE must be copy or overlay")
endif()
