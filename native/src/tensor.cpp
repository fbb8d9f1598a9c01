// Tensor handles: creation from host memory, metadata, export to host memory, release.
#include "slovo.h"
#include <c10/core/GradMode.h>
#include <cstring>

SLOVO_API void slovo_tensor_free(TensorHandle th) { slovo::free_handle(th); }

// Copies `nbytes` from `data` into a new CPU tensor of the given shape and dtype.
SLOVO_API int slovo_tensor_from_data(const void* data, int64_t nbytes, const int64_t* shape, int32_t ndim,
                                     int32_t dtype, TensorHandle* out) {
  SLOVO_TRY
  auto options = at::TensorOptions().dtype(static_cast<c10::ScalarType>(dtype));
  at::Tensor t = at::empty(c10::IntArrayRef(shape, ndim), options);
  const int64_t expected = t.numel() * static_cast<int64_t>(t.element_size());
  TORCH_CHECK(expected == nbytes, "tensor of shape ", t.sizes(), " and dtype ", t.scalar_type(), " needs ",
              expected, " bytes but ", nbytes, " were given");
  if (nbytes > 0) std::memcpy(t.data_ptr(), data, static_cast<size_t>(nbytes));
  *out = slovo::release(std::move(t));
  SLOVO_CATCH
}

SLOVO_API int slovo_tensor_info(TensorHandle th, SlovoTensorInfo* info) {
  SLOVO_TRY
  slovo::Borrowed t(th);
  TORCH_CHECK(th != nullptr && t->defined(), "undefined tensor");
  info->numel = t->numel();
  info->dim = static_cast<int32_t>(t->dim());
  info->dtype = static_cast<int32_t>(t->scalar_type());
  info->device_type = static_cast<int32_t>(t->device().type());
  info->device_index = t->device().index();
  info->requires_grad = t->requires_grad() ? 1 : 0;
  info->is_leaf = t->is_leaf() ? 1 : 0;
  info->is_contiguous = t->is_contiguous() ? 1 : 0;
  info->pad = 0;
  SLOVO_CATCH
}

// Writes up to `cap` sizes (or strides when `strides` != 0) into `out`.
SLOVO_API int slovo_tensor_sizes(TensorHandle th, int32_t strides, int64_t* out, int32_t cap) {
  SLOVO_TRY
  slovo::Borrowed t(th);
  TORCH_CHECK(th != nullptr && t->defined(), "undefined tensor");
  auto values = strides ? t->strides() : t->sizes();
  TORCH_CHECK(static_cast<int64_t>(values.size()) <= cap, "buffer too small for ", values.size(), " dimensions");
  for (size_t k = 0; k < values.size(); ++k) out[k] = values[k];
  SLOVO_CATCH
}

// Copies the tensor's elements (row-major) into `dst`, moving to CPU and making contiguous as needed.
SLOVO_API int slovo_tensor_copy_to(TensorHandle th, void* dst, int64_t nbytes) {
  SLOVO_TRY
  slovo::Borrowed t(th);
  TORCH_CHECK(th != nullptr && t->defined(), "undefined tensor");
  at::Tensor src = t->detach().to(at::kCPU).contiguous();
  const int64_t have = src.numel() * static_cast<int64_t>(src.element_size());
  TORCH_CHECK(have == nbytes, "destination holds ", nbytes, " bytes but the tensor has ", have);
  if (nbytes > 0) std::memcpy(dst, src.data_ptr(), static_cast<size_t>(nbytes));
  SLOVO_CATCH
}

// Copies `nbytes` from host memory into an existing tensor (any device, any layout), without autograd.
SLOVO_API int slovo_tensor_copy_from(TensorHandle th, const void* src, int64_t nbytes) {
  SLOVO_TRY
  slovo::Borrowed t(th);
  TORCH_CHECK(th != nullptr && t->defined(), "undefined tensor");
  const int64_t need = t->numel() * static_cast<int64_t>(t->element_size());
  TORCH_CHECK(need == nbytes, "tensor needs ", need, " bytes but ", nbytes, " were given");
  at::Tensor host = at::empty(t->sizes(), at::TensorOptions().dtype(t->scalar_type()));
  if (nbytes > 0) std::memcpy(host.data_ptr(), src, static_cast<size_t>(nbytes));
  c10::NoGradGuard guard;
  t->copy_(host);
  SLOVO_CATCH
}

// A pointer to the first element of a CPU tensor (null for other devices); valid while the tensor lives.
SLOVO_API int slovo_tensor_data_ptr(TensorHandle th, void** out) {
  SLOVO_TRY
  slovo::Borrowed t(th);
  TORCH_CHECK(th != nullptr && t->defined(), "undefined tensor");
  *out = t->device().is_cpu() ? t->data_ptr() : nullptr;
  SLOVO_CATCH
}

SLOVO_API int slovo_tensor_item_double(TensorHandle th, double* out) {
  SLOVO_TRY
  slovo::Borrowed t(th);
  TORCH_CHECK(th != nullptr && t->defined(), "undefined tensor");
  *out = t->item<double>();
  SLOVO_CATCH
}

SLOVO_API int slovo_tensor_item_int64(TensorHandle th, int64_t* out) {
  SLOVO_TRY
  slovo::Borrowed t(th);
  TORCH_CHECK(th != nullptr && t->defined(), "undefined tensor");
  *out = t->item<int64_t>();
  SLOVO_CATCH
}

// A new handle sharing the same tensor (same storage and autograd identity).
SLOVO_API int slovo_tensor_share(TensorHandle th, TensorHandle* out) {
  SLOVO_TRY
  slovo::Borrowed t(th);
  TORCH_CHECK(th != nullptr, "undefined tensor");
  *out = slovo::release(*t);
  SLOVO_CATCH
}

// How many tensors (views and handles) share `t`'s storage: lets tests prove that no handle was leaked.
SLOVO_API int slovo_tensor_storage_use_count(TensorHandle th, int64_t* out) {
  SLOVO_TRY
  slovo::Borrowed t(th);
  TORCH_CHECK(th != nullptr, "undefined tensor");
  *out = static_cast<int64_t>(t->storage().use_count());
  SLOVO_CATCH
}

// Replaces the data of `t` with that of `src` in place (like `param.data = src` in PyTorch).
SLOVO_API int slovo_tensor_set_data(TensorHandle th, TensorHandle srch) {
  SLOVO_TRY
  slovo::Borrowed t(th);
  slovo::Borrowed src(srch);
  TORCH_CHECK(th != nullptr && srch != nullptr, "undefined tensor");
  t->set_data(*src);
  SLOVO_CATCH
}
