# Compiling BPF plugins: clang -target bpf, CO-RE against vmlinux.h, and embedding
# the objects in the tcpxi binary.

find_program(TCPXI_BPF_CLANG NAMES clang clang-19 clang-16 clang-15 clang-14 REQUIRED)
find_program(TCPXI_BPFTOOL NAMES bpftool PATHS /usr/sbin /usr/local/sbin)

if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|amd64")
  set(TCPXI_BPF_ARCH x86)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
  set(TCPXI_BPF_ARCH arm64)
else()
  set(TCPXI_BPF_ARCH ${CMAKE_SYSTEM_PROCESSOR})
endif()

# vmlinux.h from the running kernel's BTF; the checked-in copy (kernel 6.18, x86_64)
# when the build host has no BTF or no bpftool. CO-RE relocates either to the kernel
# the plugin finally runs on.
function(tcpxi_vmlinux_header out_dir_var)
  set(dir ${CMAKE_BINARY_DIR}/vmlinux)
  file(MAKE_DIRECTORY ${dir})
  if(EXISTS /sys/kernel/btf/vmlinux AND TCPXI_BPFTOOL)
    execute_process(
      COMMAND ${TCPXI_BPFTOOL} btf dump file /sys/kernel/btf/vmlinux format c
      OUTPUT_FILE ${dir}/vmlinux.h RESULT_VARIABLE rc ERROR_QUIET)
    if(rc EQUAL 0)
      message(STATUS "tcpxi: vmlinux.h from /sys/kernel/btf/vmlinux")
      set(${out_dir_var} ${dir} PARENT_SCOPE)
      return()
    endif()
  endif()
  file(GLOB fallback ${PROJECT_SOURCE_DIR}/bpf/vmlinux/vmlinux-*-x86_64.h.xz)
  list(GET fallback 0 fallback)
  message(STATUS "tcpxi: no kernel BTF here, using ${fallback}")
  execute_process(COMMAND xz -dc ${fallback} OUTPUT_FILE ${dir}/vmlinux.h RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "cannot decompress ${fallback} (install xz-utils)")
  endif()
  set(${out_dir_var} ${dir} PARENT_SCOPE)
endfunction()

# tcpxi_bpf_objects(OUT_VAR SOURCES a.bpf.c ... INCLUDES dir ...)
function(tcpxi_bpf_objects out_var)
  cmake_parse_arguments(ARG "" "" "SOURCES;INCLUDES" ${ARGN})
  set(objects)
  set(include_flags)
  foreach(inc ${ARG_INCLUDES})
    list(APPEND include_flags -I${inc})
  endforeach()
  file(GLOB_RECURSE sdk_headers ${PROJECT_SOURCE_DIR}/bpf/include/*.h)
  foreach(src ${ARG_SOURCES})
    get_filename_component(name ${src} NAME_WE)
    set(obj ${CMAKE_BINARY_DIR}/bpf/${name}.bpf.o)
    add_custom_command(
      OUTPUT ${obj}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/bpf
      COMMAND ${TCPXI_BPF_CLANG} -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_${TCPXI_BPF_ARCH}
              ${include_flags} -c ${src} -o ${obj}
      DEPENDS ${src} ${sdk_headers}
      COMMENT "BPF ${name}.bpf.o"
      VERBATIM)
    list(APPEND objects ${obj})
  endforeach()
  add_custom_target(tcpxi_bpf_objects ALL DEPENDS ${objects})
  set(${out_var} ${objects} PARENT_SCOPE)
endfunction()

# Generates a C++ source holding every object as a byte array.
function(tcpxi_embed_objects out_cpp)
  add_custom_command(
    OUTPUT ${out_cpp}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out_cpp} "-DOBJECTS=${ARGN}"
            -P ${PROJECT_SOURCE_DIR}/cmake/EmbedObjects.cmake
    DEPENDS ${ARGN} ${PROJECT_SOURCE_DIR}/cmake/EmbedObjects.cmake
    COMMENT "Embedding BPF objects"
    VERBATIM)
endfunction()
