// The C ABI of Slovo's libtorch shim. Every export returns a status (0 = ok, 1 = error); on error the
// message is kept per thread and read with slovo_last_error(). No C++ exception crosses this boundary.
#pragma once
#include <cstdint>
#include <ATen/ATen.h>

#define SLOVO_API extern "C" __attribute__((visibility("default")))

namespace slovo {
void set_error(const char* message);
// This thread's autocast state for a device type (runtime.cpp; libtorch 1.x and 2.x alike).
bool autocast_enabled(c10::DeviceType d);
at::ScalarType autocast_dtype(c10::DeviceType d);
void set_autocast(c10::DeviceType d, bool enabled, at::ScalarType dtype);
}

// Wraps an export body: any exception becomes status 1 with its message.
#define SLOVO_TRY try {
#define SLOVO_CATCH                                                        \
  }                                                                        \
  catch (const c10::Error& e) {                                            \
    slovo::set_error(e.what_without_backtrace());                          \
    return 1;                                                              \
  }                                                                        \
  catch (const std::exception& e) {                                        \
    slovo::set_error(e.what());                                            \
    return 1;                                                              \
  }                                                                        \
  catch (...) {                                                            \
    slovo::set_error("unknown native error");                              \
    return 1;                                                              \
  }                                                                        \
  return 0;

// A tensor handle is a TensorImpl* that owns one reference; null stands for an undefined tensor.
// Handing the impl itself across (rather than a heap-allocated at::Tensor) saves an allocation per result.
typedef c10::TensorImpl* TensorHandle;

namespace slovo {

// Transfers ownership of `t`'s reference into a handle.
inline TensorHandle release(at::Tensor t) { return t.defined() ? t.unsafeReleaseTensorImpl() : nullptr; }

// Drops the handle's reference.
inline void free_handle(TensorHandle h) {
  if (h) c10::raw::intrusive_ptr::decref(h);
}

// An at::Tensor that borrows a handle's reference for the duration of a call (no refcount traffic).
class Borrowed {
 public:
  explicit Borrowed(TensorHandle h)
      : t_(h ? at::Tensor(c10::intrusive_ptr<c10::TensorImpl, c10::UndefinedTensorImpl>::reclaim(h)) : at::Tensor()) {}
  ~Borrowed() {
    if (t_.defined()) t_.unsafeReleaseTensorImpl();
  }
  Borrowed(const Borrowed&) = delete;
  Borrowed& operator=(const Borrowed&) = delete;
  at::Tensor& operator*() { return t_; }
  at::Tensor* operator->() { return &t_; }

 private:
  at::Tensor t_;
};

}  // namespace slovo

// Typed operator arguments (blittable; mirrored by NativeArg in C#).
enum SlovoArgTag : int32_t {
  ARG_NONE = 0,
  ARG_TENSOR = 1,        // p: TensorHandle (null = undefined/None for Tensor?)
  ARG_INT = 2,           // i
  ARG_DOUBLE = 3,        // d
  ARG_BOOL = 4,          // i
  ARG_INT_LIST = 5,      // p: int64_t*, len
  ARG_TENSOR_LIST = 6,   // p: TensorHandle*, len
  ARG_OPT_TENSOR_LIST = 7, // p: TensorHandle* (null entries = None), len
  ARG_DOUBLE_LIST = 8,   // p: double*, len
  ARG_BOOL_LIST = 9,     // p: uint8_t*, len
  ARG_SCALAR_TYPE = 10,  // i: c10::ScalarType
  ARG_STRING = 11,       // p: const char* (UTF-8, zero-terminated)
  ARG_DEVICE = 12,       // i: device type, len: device index
  ARG_LAYOUT = 13,       // i
  ARG_MEMORY_FORMAT = 14, // i
  ARG_GENERATOR = 15     // p: at::Generator* from slovo_generator_new (null = None: the device's default generator)
};

struct SlovoArg {
  int32_t tag;
  int32_t len;
  union {
    int64_t i;
    double d;
    void* p;
  } v;
};

enum SlovoRetTag : int32_t { RET_NONE = 0, RET_TENSOR = 1, RET_INT = 2, RET_DOUBLE = 3, RET_BOOL = 4 };

struct SlovoRet {
  int32_t tag;
  int32_t pad;
  union {
    TensorHandle t;
    int64_t i;
    double d;
  } v;
};

struct SlovoTensorInfo {
  int64_t numel;
  int32_t dim;
  int32_t dtype;
  int32_t device_type;
  int32_t device_index;
  int32_t requires_grad;
  int32_t is_leaf;
  int32_t is_contiguous;
  int32_t pad;
};
