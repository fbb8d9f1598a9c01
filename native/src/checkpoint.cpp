// Activation checkpointing: a segment of the network (one transformer block) runs forward without keeping its
// intermediate activations, and runs again, with autograd, when the backward pass reaches it. The segment is a callback
// into the host (C#). As PyTorch's reentrant checkpoint does, the recomputation back-propagates the incoming gradient
// through the segment itself (accumulating into the parameters' .grad) and hands the input's gradient on. The host makes
// the replay draw the same dropout; the autocast state of the forward pass is restored for the replay here.
#include "slovo.h"
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>

// Runs segment `state` on `input` (a new handle the callee owns) and returns its output as a new handle in *output;
// `replay` is 1 when called from the backward pass. Nonzero: the callee failed (its message is in its own keeping).
typedef int32_t (*slovo_segment_fn)(int64_t state, TensorHandle input, int32_t replay, TensorHandle* output);

namespace {

at::Tensor call_segment(slovo_segment_fn fn, int64_t state, const at::Tensor& input, bool replay) {
  TensorHandle out = nullptr;
  int32_t rc = fn(state, slovo::release(input), replay ? 1 : 0, &out);
  TORCH_CHECK(rc == 0 && out != nullptr, "a checkpointed segment failed", replay ? " while it was recomputed for the backward pass" : "");
  return at::Tensor(c10::intrusive_ptr<c10::TensorImpl, c10::UndefinedTensorImpl>::reclaim(out));
}

struct Segment : public torch::autograd::Function<Segment> {
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, at::Tensor input, int64_t fn, int64_t state) {
    ctx->saved_data["fn"] = fn;
    ctx->saved_data["state"] = state;
    const c10::DeviceType d = input.device().type();
    ctx->saved_data["autocast"] = slovo::autocast_enabled(d);
    ctx->saved_data["autocast_dtype"] = static_cast<int64_t>(slovo::autocast_dtype(d));
    ctx->save_for_backward({input});
    // Function::apply runs this with grad mode off: the segment keeps nothing for backward.
    return {call_segment(reinterpret_cast<slovo_segment_fn>(fn), state, input, false)};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    auto fn = reinterpret_cast<slovo_segment_fn>(ctx->saved_data["fn"].toInt());
    const int64_t state = ctx->saved_data["state"].toInt();
    at::Tensor input = ctx->get_saved_variables()[0].detach();
    input.set_requires_grad(true);
    const c10::DeviceType d = input.device().type();
    const bool was = slovo::autocast_enabled(d);
    const at::ScalarType was_dtype = slovo::autocast_dtype(d);
    at::Tensor output;
    {
      at::AutoGradMode on(true);
      slovo::set_autocast(d, ctx->saved_data["autocast"].toBool(), static_cast<at::ScalarType>(ctx->saved_data["autocast_dtype"].toInt()));
      try {
        output = call_segment(fn, state, input, true);
      } catch (...) {
        slovo::set_autocast(d, was, was_dtype);
        throw;
      }
      slovo::set_autocast(d, was, was_dtype);
      torch::autograd::backward({output}, {grads[0]});
    }
    return {input.grad(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

// output = segment(input), recomputed in the backward pass instead of kept (see above).
SLOVO_API int slovo_checkpoint(void* fn, int64_t state, TensorHandle input, TensorHandle* out) {
  SLOVO_TRY
  TORCH_CHECK(fn != nullptr && input != nullptr, "checkpoint needs a segment and an input");
  slovo::Borrowed x(input);
  torch::autograd::variable_list y = Segment::apply(*x, reinterpret_cast<int64_t>(fn), state);
  *out = slovo::release(y[0]);
  SLOVO_CATCH
}

// A copy of a generator in its current state: it draws what the original would draw next.
SLOVO_API int slovo_generator_clone(void* g, void** out) {
  SLOVO_TRY
  TORCH_CHECK(g != nullptr, "no generator");
  auto* gen = static_cast<at::Generator*>(g);
  std::lock_guard<std::mutex> lock(gen->mutex());
  *out = new at::Generator(gen->clone());
  SLOVO_CATCH
}
