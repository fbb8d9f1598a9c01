// Process-wide settings: seed, threads, devices, version.
#include "slovo.h"
#include <dlfcn.h>
#include <mutex>
#include <ATen/Parallel.h>
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
SLOVO_API int slovo_abi_version() { return 4; }

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
