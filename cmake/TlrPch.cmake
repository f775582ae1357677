# One precompiled header for libtorch, OpenCV and the standard library, built once and reused by
# every target (all targets share the same flags for that reason; see the top CMakeLists.txt).
add_library(tlr_pch OBJECT ${CMAKE_CURRENT_LIST_DIR}/pch.cpp)
target_link_libraries(tlr_pch PUBLIC ${TORCH_LIBRARIES} opencv_core)
target_include_directories(tlr_pch PUBLIC ${TORCH_INCLUDE_DIRS} ${OpenCV_INCLUDE_DIRS})
target_precompile_headers(tlr_pch PRIVATE
  <torch/torch.h>
  <opencv2/core.hpp>
  <algorithm> <functional> <map> <memory> <string> <unordered_map> <vector>)

function(tlr_use_pch target)
  target_precompile_headers(${target} REUSE_FROM tlr_pch)
endfunction()
