// Process-wide settings: seed, threads, devices, version.
#include "slovo.h"
#include <dlfcn.h>
#include <mutex>
#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <torch/cuda.h>
#include <torch/version.h>

SLOVO_API int slovo_manual_seed(uint64_t seed) {
  SLOVO_TRY
  at::manual_seed(seed);
  SLOVO_CATCH
}

// A random generator of its own for one device, seeded: the same seed gives the same draws as the device's default
// generator after slovo_manual_seed, but nothing else draws from it. Freed with slovo_generator_free.
SLOVO_API int slovo_generator_new(int32_t device_type, int32_t device_index, uint64_t seed, void** out) {
  SLOVO_TRY
  c10::Device device(static_cast<c10::DeviceType>(device_type), static_cast<c10::DeviceIndex>(device_index));
  at::Generator g = at::globalContext().defaultGenerator(device).clone();
  {
    std::lock_guard<std::mutex> lock(g.mutex());
    g.set_current_seed(seed);
  }
  *out = new at::Generator(std::move(g));
  SLOVO_CATCH
}

SLOVO_API int slovo_generator_seed(void* g, uint64_t seed) {
  SLOVO_TRY
  TORCH_CHECK(g != nullptr, "no generator");
  auto* gen = static_cast<at::Generator*>(g);
  std::lock_guard<std::mutex> lock(gen->mutex());
  gen->set_current_seed(seed);
  SLOVO_CATCH
}

SLOVO_API void slovo_generator_free(void* g) { delete static_cast<at::Generator*>(g); }

SLOVO_API int slovo_set_num_threads(int32_t n) {
  SLOVO_TRY
  TORCH_CHECK(n > 0, "thread count must be positive, got ", n);
  at::set_num_threads(n);
  SLOVO_CATCH
}

SLOVO_API int slovo_get_num_threads() { return at::get_num_threads(); }

SLOVO_API int slovo_cuda_device_count() {
  try {
    return static_cast<int>(torch::cuda::device_count());
  } catch (...) {
    return 0;
  }
}

SLOVO_API const char* slovo_torch_version() { return TORCH_VERSION; }

// Bumped whenever the C ABI changes, so a stale native build is detected at load time.
SLOVO_API int slovo_abi_version() { return 7; }

// Sets OpenBLAS's own thread pool size when OpenBLAS is the loaded BLAS (returns 0 when it is not).
// libtorch already parallelises across ops with OpenMP; a multi-threaded BLAS inside each of those threads
// oversubscribes the cores (measured here: a char-LSTM training step 2.6x slower).
SLOVO_API int slovo_set_blas_threads(int32_t n) {
  using SetThreads = void (*)(int);
  auto fn = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (fn == nullptr) return 0;
  fn(n);
  return 1;
}

// Automatic mixed precision on this thread for one device type (CPU or CUDA): operators on the autocast lists run in
// `dtype` (e.g. bfloat16), the rest in float32, as torch.autocast does. Push returns the previous state for pop; the
// cast-weight cache is cleared when the outermost region ends. libtorch 2.4 replaced the per-device calls with ones taking
// the device type; both are served.
namespace slovo {
bool autocast_enabled(c10::DeviceType d) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  return at::autocast::is_autocast_enabled(d);
#else
  return d == c10::DeviceType::CUDA ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
#endif
}
at::ScalarType autocast_dtype(c10::DeviceType d) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  return at::autocast::get_autocast_dtype(d);
#else
  return d == c10::DeviceType::CUDA ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
#endif
}
void set_autocast(c10::DeviceType d, bool enabled, at::ScalarType dtype) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  at::autocast::set_autocast_enabled(d, enabled);
  at::autocast::set_autocast_dtype(d, dtype);
#else
  if (d == c10::DeviceType::CUDA) {
    at::autocast::set_enabled(enabled);
    at::autocast::set_autocast_gpu_dtype(dtype);
  } else {
    at::autocast::set_cpu_enabled(enabled);
    at::autocast::set_autocast_cpu_dtype(dtype);
  }
#endif
}
}  // namespace slovo

using slovo::autocast_dtype;
using slovo::autocast_enabled;
using slovo::set_autocast;

SLOVO_API int slovo_autocast_push(int32_t device_type, int32_t dtype, int32_t* prev_enabled, int32_t* prev_dtype) {
  SLOVO_TRY
  auto d = static_cast<c10::DeviceType>(device_type);
  TORCH_CHECK(d == c10::DeviceType::CPU || d == c10::DeviceType::CUDA, "autocast is for cpu or cuda, not ", d);
  *prev_enabled = autocast_enabled(d) ? 1 : 0;
  *prev_dtype = static_cast<int32_t>(autocast_dtype(d));
  set_autocast(d, true, static_cast<at::ScalarType>(dtype));
  at::autocast::increment_nesting();
  SLOVO_CATCH
}

SLOVO_API int slovo_autocast_pop(int32_t device_type, int32_t prev_enabled, int32_t prev_dtype) {
  SLOVO_TRY
  auto d = static_cast<c10::DeviceType>(device_type);
  set_autocast(d, prev_enabled != 0, static_cast<at::ScalarType>(prev_dtype));
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  SLOVO_CATCH
}

// TF32 tensor cores for float32 matmuls and convolutions on CUDA (torch.backends.cuda.matmul.allow_tf32 and
// torch.backends.cudnn.allow_tf32); no effect on the CPU.
SLOVO_API int slovo_set_allow_tf32(int32_t allow) {
  SLOVO_TRY
  at::globalContext().setAllowTF32CuBLAS(allow != 0);
  at::globalContext().setAllowTF32CuDNN(allow != 0);
  SLOVO_CATCH
}

// Waits for every kernel queued on the current CUDA device (for timing); a no-op without CUDA.
SLOVO_API int slovo_cuda_synchronize() {
  SLOVO_TRY
  if (torch::cuda::is_available()) torch::cuda::synchronize();
  SLOVO_CATCH
}
