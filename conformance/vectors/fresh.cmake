# SPDX-License-Identifier: MIT
# ctest vectors_fresh: regenerate the golden vectors into a scratch directory
# and require them to equal the committed ones byte for byte, both ways.
#
# cmake -DMKVECTORS=<shmchop-mkvectors> -DSHMCHOP_OUT=<shmchop-out>
#       -DVECTORS_DIR=<committed dir> -DSCRATCH_DIR=<scratch dir> -P fresh.cmake

foreach(var MKVECTORS SHMCHOP_OUT VECTORS_DIR SCRATCH_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "fresh.cmake: -D${var}=... is required")
  endif()
endforeach()

file(REMOVE_RECURSE ${SCRATCH_DIR})
file(MAKE_DIRECTORY ${SCRATCH_DIR})
execute_process(COMMAND ${MKVECTORS} ${SCRATCH_DIR} ${SHMCHOP_OUT}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 60)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "shmchop-mkvectors failed (${rc}): ${err}")
endif()

# Generated content is every .img plus the manifest; README.md, mkvectors.c
# and this script are hand-written.
file(GLOB fresh RELATIVE ${SCRATCH_DIR} ${SCRATCH_DIR}/*.img ${SCRATCH_DIR}/MANIFEST.tsv)
file(GLOB committed RELATIVE ${VECTORS_DIR} ${VECTORS_DIR}/*.img ${VECTORS_DIR}/MANIFEST.tsv)
list(SORT fresh)
list(SORT committed)

set(problems "")
foreach(f IN LISTS fresh)
  if(NOT EXISTS ${VECTORS_DIR}/${f})
    string(APPEND problems "  ${f}: generated but not committed\n")
    continue()
  endif()
  file(SHA256 ${SCRATCH_DIR}/${f} h_fresh)
  file(SHA256 ${VECTORS_DIR}/${f} h_committed)
  if(NOT h_fresh STREQUAL h_committed)
    string(APPEND problems "  ${f}: committed bytes differ from the generator's\n")
  endif()
endforeach()
foreach(f IN LISTS committed)
  if(NOT EXISTS ${SCRATCH_DIR}/${f})
    string(APPEND problems "  ${f}: committed but no longer generated\n")
  endif()
endforeach()

list(LENGTH fresh n)
if(n EQUAL 0)
  string(APPEND problems "  the generator produced no vectors\n")
endif()
if(problems)
  message(FATAL_ERROR "golden vectors drifted from mkvectors.c "
    "(regenerate as vectors/README.md says, review, commit):\n${problems}")
endif()
file(REMOVE_RECURSE ${SCRATCH_DIR})
message(STATUS "vectors_fresh: ${n} files match")
