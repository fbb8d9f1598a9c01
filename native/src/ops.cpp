// Any aten operator by name: handles are looked up once and cached by the caller; arguments arrive as
// typed SlovoArg values and results leave as SlovoRet values (tuples and tensor lists flattened).
#include "slovo.h"
#include <ATen/core/dispatch/Dispatcher.h>
#include <vector>

namespace {

c10::IValue to_ivalue(const SlovoArg& a) {
  switch (a.tag) {
    case ARG_NONE:
      return c10::IValue();
    case ARG_TENSOR: {
      auto t = static_cast<TensorHandle>(a.v.p);
      return t ? c10::IValue(*slovo::Borrowed(t)) : c10::IValue();
    }
    case ARG_INT:
      return c10::IValue(a.v.i);
    case ARG_DOUBLE:
      return c10::IValue(a.v.d);
    case ARG_BOOL:
      return c10::IValue(a.v.i != 0);
    case ARG_INT_LIST: {
      c10::List<int64_t> list;
      list.reserve(a.len);
      auto* p = static_cast<const int64_t*>(a.v.p);
      for (int32_t k = 0; k < a.len; ++k) list.push_back(p[k]);
      return c10::IValue(std::move(list));
    }
    case ARG_TENSOR_LIST: {
      c10::List<at::Tensor> list;
      list.reserve(a.len);
      auto* p = static_cast<TensorHandle*>(a.v.p);
      for (int32_t k = 0; k < a.len; ++k) {
        TORCH_CHECK(p[k] != nullptr, "tensor list element ", k, " is undefined");
        list.push_back(*slovo::Borrowed(p[k]));
      }
      return c10::IValue(std::move(list));
    }
    case ARG_OPT_TENSOR_LIST: {
      c10::List<c10::optional<at::Tensor>> list;
      list.reserve(a.len);
      auto* p = static_cast<TensorHandle*>(a.v.p);
      for (int32_t k = 0; k < a.len; ++k)
        list.push_back(p[k] ? c10::optional<at::Tensor>(*slovo::Borrowed(p[k])) : c10::optional<at::Tensor>());
      return c10::IValue(std::move(list));
    }
    case ARG_DOUBLE_LIST: {
      c10::List<double> list;
      auto* p = static_cast<const double*>(a.v.p);
      for (int32_t k = 0; k < a.len; ++k) list.push_back(p[k]);
      return c10::IValue(std::move(list));
    }
    case ARG_BOOL_LIST: {
      c10::List<bool> list;
      auto* p = static_cast<const uint8_t*>(a.v.p);
      for (int32_t k = 0; k < a.len; ++k) list.push_back(p[k] != 0);
      return c10::IValue(std::move(list));
    }
    case ARG_SCALAR_TYPE:
      return c10::IValue(static_cast<c10::ScalarType>(a.v.i));
    case ARG_STRING:
      return c10::IValue(std::string(static_cast<const char*>(a.v.p)));
    case ARG_DEVICE:
      return c10::IValue(c10::Device(static_cast<c10::DeviceType>(a.v.i), static_cast<c10::DeviceIndex>(a.len)));
    case ARG_LAYOUT:
      return c10::IValue(static_cast<c10::Layout>(a.v.i));
    case ARG_GENERATOR: {
      auto g = static_cast<const at::Generator*>(a.v.p);
      return g ? c10::IValue(*g) : c10::IValue();
    }
    case ARG_MEMORY_FORMAT:
      return c10::IValue(static_cast<c10::MemoryFormat>(a.v.i));
    default:
      TORCH_CHECK(false, "unknown argument tag ", a.tag);
  }
}

void put_tensor(const at::Tensor& t, SlovoRet* rets, int32_t cap, int32_t& n) {
  TORCH_CHECK(n < cap, "operator returned more than ", cap, " values");
  rets[n].tag = RET_TENSOR;
  rets[n].v.t = slovo::release(t);
  ++n;
}

void put_result(const c10::IValue& v, SlovoRet* rets, int32_t cap, int32_t& n) {
  if (v.isTensor()) {
    put_tensor(v.toTensor(), rets, cap, n);
  } else if (v.isTensorList()) {
    for (const at::Tensor& t : v.toTensorVector()) put_tensor(t, rets, cap, n);
  } else if (v.isTuple()) {
    for (const auto& e : v.toTupleRef().elements()) put_result(e, rets, cap, n);
  } else {
    TORCH_CHECK(n < cap, "operator returned more than ", cap, " values");
    SlovoRet& r = rets[n++];
    if (v.isNone()) {
      r.tag = RET_NONE;
      r.v.i = 0;
    } else if (v.isInt()) {
      r.tag = RET_INT;
      r.v.i = v.toInt();
    } else if (v.isDouble()) {
      r.tag = RET_DOUBLE;
      r.v.d = v.toDouble();
    } else if (v.isBool()) {
      r.tag = RET_BOOL;
      r.v.i = v.toBool() ? 1 : 0;
    } else {
      TORCH_CHECK(false, "unsupported return type ", v.tagKind());
    }
  }
}

// How many SlovoRet slots a result takes once tuples and tensor lists are flattened.
int32_t count_results(const c10::IValue& v) {
  if (v.isTensorList()) return static_cast<int32_t>(v.toTensorVector().size());
  if (v.isTuple()) {
    int32_t n = 0;
    for (const auto& e : v.toTupleRef().elements()) n += count_results(e);
    return n;
  }
  // Checked here, before anything is released to the caller, so put_result cannot fail halfway.
  TORCH_CHECK(v.isTensor() || v.isNone() || v.isInt() || v.isDouble() || v.isBool(), "unsupported return type ",
              v.tagKind());
  return 1;
}

thread_local std::vector<c10::IValue> stack;
// Results of the last call on this thread that did not fit the caller's buffer; slovo_op_take_results hands them over.
thread_local std::vector<c10::IValue> pending;

}  // namespace

// Looks an operator up by name ("aten::add") and overload ("Tensor", or "" for none).
SLOVO_API int slovo_op_find(const char* name, const char* overload, void** out, int32_t* num_args,
                            int32_t* num_returns) {
  SLOVO_TRY
  auto found = c10::Dispatcher::singleton().findSchema({name, overload});
  TORCH_CHECK(found.has_value(), "operator ", name, (overload[0] ? "." : ""), overload,
              " does not exist in this libtorch");
  const auto& schema = found->schema();
  *num_args = static_cast<int32_t>(schema.arguments().size());
  *num_returns = static_cast<int32_t>(schema.returns().size());
  *out = new c10::OperatorHandle(*found);
  SLOVO_CATCH
}

// The operator's schema as text, for error messages and documentation. Caller frees with slovo_string_free.
SLOVO_API int slovo_op_schema(void* op, char** out) {
  SLOVO_TRY
  std::string text = c10::toString(static_cast<c10::OperatorHandle*>(op)->schema());
  *out = strdup(text.c_str());
  SLOVO_CATCH
}

SLOVO_API void slovo_string_free(char* s) { free(s); }

// Calls the operator with `nargs` leading arguments (the rest take schema defaults).
SLOVO_API int slovo_op_call(void* op, const SlovoArg* args, int32_t nargs, SlovoRet* rets, int32_t cap,
                            int32_t* nret) {
  SLOVO_TRY
  auto* handle = static_cast<c10::OperatorHandle*>(op);
  const auto& arguments = handle->schema().arguments();
  TORCH_CHECK(static_cast<size_t>(nargs) <= arguments.size(), handle->schema().name(), " takes ",
              arguments.size(), " arguments but ", nargs, " were given");
  stack.clear();
  for (int32_t k = 0; k < nargs; ++k) stack.push_back(to_ivalue(args[k]));
  for (size_t k = nargs; k < arguments.size(); ++k) {
    TORCH_CHECK(arguments[k].default_value().has_value(), handle->schema().name(), ": argument '",
                arguments[k].name(), "' has no default and was not given");
    stack.push_back(*arguments[k].default_value());
  }
  handle->callBoxed(&stack);
  pending.clear();
  int32_t need = 0;
  for (const auto& v : stack) need += count_results(v);
  *nret = need;
  if (need > cap) {
    // Nothing is released into `rets`: the caller sizes a buffer of `need` slots and takes them.
    pending.swap(stack);
    stack.clear();
    return 0;
  }
  int32_t n = 0;
  for (const auto& v : stack) put_result(v, rets, cap, n);
  stack.clear();
  SLOVO_CATCH
}

// Hands over the results that did not fit the buffer of the last slovo_op_call on this thread.
SLOVO_API int slovo_op_take_results(SlovoRet* rets, int32_t cap, int32_t* nret) {
  SLOVO_TRY
  int32_t need = 0;
  for (const auto& v : pending) need += count_results(v);
  TORCH_CHECK(need > 0, "no pending operator results on this thread");
  TORCH_CHECK(need <= cap, "pending operator results need ", need, " slots, got ", cap);
  int32_t n = 0;
  for (const auto& v : pending) put_result(v, rets, cap, n);
  pending.clear();
  *nret = n;
  SLOVO_CATCH
}

// Fast path for the commonest shape, (Tensor, Tensor) -> Tensor, e.g. aten::mul.Tensor, aten::mm.
SLOVO_API int slovo_op_call_tt(void* op, TensorHandle a, TensorHandle b, TensorHandle* out) {
  SLOVO_TRY
  TORCH_CHECK(a != nullptr && b != nullptr, "undefined tensor");
  auto* handle = static_cast<c10::OperatorHandle*>(op);
  slovo::Borrowed ta(a), tb(b);
  *out = slovo::release(handle->typed<at::Tensor(const at::Tensor&, const at::Tensor&)>().call(*ta, *tb));
  SLOVO_CATCH
}

// Fast path for (Tensor, Tensor, Scalar) -> Tensor, e.g. aten::add.Tensor, aten::sub.Tensor.
// An integral alpha (alpha_is_int != 0) is passed as an integer Scalar so integer tensors accept it.
SLOVO_API int slovo_op_call_tts(void* op, TensorHandle a, TensorHandle b, double alpha, int32_t alpha_is_int,
                                TensorHandle* out) {
  SLOVO_TRY
  TORCH_CHECK(a != nullptr && b != nullptr, "undefined tensor");
  auto* handle = static_cast<c10::OperatorHandle*>(op);
  slovo::Borrowed ta(a), tb(b);
  *out = slovo::release(handle->typed<at::Tensor(const at::Tensor&, const at::Tensor&, const at::Scalar&)>().call(
      *ta, *tb, alpha_is_int ? at::Scalar(static_cast<int64_t>(alpha)) : at::Scalar(alpha)));
  SLOVO_CATCH
}

// Fast path for (Tensor) -> Tensor, e.g. aten::tanh, aten::relu.
SLOVO_API int slovo_op_call_t(void* op, TensorHandle a, TensorHandle* out) {
  SLOVO_TRY
  TORCH_CHECK(a != nullptr, "undefined tensor");
  auto* handle = static_cast<c10::OperatorHandle*>(op);
  slovo::Borrowed ta(a);
  *out = slovo::release(handle->typed<at::Tensor(const at::Tensor&)>().call(*ta));
  SLOVO_CATCH
}
