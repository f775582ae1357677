# One precompiled header for libtorch, OpenCV and the standard library, built once and reused by
# every target of this project. GCC uses a precompiled header only in a compilation with the
# flags it was built with (-fPIC among them: an executable's default -fPIE would not do), so
# tlr_pch and every target that reuses it get the same settings, from tlr_use_pch(), per target:
# nothing is set for the directory, and a project that includes tlr keeps its own flags.
function(tlr_target_settings target)
  set_target_properties(${target} PROPERTIES
    CXX_STANDARD 17
    CXX_STANDARD_REQUIRED ON
    CXX_EXTENSIONS OFF
    # The SDK exports its classes explicitly (TLR_API); everything else stays inside its binary.
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  target_compile_options(${target} PRIVATE -fPIC)
  # TLR_SANITIZE (top-level CMakeLists.txt): here, so that tlr_pch and its users match.
  if(TLR_SANITIZE_FLAGS)
    target_compile_options(${target} PRIVATE ${TLR_SANITIZE_FLAGS})
    target_link_options(${target} PRIVATE ${TLR_SANITIZE_FLAGS})
  endif()
endfunction()

add_library(tlr_pch OBJECT ${CMAKE_CURRENT_LIST_DIR}/pch.cpp)
tlr_target_settings(tlr_pch)
target_link_libraries(tlr_pch PUBLIC ${TORCH_LIBRARIES} opencv_core)
target_include_directories(tlr_pch PUBLIC ${TORCH_INCLUDE_DIRS} ${OpenCV_INCLUDE_DIRS})
target_precompile_headers(tlr_pch PRIVATE
  <torch/torch.h>
  <opencv2/core.hpp>
  <algorithm> <functional> <map> <memory> <string> <unordered_map> <vector>)

# tlr_use_pch(<target>): the project's compile settings and the shared precompiled header. Call
# it right after add_library/add_executable, before other compile options.
function(tlr_use_pch target)
  tlr_target_settings(${target})
  target_precompile_headers(${target} REUSE_FROM tlr_pch)
endfunction()
