# The engine's layers as build targets, and the arrows between them.
#
# Each layer is a static library compiled against an include "view" of its
# own: a directory in the build tree holding links to the headers of the
# layers it may use, and nothing else. An include of a layer above (or beside)
# it finds no file there: a forbidden arrow is a compile error, not a review
# comment. The public headers in include/runnel are assigned to layers too
# (below), and RUNNEL_CHECK_HEADERS compiles each one alone against its own
# layer's view. Down the stack (docs/architecture.md):
#
#   api -> plan -> runtime -> state -> core
#   api -> io -> operators -> state -> core
#   api -> observe -> core
#
# The layer a public header belongs to (relative to include/runnel).
set(RUNNEL_HEADERS_core
  coder.hpp dead_letter.hpp emitter.hpp error.hpp execution_mode.hpp fields.hpp hash.hpp pane.hpp unit.hpp
  version.hpp window.hpp
  detail/batch.hpp detail/batch_coder.hpp detail/check.hpp detail/counter.hpp detail/key_groups.hpp detail/memory_size.hpp
  detail/node_builder.hpp detail/node_spec.hpp detail/operator.hpp detail/partitioner.hpp
  detail/shared_state.hpp detail/snapshot.hpp)
set(RUNNEL_HEADERS_state
  detail/flat_table.hpp detail/keyed_restore.hpp detail/keyed_rows.hpp detail/keyed_timers.hpp
  detail/kv_store.hpp detail/native_snapshots.hpp detail/row_log.hpp detail/row_table.hpp detail/sorted_writes.hpp detail/spill_file.hpp
  detail/timer_store.hpp)
set(RUNNEL_HEADERS_runtime)
set(RUNNEL_HEADERS_operators
  combine_fn.hpp combiners.hpp do_fn.hpp element_context.hpp state.hpp trigger.hpp
  watermarks.hpp windows.hpp
  detail/callable_traits.hpp detail/combine_ops.hpp detail/distinct_op.hpp
  detail/element_ops.hpp detail/spilling_aggregator.hpp detail/split_watermarks.hpp
  detail/stateful_par_do.hpp detail/time_ops.hpp detail/window_panes.hpp
  detail/window_state.hpp detail/windowed_key.hpp)
set(RUNNEL_HEADERS_io
  csv.hpp generator.hpp hybrid.hpp io.hpp json.hpp kafka.hpp nexmark.hpp
  detail/descriptor_nodes.hpp detail/file_io_ops.hpp detail/file_splits.hpp detail/generator_source.hpp
  detail/hybrid_source.hpp detail/kafka_ops.hpp detail/memory_io.hpp detail/output_files.hpp)
set(RUNNEL_HEADERS_observe)
set(RUNNEL_HEADERS_plan)
set(RUNNEL_HEADERS_api pcollection.hpp pipeline.hpp program_flags.hpp run_main.hpp runnel.hpp)

# What each layer may include (itself and below).
set(RUNNEL_SEES_core core)
set(RUNNEL_SEES_state core state)
set(RUNNEL_SEES_runtime core state runtime)
set(RUNNEL_SEES_operators core state operators)
set(RUNNEL_SEES_io core state operators io)
set(RUNNEL_SEES_observe core observe)
set(RUNNEL_SEES_plan core state runtime plan)
set(RUNNEL_SEES_api core state runtime operators io observe plan api)
set(RUNNEL_LAYERS core state runtime operators io observe plan api)

# Every public header must belong to a layer: a new one that does not is an error here.
file(GLOB_RECURSE _runnel_all_headers CONFIGURE_DEPENDS RELATIVE ${PROJECT_SOURCE_DIR}/include/runnel
  ${PROJECT_SOURCE_DIR}/include/runnel/*.hpp)
set(_runnel_assigned)
foreach(layer IN LISTS RUNNEL_LAYERS)
  list(APPEND _runnel_assigned ${RUNNEL_HEADERS_${layer}})
endforeach()
foreach(h IN LISTS _runnel_all_headers)
  if(NOT h IN_LIST _runnel_assigned)
    message(FATAL_ERROR "include/runnel/${h} belongs to no layer: add it to a RUNNEL_HEADERS_<layer> list in cmake/layers.cmake")
  endif()
endforeach()

# The include view of `layer`: <build>/layer-views/<layer>/{runnel/<header>, <src folder>}.
function(runnel_layer_view layer out_var)
  set(view ${PROJECT_BINARY_DIR}/layer-views/${layer})
  file(REMOVE_RECURSE ${view})
  file(MAKE_DIRECTORY ${view}/runnel/detail)
  foreach(seen IN LISTS RUNNEL_SEES_${layer})
    foreach(h IN LISTS RUNNEL_HEADERS_${seen})
      file(CREATE_LINK ${PROJECT_SOURCE_DIR}/include/runnel/${h} ${view}/runnel/${h} SYMBOLIC)
    endforeach()
    if(IS_DIRECTORY ${PROJECT_SOURCE_DIR}/src/${seen})
      file(CREATE_LINK ${PROJECT_SOURCE_DIR}/src/${seen} ${view}/${seen} SYMBOLIC)
    endif()
  endforeach()
  set(${out_var} ${view} PARENT_SCOPE)
endfunction()

# A layer's library: runnel_<layer>, compiled against its view only.
#   runnel_add_layer(<layer> SOURCES ... LINKS PUBLIC <lower layers> PRIVATE <packages>)
function(runnel_add_layer layer)
  cmake_parse_arguments(L "" "" "SOURCES;LINKS" ${ARGN})
  runnel_layer_view(${layer} view)
  add_library(runnel_${layer} STATIC ${L_SOURCES})
  target_include_directories(runnel_${layer} PRIVATE ${view})
  target_include_directories(runnel_${layer} SYSTEM PRIVATE ${XXHASH_INCLUDE_DIR} ${ROCKSDB_INCLUDE_DIR})
  target_link_libraries(runnel_${layer} PUBLIC Threads::Threads ${L_LINKS})
  target_compile_options(runnel_${layer} PRIVATE ${RUNNEL_WARNINGS})
endfunction()

# Every public header compiled alone, against its own layer's view: a header
# that needs an include it does not make, or reaches a layer above its own,
# fails here (RocksDB's check of include/rocksdb).
function(runnel_add_header_check)
  set(sources)
  foreach(layer IN LISTS RUNNEL_LAYERS)
    runnel_layer_view(${layer} view)
    foreach(h IN LISTS RUNNEL_HEADERS_${layer})
      string(MAKE_C_IDENTIFIER ${h} id)
      set(src ${PROJECT_BINARY_DIR}/header-check/${layer}/${id}.cpp)
      file(CONFIGURE OUTPUT ${src} CONTENT "#include \"runnel/${h}\"\n")
      set_source_files_properties(${src} PROPERTIES INCLUDE_DIRECTORIES ${view})
      list(APPEND sources ${src})
    endforeach()
  endforeach()
  add_library(runnel_header_check OBJECT ${sources})
  target_include_directories(runnel_header_check SYSTEM PRIVATE ${XXHASH_INCLUDE_DIR} ${ROCKSDB_INCLUDE_DIR})
  target_compile_options(runnel_header_check PRIVATE ${RUNNEL_WARNINGS})
endfunction()
