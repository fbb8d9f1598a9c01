// torch's c10d from C: a TCPStore rendezvous and a process group (Gloo on CPU tensors) with all-reduce, broadcast,
// all-gather and barrier. Collectives block until done (Work::wait). Built with Gloo when its headers are found
// (Debian: libgloo-dev); otherwise every call fails with a message that says so.
#include "slovo.h"

#include <chrono>
#include <string>
#include <vector>

#ifdef SLOVO_WITH_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif

namespace {
#ifdef SLOVO_WITH_GLOO
using StorePtr = c10::intrusive_ptr<c10d::Store>;
using GroupPtr = c10::intrusive_ptr<c10d::ProcessGroupGloo>;

// libtorch 2.x's TCPStore has a libuv backend, on by default, that Debian's build lacks ("use_libuv was requested but
// PyTorch was build without libuv support"); 1.13 has no such option. These switch it off where the option exists.
template <typename O>
auto without_libuv(O& o, int) -> decltype(o.useLibUV = false, bool()) {
  o.useLibUV = false;
  return true;
}
template <typename O>
bool without_libuv(O&, long) {
  return false;
}

std::vector<at::Tensor> borrow_all(TensorHandle* handles, int32_t n) {
  std::vector<at::Tensor> out;
  out.reserve(n);
  // A tensor built from the handle's impl with one extra reference (the vector owns it; the handle keeps its own).
  for (int32_t i = 0; i < n; ++i)
    out.push_back(at::Tensor(c10::intrusive_ptr<c10::TensorImpl, c10::UndefinedTensorImpl>::unsafe_reclaim_from_nonowning(handles[i])));
  return out;
}
#endif
constexpr const char* kNoGloo =
    "this build of Slovo's native shim has no Gloo (its headers were not found at build time). "
    "HINT: apt-get install -y libgloo-dev, then rebuild (rm -rf native/build && dotnet build)";
}  // namespace

// 1 when the backend (0 Gloo, 1 NCCL) is compiled in.
SLOVO_API int slovo_dist_has_backend(int32_t backend) {
#ifdef SLOVO_WITH_GLOO
  if (backend == 0) return 1;
#endif
  return 0;
}

// A TCPStore at host:port for world_size processes; the server side (rank 0) listens, the others connect, waiting up
// to timeout_ms.
SLOVO_API int slovo_store_tcp_new(const char* host, int32_t port, int32_t world_size, int32_t is_server, int64_t timeout_ms, void** out) {
  SLOVO_TRY
#ifdef SLOVO_WITH_GLOO
  c10d::TCPStoreOptions o;
  o.port = static_cast<std::uint16_t>(port);
  o.isServer = is_server != 0;
  o.numWorkers = static_cast<std::size_t>(world_size);
  o.waitWorkers = false;  // the process group's rendezvous waits for everyone, with its own timeout
  o.timeout = std::chrono::milliseconds(timeout_ms);
  try {
    *out = new StorePtr(c10::make_intrusive<c10d::TCPStore>(std::string(host), o));
  } catch (const c10::Error& e) {
    // A libtorch built without libuv: the classic TCP backend does the same job.
    if (std::string(e.what()).find("libuv") == std::string::npos || !without_libuv(o, 0)) throw;
    *out = new StorePtr(c10::make_intrusive<c10d::TCPStore>(std::string(host), o));
  }
#else
  throw std::runtime_error(kNoGloo);
#endif
  SLOVO_CATCH
}

SLOVO_API void slovo_store_free(void* store) {
#ifdef SLOVO_WITH_GLOO
  delete static_cast<StorePtr*>(store);
#endif
}

// A Gloo process group over the store; hostname (or null: this machine's) is the address the peers reach this rank at.
SLOVO_API int slovo_pg_gloo_new(void* store, int32_t rank, int32_t size, int64_t timeout_ms, const char* hostname, void** out) {
  SLOVO_TRY
#ifdef SLOVO_WITH_GLOO
  auto options = c10d::ProcessGroupGloo::Options::create(std::chrono::milliseconds(timeout_ms));
  options->devices.push_back(hostname != nullptr && hostname[0] != '\0'
                                 ? c10d::ProcessGroupGloo::createDeviceForHostname(hostname)
                                 : c10d::ProcessGroupGloo::createDefaultDevice());
  options->threads = 2;
  *out = new GroupPtr(c10::make_intrusive<c10d::ProcessGroupGloo>(*static_cast<StorePtr*>(store), rank, size, options));
#else
  throw std::runtime_error(kNoGloo);
#endif
  SLOVO_CATCH
}

SLOVO_API void slovo_pg_free(void* group) {
#ifdef SLOVO_WITH_GLOO
  delete static_cast<GroupPtr*>(group);
#endif
}

// In-place all-reduce of every tensor: op 0 sum, 1 average (a sum divided by the world size: Gloo has no average),
// 2 product, 3 min, 4 max.
SLOVO_API int slovo_pg_allreduce(void* group, TensorHandle* tensors, int32_t n, int32_t op) {
  SLOVO_TRY
#ifdef SLOVO_WITH_GLOO
  auto& pg = *static_cast<GroupPtr*>(group);
  std::vector<at::Tensor> ts = borrow_all(tensors, n);
  c10d::AllreduceOptions o;
  switch (op) {
    case 0: case 1: o.reduceOp = c10d::ReduceOp(c10d::ReduceOp::SUM); break;
    case 2: o.reduceOp = c10d::ReduceOp(c10d::ReduceOp::PRODUCT); break;
    case 3: o.reduceOp = c10d::ReduceOp(c10d::ReduceOp::MIN); break;
    case 4: o.reduceOp = c10d::ReduceOp(c10d::ReduceOp::MAX); break;
    default: throw std::invalid_argument("unknown reduce op " + std::to_string(op));
  }
  // Gloo reduces one tensor per call on CPU (a list means one tensor per local device).
  for (auto& t : ts) {
    std::vector<at::Tensor> one{t};
    pg->allreduce(one, o)->wait();
    if (op == 1) t.div_(pg->getSize());
  }
#else
  throw std::runtime_error(kNoGloo);
#endif
  SLOVO_CATCH
}

// In-place broadcast of every tensor from rank root.
SLOVO_API int slovo_pg_broadcast(void* group, TensorHandle* tensors, int32_t n, int32_t root) {
  SLOVO_TRY
#ifdef SLOVO_WITH_GLOO
  auto& pg = *static_cast<GroupPtr*>(group);
  std::vector<at::Tensor> ts = borrow_all(tensors, n);
  c10d::BroadcastOptions o;
  o.rootRank = root;
  for (auto& t : ts) {
    std::vector<at::Tensor> one{t};
    pg->broadcast(one, o)->wait();
  }
#else
  throw std::runtime_error(kNoGloo);
#endif
  SLOVO_CATCH
}

// Gathers input from every rank into outputs[r] (n = world size tensors shaped like input).
SLOVO_API int slovo_pg_allgather(void* group, TensorHandle input, TensorHandle* outputs, int32_t n) {
  SLOVO_TRY
#ifdef SLOVO_WITH_GLOO
  auto& pg = *static_cast<GroupPtr*>(group);
  std::vector<at::Tensor> in = borrow_all(&input, 1);
  std::vector<std::vector<at::Tensor>> out{borrow_all(outputs, n)};
  pg->allgather(out, in)->wait();
#else
  throw std::runtime_error(kNoGloo);
#endif
  SLOVO_CATCH
}

SLOVO_API int slovo_pg_barrier(void* group) {
  SLOVO_TRY
#ifdef SLOVO_WITH_GLOO
  (*static_cast<GroupPtr*>(group))->barrier()->wait();
#else
  throw std::runtime_error(kNoGloo);
#endif
  SLOVO_CATCH
}
