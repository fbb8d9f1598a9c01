// Autograd: requires_grad, backward, grad access, detach, and the grad-mode / inference-mode guards.
#include "slovo.h"
#include <torch/csrc/autograd/autograd.h>
#include <c10/core/GradMode.h>
#include <c10/core/InferenceMode.h>

SLOVO_API int slovo_tensor_set_requires_grad(TensorHandle th, int32_t value) {
  SLOVO_TRY
  TORCH_CHECK(th != nullptr, "undefined tensor");
  slovo::Borrowed t(th);
  t->set_requires_grad(value != 0);
  SLOVO_CATCH
}

// backward(t, gradient?, retain_graph, create_graph); `grad` may be null for a scalar output.
SLOVO_API int slovo_backward(TensorHandle th, TensorHandle grad, int32_t retain_graph, int32_t create_graph) {
  SLOVO_TRY
  TORCH_CHECK(th != nullptr, "undefined tensor");
  slovo::Borrowed t(th);
  torch::autograd::variable_list grads;
  if (grad != nullptr) grads.push_back(*slovo::Borrowed(grad));
  torch::autograd::backward({*t}, grads, c10::optional<bool>(retain_graph != 0), create_graph != 0);
  SLOVO_CATCH
}

// The accumulated gradient of `t`, or null when it has none.
SLOVO_API int slovo_tensor_grad(TensorHandle th, TensorHandle* out) {
  SLOVO_TRY
  TORCH_CHECK(th != nullptr, "undefined tensor");
  slovo::Borrowed t(th);
  const at::Tensor& g = t->grad();
  *out = slovo::release(g);
  SLOVO_CATCH
}

// Sets (or with null clears) the gradient of `t`.
SLOVO_API int slovo_tensor_set_grad(TensorHandle th, TensorHandle grad) {
  SLOVO_TRY
  TORCH_CHECK(th != nullptr, "undefined tensor");
  slovo::Borrowed t(th);
  t->mutable_grad() = grad ? *slovo::Borrowed(grad) : at::Tensor();
  SLOVO_CATCH
}

// Drops the gradient (set_to_none) or zeroes it in place.
SLOVO_API int slovo_tensor_zero_grad(TensorHandle th, int32_t set_to_none) {
  SLOVO_TRY
  TORCH_CHECK(th != nullptr, "undefined tensor");
  slovo::Borrowed t(th);
  at::Tensor& g = t->mutable_grad();
  if (!g.defined()) return 0;
  if (set_to_none) {
    g = at::Tensor();
  } else {
    if (g.grad_fn()) g = g.detach();
    else g.requires_grad_(false);
    g.zero_();
  }
  SLOVO_CATCH
}

SLOVO_API int slovo_grad_enabled() { return c10::GradMode::is_enabled() ? 1 : 0; }

// Sets grad mode for this thread and returns the previous value (guards restore it).
SLOVO_API int slovo_set_grad_enabled(int32_t enabled) {
  const bool prev = c10::GradMode::is_enabled();
  c10::GradMode::set_enabled(enabled != 0);
  return prev ? 1 : 0;
}

// Enters inference mode on this thread; the returned guard must be released on the same thread.
SLOVO_API int slovo_inference_mode_enter(void** guard) {
  SLOVO_TRY
  *guard = new c10::InferenceMode(true);
  SLOVO_CATCH
}

SLOVO_API void slovo_inference_mode_exit(void* guard) { delete static_cast<c10::InferenceMode*>(guard); }

SLOVO_API int slovo_is_inference_mode() { return c10::InferenceMode::is_enabled() ? 1 : 0; }
